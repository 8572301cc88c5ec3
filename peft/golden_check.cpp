#include "peft/golden_check.h"

namespace peftcpp::peft {

golden::Verdict check_golden_case(const std::filesystem::path& case_dir) {
  const Json meta = golden::read_meta(case_dir);
  return golden::Verdict::skip(meta.at("method").as_string() + " not implemented");
}

}  // namespace peftcpp::peft
