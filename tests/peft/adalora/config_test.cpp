// AdaLoraConfig: PEFT's defaults and __post_init__ checks, and the rank_pattern round trip.
#include "peft/config.h"

#include <doctest/doctest.h>

#include <iostream>
#include <sstream>

#include "peft/tuners/adalora/config.h"
#include "tensor/error.h"

using namespace peftcpp;

namespace {

// The ConfigError message of an ADALORA config with `fields` ("" when it loads), without the
// "[peft.config] <source>: " prefix.
std::string load_error(const std::string& fields) {
  const std::string text = R"({"peft_type": "ADALORA", "target_modules": ["lin0"])" +
                           (fields.empty() ? std::string() : ", " + fields) + "}";
  std::ostringstream quiet;
  std::streambuf* old = std::cerr.rdbuf(quiet.rdbuf());
  std::string out;
  try {
    peft_config_from_json(Json::parse(text));
  } catch (const ConfigError& e) {
    out = e.what();
    const auto pos = out.find("AdaLoraConfig.");
    out = pos == std::string::npos ? out : out.substr(pos);
  }
  std::cerr.rdbuf(old);
  return out;
}

}  // namespace

TEST_CASE("AdaLoraConfig has PEFT's defaults") {
  const Json j = AdaLoraConfig().to_json();
  CHECK(j.at("target_r") == Json(8));
  CHECK(j.at("init_r") == Json(12));
  CHECK(j.at("tinit") == Json(0));
  CHECK(j.at("tfinal") == Json(0));
  CHECK(j.at("deltaT") == Json(1));
  CHECK(j.at("beta1") == Json(0.85));
  CHECK(j.at("beta2") == Json(0.85));
  CHECK(j.at("orth_reg_weight") == Json(0.5));
  CHECK(j.at("total_step").is_null());
  CHECK(j.at("rank_pattern").is_null());
  CHECK(j.at("peft_type").as_string() == "ADALORA");
}

TEST_CASE("AdaLoraConfig rejects what PEFT's __post_init__ rejects") {
  CHECK(load_error("") == "AdaLoraConfig.total_step: must be given and > 0 for AdaLoRA");
  CHECK(
      load_error(R"("total_step": 0)") ==
      "AdaLoraConfig.total_step: must be given and > 0 for AdaLoRA");
  CHECK(load_error(R"("total_step": 10, "tinit": 5, "tfinal": 5)")
            .starts_with("AdaLoraConfig.tinit:"));
  CHECK(
      load_error(R"("total_step": 10, "use_dora": true)") ==
      "AdaLoraConfig.use_dora: ADALORA does not support DoRA");
  CHECK(
      load_error(
          R"("total_step": 10, "init_lora_weights": "loftq", "loftq_config": {"loftq_bits": 4})") ==
      "AdaLoraConfig.loftq_config: ADALORA does not support LoftQ");
  CHECK_FALSE(load_error(R"("total_step": 10, "orth_reg_weight": -0.1)").empty());
  CHECK_FALSE(load_error(R"("total_step": 10, "layers_pattern": "layers")").empty());
  CHECK_FALSE(load_error(R"("total_step": 10, "init_r": -1)").empty());
}

TEST_CASE("AdaLoraConfig accepts a rank of 0 and keeps r only with a warning") {
  CHECK(load_error(R"("total_step": 10, "init_r": 0, "target_r": 0)").empty());
  CHECK(load_error(R"("total_step": 3, "tinit": 1, "tfinal": 1, "r": 4)").empty());
}

TEST_CASE("a rank_pattern of boolean lists round-trips through JSON") {
  const std::string text = R"({"peft_type": "ADALORA", "target_modules": ["lin0"], "total_step": 5,
    "rank_pattern": {"lin0.lora_E": [true, false, true]}})";
  auto cfg = peft_config_from_json(Json::parse(text));
  const auto& ada = cfg->as<AdaLoraConfig>();
  CHECK(ada.rank_pattern.at("lin0.lora_E") == Json(JsonArray{true, false, true}));
  CHECK(peft_config_from_json(cfg->to_json())->to_json() == cfg->to_json());
}
