// Error and warning text of the field-table machinery (field_visitor.h).
#include "io/json/field_visitor.h"

#include <iostream>

namespace peftcpp::json_detail {

std::string FieldVisitor::message(std::string_view key, std::string_view what) const {
  std::string m = ctx_.tag;
  m += ' ';
  if (!ctx_.source.empty()) {
    m += ctx_.source;
    m += ": ";
  }
  m += ctx_.owner;
  if (!key.empty()) {
    m += '.';
    m += key;
  }
  m += ": ";
  m += what;
  return m;
}

void FieldVisitor::warn(std::string_view key, std::string_view what) const {
  std::string m = message(key, what);
  m.insert(ctx_.tag.size(), " warning:");
  std::cerr << m << '\n';
}

}  // namespace peftcpp::json_detail
