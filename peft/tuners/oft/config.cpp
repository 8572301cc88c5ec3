// OFTConfig fields, __post_init__ and check_kwargs (peft/tuners/oft/config.py @5d602fd).
#include "peft/tuners/oft/config.h"

#include <cstdlib>

#include "io/json/field_visitor.h"
#include "peft/config_checks.h"

namespace peftcpp {

using json_detail::FieldVisitor;

namespace {

// True when the release part of `version` (before any '@') is below major.minor. Versions that do
// not start with digits count as new (PEFT would fail to parse them; we only warn with this).
bool version_before(const std::string& version, long major, long minor) {
  const char* p = version.c_str();
  char* end = nullptr;
  const long v_major = std::strtol(p, &end, 10);
  if (end == p) {
    return false;
  }
  long v_minor = 0;
  if (*end == '.') {
    v_minor = std::strtol(end + 1, nullptr, 10);
  }
  return v_major < major || (v_major == major && v_minor < minor);
}

}  // namespace

void OFTConfig::visit_fields(FieldVisitor& v) {
  PeftConfig::visit_fields(v);
  v("r", r, json_detail::non_negative());
  v("oft_block_size", oft_block_size, json_detail::non_negative());
  v("module_dropout", module_dropout, json_detail::in_range(0.0, 1.0));
  v("target_modules", target_modules);
  v("fan_in_fan_out", fan_in_fan_out);
  v("bias", bias, json_detail::one_of({"none", "all", "oft_only"}));
  v("exclude_modules", exclude_modules);
  v("init_weights", init_weights);
  v("layers_to_transform", layers_to_transform);
  v("layers_pattern", layers_pattern);
  v("modules_to_save", modules_to_save);
  v("coft", coft);
  v("eps", eps);
  v("block_share", block_share);
  v("use_cayley_neumann", use_cayley_neumann);
  v("num_cayley_neumann_terms", num_cayley_neumann_terms, json_detail::non_negative());
}

void OFTConfig::normalize(FieldVisitor& v, const JsonObject* loaded) {
  if (loaded != nullptr) {
    // PEFT's check_kwargs, run on the file's keys before the config is built.
    if (!loaded->contains("oft_block_size")) {
      v.fail(
          "oft_block_size",
          "missing: the adapter was saved by PEFT < 0.14.0, whose OFT weights are "
          "incompatible; retrain it with a newer PEFT");
    }
    if (use_cayley_neumann) {
      const Json* pv = loaded->find("peft_version");
      const std::string version = pv != nullptr && pv->is_string() ? pv->as_string() : "0.0.0";
      if (version_before(version, 0, 18)) {
        v.warn(
            "use_cayley_neumann",
            "the Cayley-Neumann parameterization changed in PEFT 0.18.0; this adapter was "
            "saved by PEFT " +
                version + " and should be retrained");
      }
    }
  }
  PeftConfig::normalize(v, loaded);
  target_modules.deduplicate();
  exclude_modules.deduplicate();
}

void OFTConfig::check(const FieldVisitor& v) const {
  PeftConfig::check(v);
  config_checks::check_layers_pattern(v, layers_pattern, layers_to_transform);
  if (r == 0 && oft_block_size == 0) {
    v.fail("r", "either r or oft_block_size must be non-zero; both are 0");
  }
  if (r != 0 && oft_block_size != 0) {
    v.fail(
        "r",
        "only one of r (" + std::to_string(r) + ") and oft_block_size (" +
            std::to_string(oft_block_size) +
            ") may be non-zero, because r * oft_block_size == in_features");
  }
}

}  // namespace peftcpp
