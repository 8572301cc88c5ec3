// PeftConfig: generic reading, writing, validation and adapter_config.json I/O.
#include "peft/config.h"

#include <system_error>

#include "io/json/field_visitor.h"

namespace peftcpp {

using json_detail::FieldContext;
using json_detail::FieldVisitor;

namespace {

FieldVisitor make_visitor(const PeftConfig& c, FieldVisitor::Mode mode, const JsonObject* src) {
  return FieldVisitor(mode, src, FieldContext{"[peft.config]", c.class_name(), c.source()});
}

}  // namespace

PeftConfig::~PeftConfig() = default;

void PeftConfig::visit_fields(FieldVisitor& v) {
  PeftType t = peft_type_;
  v("peft_type", t);
  if (v.mode() == FieldVisitor::Mode::Read && t != peft_type_) {
    v.fail(
        "peft_type",
        std::string("is '") + std::string(peft_type_name(t)) + "', expected '" +
            std::string(peft_type_name(peft_type_)) + "'");
  }
  v("task_type", task_type);
  v("auto_mapping", auto_mapping, [](const Json& j) {
    return j.is_null() || j.is_object() ? std::string() : "must be null or an object";
  });
  v("peft_version", peft_version);
  v("base_model_name_or_path", base_model_name_or_path);
  v("revision", revision);
  v("inference_mode", inference_mode);
}

void PeftConfig::normalize(FieldVisitor& /*v*/, const JsonObject* /*loaded*/) {
  if (!peft_version) {
    peft_version = std::string(kPeftVersion);
  }
}

void PeftConfig::check(const FieldVisitor& /*v*/) const {}

void PeftConfig::fail_key(std::string_view key, std::string_view what) const {
  if (what.starts_with("[json] ")) {
    what.remove_prefix(7);
  }
  make_visitor(*this, FieldVisitor::Mode::Validate, nullptr).fail(key, what);
}

void PeftConfig::throw_bad_cast(std::string_view wanted) const {
  fail_key(
      "",
      std::string("is a ") + class_name() + " (peft_type " +
          std::string(peft_type_name(peft_type_)) + "), not a " + std::string(wanted));
}

void PeftConfig::validate() const {
  // Validate mode reads members only; visit_fields is non-const because Read mode writes them.
  auto& self = const_cast<PeftConfig&>(*this);
  FieldVisitor v = make_visitor(*this, FieldVisitor::Mode::Validate, nullptr);
  self.visit_fields(v);
  check(v);
}

void PeftConfig::post_init() {
  FieldVisitor v = make_visitor(*this, FieldVisitor::Mode::Validate, nullptr);
  normalize(v, nullptr);
  validate();
}

void PeftConfig::load(const JsonObject& obj, std::string source) {
  source_ = std::move(source);
  JsonObject input = obj;
  FieldVisitor v = make_visitor(*this, FieldVisitor::Mode::Read, &input);
  if (input.erase("runtime_config")) {
    // PEFT's from_json_file drops it too: runtime settings are never restored from a file.
    v.warn("runtime_config", "is a runtime-only setting; ignored");
  }
  visit_fields(v);
  unknown_.clear();
  for (const auto& [key, value] : input) {
    if (!v.consumed(key)) {
      if (warn_unknown_keys()) {
        v.warn(key, "unknown key, kept as is (written back on save)");
      }
      unknown_.set(key, value);
    }
  }
  loaded_ = std::move(input);
  normalize(v, &loaded_);
  validate();
}

Json PeftConfig::to_json() const {
  auto& self = const_cast<PeftConfig&>(*this);  // Write mode only reads the members
  FieldVisitor v = make_visitor(*this, FieldVisitor::Mode::Write, &loaded_);
  self.visit_fields(v);
  JsonObject out = std::move(v.output());
  for (const auto& [key, value] : unknown_) {
    if (!out.contains(key)) {
      out.set(key, value);
    }
  }
  return Json(std::move(out));
}

std::string PeftConfig::to_json_string() const {
  std::unique_ptr<PeftConfig> c = clone();
  c->post_init();
  return c->to_json().dump();
}

void PeftConfig::save(const std::filesystem::path& file) const {
  std::unique_ptr<PeftConfig> c = clone();
  c->post_init();
  write_json_file(file, c->to_json());
}

void PeftConfig::save_pretrained(const std::filesystem::path& dir) const {
  std::error_code ec;
  if (std::filesystem::is_regular_file(dir, ec)) {
    throw IoError(
        "[peft.config] save_pretrained: " + dir.string() + " is a file, expected a folder");
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    throw IoError("[peft.config] cannot create folder " + dir.string() + ": " + ec.message());
  }
  save(dir / kAdapterConfigName);
}

void PromptLearningConfig::visit_fields(FieldVisitor& v) {
  PeftConfig::visit_fields(v);
  v("num_virtual_tokens", num_virtual_tokens, json_detail::positive());
  v("token_dim", token_dim, json_detail::positive());
  v("num_transformer_submodules", num_transformer_submodules, json_detail::positive());
  v("num_attention_heads", num_attention_heads, json_detail::positive());
  v("num_layers", num_layers, json_detail::positive());
  v("modules_to_save", modules_to_save);
}

void GenericPeftConfig::set(std::string_view key, Json value) {
  // GenericPeftConfig keeps its method fields where loading keeps unknown keys.
  mutable_unknown_fields().set(key, std::move(value));
}

}  // namespace peftcpp
