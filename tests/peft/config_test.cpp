// PeftConfig and typed configs: defaults, building in code, validation errors naming key and file,
// unknown-key warnings, GenericPeftConfig access.
#include "peft/config.h"

#include <doctest/doctest.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "peft/tuners/adalora/config.h"
#include "peft/tuners/boft/config.h"
#include "peft/tuners/ia3/config.h"
#include "peft/tuners/lokr/config.h"
#include "peft/tuners/lora/config.h"
#include "peft/tuners/oft/config.h"
#include "peft/tuners/prompt_tuning/config.h"
#include "tests/io/json/tmp_dir.h"
#include "tests/peft/golden_dir.h"

using namespace peftcpp;

namespace {

struct CerrCapture {
  CerrCapture() : old(std::cerr.rdbuf(buf.rdbuf())) {}
  ~CerrCapture() {
    std::cerr.rdbuf(old);
  }
  std::ostringstream buf;
  std::streambuf* old;
};

// Minimal adapter_config.json text for `type` with extra `fields` (a JSON object body).
std::string config_text(const std::string& type, const std::string& fields) {
  return "{\"peft_type\": \"" + type + "\"" + (fields.empty() ? "" : ", " + fields) + "}";
}

// The ConfigError message of loading `text` from a file called adapter_config.json.
std::string load_error(const std::string& text) {
  test::TmpDir dir;
  const auto file = dir.path() / "adapter_config.json";
  std::ofstream(file) << text;
  CerrCapture quiet;
  try {
    load_peft_config(file);
  } catch (const ConfigError& e) {
    std::string m = e.what();
    const std::string prefix = "[peft.config] " + file.string() + ": ";
    REQUIRE_MESSAGE(m.starts_with(prefix), m);
    return m.substr(prefix.size());
  }
  return "no error";
}

std::string validate_error(const PeftConfig& cfg) {
  try {
    cfg.validate();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("peft_types.def lists PEFT's 44 types with names and prompt-learning flags") {
  CHECK(all_peft_types().size() == 44);
  CHECK(peft_type_name(PeftType::LORA) == "LORA");
  CHECK(peft_type_from_name("P_TUNING") == PeftType::P_TUNING);
  CHECK(peft_type_from_name("lora") == std::nullopt);
  CHECK(is_prompt_learning(PeftType::PREFIX_TUNING));
  CHECK(is_prompt_learning(PeftType::CARTRIDGE));
  CHECK_FALSE(is_prompt_learning(PeftType::ADAPTION_PROMPT));
  CHECK_FALSE(is_prompt_learning(PeftType::LORA));
  for (PeftType t : all_peft_types()) {
    CHECK(peft_type_from_name(peft_type_name(t)) == t);
  }
  CHECK(task_type_from_name("SEQ_2_SEQ_LM") == TaskType::SEQ_2_SEQ_LM);
}

TEST_CASE("LoraConfig defaults are PEFT's") {
  LoraConfig cfg;
  const Json j = cfg.to_json();
  CHECK(j.at("r") == Json(8));
  CHECK(j.at("lora_alpha") == Json(8));
  CHECK(j.at("lora_dropout") == Json(0.0));
  CHECK(j.at("bias") == Json("none"));
  CHECK(j.at("init_lora_weights") == Json(true));
  CHECK(j.at("target_modules").is_null());
  CHECK(j.at("rank_pattern") == Json::object());
  CHECK(j.at("loftq_config") == Json::object());
  CHECK(j.at("megatron_core") == Json("megatron.core"));
  CHECK(j.at("qalora_group_size") == Json(16));
  CHECK(j.at("peft_type") == Json("LORA"));
  CHECK(j.at("inference_mode") == Json(false));
  CHECK(j.at("peft_version") == Json(std::string(kPeftVersion)));
  CHECK_FALSE(j.as_object().contains("runtime_config"));  // LoraConfig.to_dict pops it
  AdaLoraConfig ada;
  CHECK(ada.to_json().at("rank_pattern").is_null());
  CHECK(ada.to_json().at("init_r") == Json(12));
  CHECK(OFTConfig().to_json().at("eps") == Json(6e-05));
}

TEST_CASE("LoraConfig built in code saves the same bytes as PEFT") {
  const auto dir = test::golden_dir();
  const auto file = dir / "peft" / "lora_llama_qv" / "adapter_config.json";
  if (dir.empty() || !std::filesystem::exists(file)) {
    MESSAGE("golden lora_llama_qv not found; skipped");
    return;
  }
  const Json golden = Json::parse_file(file);
  LoraConfig cfg;
  cfg.r = static_cast<int>(golden.at("r").as_int());
  cfg.lora_alpha = static_cast<int>(golden.at("lora_alpha").as_int());
  std::vector<std::string> targets;
  for (const Json& t : golden.at("target_modules").as_array()) {
    targets.push_back(t.as_string());
  }
  cfg.target_modules = targets;
  cfg.init_lora_weights = golden.at("init_lora_weights").as_bool();
  cfg.inference_mode = golden.at("inference_mode").as_bool();
  cfg.task_type = TaskType::CAUSAL_LM;
  cfg.base_model_name_or_path = golden.at("base_model_name_or_path").as_string();
  cfg.peft_version = golden.at("peft_version").as_string();
  CHECK(cfg.to_json_string() == test::read_text(file));
}

TEST_CASE("PEFT API: build, save_pretrained, load back as the typed config") {
  LoraConfig cfg;
  cfg.r = 16;
  cfg.lora_alpha = 32;
  cfg.target_modules = {"q_proj", "v_proj", "q_proj"};
  cfg.layers_to_transform = {0, 1};
  cfg.init_lora_weights = "gaussian";
  test::TmpDir dir;
  cfg.save_pretrained(dir.path() / "adapter");
  std::unique_ptr<PeftConfig> loaded = load_peft_config(dir.path() / "adapter");
  const LoraConfig& lora = loaded->as<LoraConfig>();
  CHECK(lora.r == 16);
  CHECK(lora.lora_alpha == 32);
  // PEFT stores target_modules as a set: duplicates are dropped.
  CHECK(lora.target_modules.names() == std::vector<std::string>{"q_proj", "v_proj"});
  CHECK(lora.layers_to_transform.indices() == std::vector<int>{0, 1});
  CHECK(lora.init_lora_weights == "gaussian");
  CHECK(loaded->source() == (dir.path() / "adapter" / "adapter_config.json").string());
  CHECK_THROWS_AS(loaded->as<IA3Config>(), ConfigError);
  // the original is unchanged by saving (post_init ran on a copy)
  CHECK(cfg.target_modules.names().size() == 3);
}

TEST_CASE("load_peft_config rejects unknown or missing peft_type and lists the known ones") {
  const std::string unknown = load_error(config_text("NOPE", ""));
  CHECK(unknown.starts_with("peft_type: unknown peft_type 'NOPE'; known: PROMPT_TUNING, "));
  CHECK(unknown.find("LORA") != std::string::npos);
  CHECK(unknown.ends_with("DEFT"));
  CHECK(load_error("{\"r\": 8}") == "peft_type: missing");
  CHECK(load_error("[1]").starts_with("expected a JSON object"));
}

TEST_CASE("invalid values are ConfigErrors naming the file and the key") {
  CHECK(load_error(config_text("LORA", "\"r\": -4")) == "LoraConfig.r: must be > 0, got -4");
  CHECK(
      load_error(config_text("LORA", "\"r\": \"8\"")) == "LoraConfig.r: expected int, got string");
  CHECK(
      load_error(config_text("LORA", "\"r\": 8.5")) == "LoraConfig.r: expected int, got float 8.5");
  CHECK(
      load_error(config_text("LORA", "\"lora_dropout\": 1.5")) ==
      "LoraConfig.lora_dropout: must be in [0.0, 1.0], got 1.5");
  CHECK(
      load_error(config_text("LORA", "\"target_modules\": 3")) ==
      "LoraConfig.target_modules: expected a list of strings, a string or null, got int");
  CHECK(
      load_error(config_text("LORA", "\"target_modules\": [\"q\", 1]")) ==
      "LoraConfig.target_modules: expected a list of strings or a string, got a list with int 1");
  CHECK(
      load_error(config_text("LORA", "\"bias\": \"some\"")) ==
      "LoraConfig.bias: must be one of 'none', 'all', 'lora_only', got 'some'");
  CHECK(
      load_error(config_text("LORA", "\"task_type\": \"CLS\"")) ==
      "LoraConfig.task_type: invalid task type 'CLS'; must be one of SEQ_CLS, SEQ_2_SEQ_LM, "
      "CAUSAL_LM, TOKEN_CLS, QUESTION_ANS, FEATURE_EXTRACTION");
  CHECK(
      load_error(config_text("LORA", "\"target_parameters\": \"w\"")) ==
      "LoraConfig.target_parameters: expected array, got string");
  CHECK(
      load_error(config_text("LORA", "\"init_lora_weights\": \"pissa_niter_x\"")) ==
      "LoraConfig.init_lora_weights: must be 'pissa' or 'pissa_niter_<number of iterations>', "
      "got 'pissa_niter_x'");
  CHECK(
      load_error(config_text("LORA", "\"rank_pattern\": {\"q\": 2.5}")) ==
      "LoraConfig.rank_pattern: value of 'q' must be an int, got float");
}

TEST_CASE("LoraConfig __post_init__ checks across fields") {
  CHECK(
      load_error(config_text("LORA", "\"layers_pattern\": \"layers\"")) ==
      "LoraConfig.layers_pattern: is set, so layers_to_transform must be set too");
  CHECK(
      load_error(config_text("LORA", "\"target_modules\": \".*q\", \"layers_to_transform\": 1")) ==
      "LoraConfig.layers_to_transform: cannot be used when target_modules is a string (regex)");
  CHECK(
      load_error(config_text("LORA", "\"lora_bias\": true, \"init_lora_weights\": \"pissa\"")) ==
      "LoraConfig.lora_bias: is only supported with init_lora_weights=true or false, got 'pissa'");
  CHECK(
      load_error(config_text("LORA", "\"lora_bias\": true, \"use_dora\": true")) ==
      "LoraConfig.lora_bias: is not supported for DoRA; set use_dora=false");
  CHECK(
      load_error(config_text("LORA", "\"use_dora\": true, \"megatron_config\": {\"a\": 1}")) ==
      "LoraConfig.use_dora: DoRA does not support megatron_core; set use_dora=false");
  CHECK(
      load_error(config_text("LORA", "\"init_lora_weights\": \"loftq\"")) ==
      "LoraConfig.loftq_config: must be given when init_lora_weights is 'loftq'");
  CHECK(
      load_error(config_text("LORA", "\"velora_config\": {\"num_groups\": 0}")) ==
      "LoraConfig.velora_config.num_groups: must be > 0, got 0");
  CHECK(
      load_error(config_text("LORA", "\"kasa_config\": {\"beta\": 1, \"delta\": 2}")) ==
      "LoraConfig.kasa_config: unexpected key 'delta' for KasaConfig (known: beta, gamma)");
  CHECK(
      load_error(config_text("LORA", "\"velora_config\": 3")) ==
      "LoraConfig.velora_config: must be a VeloraConfig dict or null, got int");
}

TEST_CASE("LoraConfig __post_init__ normalises loftq/eva configs with warnings") {
  CerrCapture cerr;
  Json j = Json::parse(config_text("LORA", "\"init_lora_weights\": \"eva\", \"loftq_config\": {}"));
  auto cfg = peft_config_from_json(j, "x.json");
  const LoraConfig& lora = cfg->as<LoraConfig>();
  CHECK(lora.eva_config.at("rho") == Json(2.0));
  CHECK(lora.eva_config.at("label_mask_value") == Json(-100));
  CHECK(cerr.buf.str().find("LoraConfig.eva_config") != std::string::npos);
  auto cfg2 = peft_config_from_json(
      Json::parse(config_text("LORA", "\"loftq_config\": {\"loftq_bits\": 4}")), "y.json");
  CHECK(cfg2->as<LoraConfig>().loftq_config == Json::object());
}

TEST_CASE("other methods' __post_init__ checks") {
  CHECK(
      load_error(config_text("OFT", "\"r\": 4, \"oft_block_size\": 8")) ==
      "OFTConfig.r: only one of r (4) and oft_block_size (8) may be non-zero, because "
      "r * oft_block_size == in_features");
  CHECK(
      load_error(config_text("OFT", "\"r\": 0, \"oft_block_size\": 0")) ==
      "OFTConfig.r: either r or oft_block_size must be non-zero; both are 0");
  CHECK(
      load_error(config_text("OFT", "\"r\": 4")).starts_with("OFTConfig.oft_block_size: missing"));
  CHECK(load_error(config_text("BOFT", "\"boft_block_size\": 4, \"boft_block_num\": 2"))
            .starts_with("BOFTConfig.boft_block_size: only one of"));
  CHECK(load_error(config_text("BOFT", "\"boft_block_size\": 0, \"boft_block_num\": 0"))
            .starts_with("BOFTConfig.boft_block_size: either"));
  CHECK(
      load_error(config_text("ADALORA", "")) ==
      "AdaLoraConfig.total_step: must be given and > 0 for AdaLoRA");
  CHECK(load_error(config_text("ADALORA", "\"total_step\": 10, \"tinit\": 5, \"tfinal\": 5"))
            .starts_with("AdaLoraConfig.tinit: tinit=5, tfinal=5 and total_step=10 leave no"));
  CHECK(
      load_error(config_text("ADALORA", "\"total_step\": 10, \"use_dora\": true")) ==
      "AdaLoraConfig.use_dora: ADALORA does not support DoRA");
  CHECK(
      load_error(config_text(
          "IA3",
          "\"target_modules\": [\"k\"], \"feedforward_modules\": "
          "[\"k\", \"ff\"]")) ==
      "IA3Config.feedforward_modules: must be a subset of target_modules; 'ff' is not in "
      "target_modules");
  CHECK(
      load_error(config_text("LOKR", "\"init_weights\": \"other\"")) ==
      "LoKrConfig.init_weights: must be true, false or 'lycoris', got 'other'");
  CHECK(load_error(config_text("LOHA", "\"r\": 0")) == "LoHaConfig.r: must be > 0, got 0");
  CHECK(
      load_error(config_text("VERA", "\"bias\": \"x\"")) ==
      "VeraConfig.bias: must be 'none', 'all' or '<method>_only', got 'x'");
  CHECK(
      load_error(config_text("PROMPT_TUNING", "\"prompt_tuning_init\": \"TEXT\"")) ==
      "PromptTuningConfig.tokenizer_name_or_path: must be given when prompt_tuning_init is "
      "'TEXT'");
  CHECK(
      load_error(config_text("PREFIX_TUNING", "\"init_weights\": \"one\"")) ==
      "PrefixTuningConfig.init_weights: must be one of 'zero', got 'one'");
  CHECK(
      load_error(config_text("P_TUNING", "\"encoder_reparameterization_type\": \"GRU\"")) ==
      "PromptEncoderConfig.encoder_reparameterization_type: must be one of 'MLP', 'LSTM', got "
      "'GRU'");
  CHECK(
      load_error(config_text("P_TUNING", "\"num_virtual_tokens\": -1")) ==
      "PromptEncoderConfig.num_virtual_tokens: must be > 0, got -1");
}

TEST_CASE("validate() on a config built in code names the class and key") {
  OFTConfig oft;
  oft.r = 4;  // oft_block_size keeps its default 32: both set
  CHECK(validate_error(oft).starts_with("[peft.config] OFTConfig.r: only one of r (4)"));
  oft.oft_block_size = 0;
  CHECK(validate_error(oft) == "no error");
  LoraConfig lora;
  lora.r = -1;
  CHECK(validate_error(lora) == "[peft.config] LoraConfig.r: must be > 0, got -1");
  test::TmpDir dir;
  CHECK_THROWS_AS(lora.save(dir.path() / "a.json"), ConfigError);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "a.json"));
}

TEST_CASE("unknown keys are kept, written back and warned about on stderr") {
  CerrCapture cerr;
  auto cfg = peft_config_from_json(
      Json::parse(config_text("LORA", "\"r\": 4, \"future_option\": [1, 2.0], \"zeta\": null")),
      "cfg.json");
  const std::string warnings = cerr.buf.str();
  CHECK(
      warnings.find("[peft.config] warning: cfg.json: LoraConfig.future_option: unknown key") !=
      std::string::npos);
  CHECK(warnings.find("LoraConfig.zeta: unknown key") != std::string::npos);
  REQUIRE(cfg->unknown_fields().size() == 2);
  CHECK(cfg->unknown_fields().key_at(0) == "future_option");
  const Json out = cfg->to_json();
  CHECK(out.at("future_option") == Json::array({1, 2.0}));
  CHECK(out.at("zeta").is_null());
  CHECK(out.at("r") == Json(4));
  // runtime_config is dropped as PEFT does, with a warning.
  auto rt = peft_config_from_json(
      Json::parse(config_text("LORA", "\"runtime_config\": {\"ephemeral_gpu_offload\": true}")),
      "rt.json");
  CHECK_FALSE(rt->to_json().as_object().contains("runtime_config"));
  CHECK(cerr.buf.str().find("LoraConfig.runtime_config") != std::string::npos);
}

TEST_CASE("a value spelled differently in the file is kept unless it changes") {
  CerrCapture quiet;
  auto cfg = peft_config_from_json(
      Json::parse(config_text("LORA", "\"lora_alpha\": 16.0, \"layers_to_transform\": 3")), "");
  LoraConfig& lora = cfg->as<LoraConfig>();
  CHECK(lora.lora_alpha == 16);
  CHECK(lora.layers_to_transform.is_scalar());
  CHECK(cfg->to_json().at("lora_alpha") == Json(16.0));
  CHECK(cfg->to_json().at("layers_to_transform") == Json(3));
  lora.lora_alpha = 32;
  CHECK(cfg->to_json().at("lora_alpha") == Json(32));
}

TEST_CASE("GenericPeftConfig keeps every key and reads typed values") {
  CerrCapture cerr;
  auto cfg = peft_config_from_json(
      Json::parse(config_text(
          "FOURIERFT",
          "\"n_frequency\": 100, \"scaling\": 150.0, "
          "\"target_modules\": [\"q\"], \"task_type\": null")),
      "f.json");
  CHECK(cerr.buf.str() == "");  // generic configs do not warn: every key is theirs
  const auto& g = cfg->as<GenericPeftConfig>();
  CHECK(cfg->peft_type() == PeftType::FOURIERFT);
  CHECK(g.get<int>("n_frequency") == 100);
  CHECK(g.get<double>("scaling") == 150.0);
  CHECK(g.get<std::vector<std::string>>("target_modules") == std::vector<std::string>{"q"});
  CHECK(g.get<int>("missing", 7) == 7);
  CHECK_THROWS_WITH_AS(
      g.get<std::string>("n_frequency"),
      "[peft.config] f.json: GenericPeftConfig.n_frequency: expected string, got "
      "int",
      ConfigError);
  CHECK_FALSE(g.fields().contains("peft_type"));
  CHECK(cfg->to_json().at("n_frequency") == Json(100));
}
