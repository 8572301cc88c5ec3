// HF config.json structs: golden round trips, transformers' defaults, aliases, derived values,
// to_diff_dict writing, errors.
#include "io/json/hf_config.h"

#include <doctest/doctest.h>

#include <iostream>
#include <map>
#include <sstream>

#include "tensor/error.h"
#include "tests/io/json/tmp_dir.h"
#include "tests/peft/golden_dir.h"

using namespace peftcpp;

namespace {

std::unique_ptr<HfConfig> from_text(const std::string& text) {
  return hf_config_from_json(Json::parse(text), "config.json");
}

std::string error_of(const std::string& text) {
  std::ostringstream quiet;
  auto* old = std::cerr.rdbuf(quiet.rdbuf());
  std::string result = "no error";
  try {
    from_text(text);
  } catch (const ConfigError& e) {
    result = e.what();
  }
  std::cerr.rdbuf(old);
  return result;
}

// The golden file without transformers_version (written by transformers itself, not a field).
std::string golden_without_version(const std::filesystem::path& file) {
  Json j = Json::parse_file(file);
  j.as_object().erase("transformers_version");
  return to_json_string(j);
}

}  // namespace

TEST_CASE("every golden config.json parses and writes back byte-identical") {
  auto files = test::golden_files("models", "config.json");
  auto peft = test::golden_files("peft", "config.json");
  files.insert(files.end(), peft.begin(), peft.end());
  if (files.empty()) {
    MESSAGE("golden data not found; skipped");
    return;
  }
  std::map<std::string, int> per_type;
  int identical = 0;
  test::TmpDir tmp;
  for (const auto& file : files) {
    CAPTURE(file.string());
    const std::string original = test::read_text(file);
    std::unique_ptr<HfConfig> cfg = load_hf_config(file);
    ++per_type[cfg->model_type()];
    const Json written = cfg->to_json();
    CHECK(written == Json::parse(original));
    const bool same = cfg->to_json_string() == original;
    CHECK(same);
    identical += same ? 1 : 0;
    cfg->save_pretrained(tmp.path());
    CHECK(test::read_text(tmp.path() / "config.json") == original);
  }
  std::ostringstream summary;
  summary << identical << "/" << files.size() << " config.json byte-identical;";
  for (const auto& [t, n] : per_type) {
    summary << " " << t << "=" << n;
  }
  MESSAGE(summary.str());
  CHECK(identical == static_cast<int>(files.size()));
}

TEST_CASE("LlamaConfig built in code writes what transformers' save_pretrained writes") {
  const auto file = test::golden_dir() / "models" / "llama_causal_lm" / "config.json";
  if (test::golden_dir().empty() || !std::filesystem::exists(file)) {
    MESSAGE("golden llama config not found; skipped");
    return;
  }
  const Json g = Json::parse_file(file);
  LlamaConfig cfg;
  cfg.architectures = std::vector<std::string>{"LlamaForCausalLM"};
  cfg.vocab_size = g.at("vocab_size").as_int();
  cfg.hidden_size = g.at("hidden_size").as_int();
  cfg.intermediate_size = g.at("intermediate_size").as_int();
  cfg.num_hidden_layers = g.at("num_hidden_layers").as_int();
  cfg.num_attention_heads = g.at("num_attention_heads").as_int();
  cfg.num_key_value_heads = g.at("num_key_value_heads").as_int();
  cfg.max_position_embeddings = g.at("max_position_embeddings").as_int();
  cfg.rms_norm_eps = g.at("rms_norm_eps").as_double();
  cfg.pad_token_id = g.at("pad_token_id").as_int();
  cfg.torch_dtype = "float32";
  // head_dim, bos/eos (class defaults 1/2 differ from PretrainedConfig's None) and
  // tie_word_embeddings=false (differs from PretrainedConfig's true) are written by to_diff_dict.
  CHECK(cfg.to_json_string() == golden_without_version(file));
}

TEST_CASE("T5Config built in code writes what transformers' save_pretrained writes") {
  const auto file = test::golden_dir() / "models" / "t5_conditional_generation" / "config.json";
  if (test::golden_dir().empty() || !std::filesystem::exists(file)) {
    MESSAGE("golden t5 config not found; skipped");
    return;
  }
  const Json g = Json::parse_file(file);
  T5Config cfg;
  cfg.architectures = std::vector<std::string>{"T5ForConditionalGeneration"};
  cfg.vocab_size = g.at("vocab_size").as_int();
  cfg.d_model = g.at("d_model").as_int();
  cfg.d_kv = g.at("d_kv").as_int();
  cfg.d_ff = g.at("d_ff").as_int();
  cfg.num_layers = g.at("num_layers").as_int();
  cfg.num_heads = g.at("num_heads").as_int();
  cfg.relative_attention_num_buckets = g.at("relative_attention_num_buckets").as_int();
  cfg.relative_attention_max_distance = g.at("relative_attention_max_distance").as_int();
  cfg.dropout_rate = g.at("dropout_rate").as_double();
  cfg.decoder_start_token_id = 0;
  cfg.torch_dtype = "float32";
  CHECK(cfg.to_json_string() == golden_without_version(file));
}

TEST_CASE("transformers' defaults and derived values") {
  LlamaConfig llama;
  CHECK(llama.kv_heads() == 32);
  CHECK(llama.head_size() == 128);
  CHECK(llama.rope_type() == "default");
  auto l = from_text(R"({"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4})");
  CHECK(l->as<LlamaConfig>().num_key_value_heads == 4);
  CHECK(l->as<LlamaConfig>().head_dim == 16);
  CHECK(l->to_json().at("head_dim") == Json(16));
  CHECK(l->to_json().at("bos_token_id") == Json(1));
  CHECK_FALSE(l->to_json().as_object().contains("pad_token_id"));  // None == PretrainedConfig's

  auto m = from_text(R"({"model_type": "mistral", "num_key_value_heads": null})");
  CHECK(m->as<MistralConfig>().num_key_value_heads == 32);
  CHECK(m->as<MistralConfig>().head_dim == 128);
  CHECK(m->as<MistralConfig>().max_position_embeddings == 131072);

  auto q = from_text(R"({"model_type": "qwen2", "sliding_window": 64})");
  CHECK_FALSE(q->as<Qwen2Config>().sliding_window.has_value());
  auto qs =
      from_text(R"({"model_type": "qwen2", "use_sliding_window": true, "sliding_window": 64})");
  CHECK(qs->as<Qwen2Config>().sliding_window == 64);
  CHECK(qs->as<Qwen2Config>().max_window_layers == 28);

  GPT2Config gpt2;
  CHECK(gpt2.inner_size() == 3072);
  CHECK(gpt2.to_json().at("eos_token_id") == Json(50256));
  CHECK_FALSE(gpt2.to_json().as_object().contains("tie_word_embeddings"));

  BertConfig bert;
  CHECK(bert.num_labels() == 2);
  CHECK(bert.layer_norm_eps == 1e-12);
  CHECK_FALSE(bert.to_json().as_object().contains("id2label"));  // default 2 labels

  T5Config t5;
  CHECK(t5.decoder_layers() == 6);
  CHECK(t5.to_json().at("is_encoder_decoder") == Json(true));
  CHECK(t5.to_json().at("num_decoder_layers") == Json(6));
}

TEST_CASE("gpt2 and t5 read transformers' attribute aliases") {
  auto g = from_text(R"({"model_type": "gpt2", "hidden_size": 64, "num_attention_heads": 4,
                         "num_hidden_layers": 3, "max_position_embeddings": 77})");
  const auto& gpt2 = g->as<GPT2Config>();
  CHECK(gpt2.n_embd == 64);
  CHECK(gpt2.n_head == 4);
  CHECK(gpt2.n_layer == 3);
  CHECK(gpt2.n_positions == 77);
  CHECK(g->dims().hidden_size == 64);
  const Json out = g->to_json();
  CHECK(out.at("n_embd") == Json(64));
  CHECK_FALSE(out.as_object().contains("hidden_size"));  // stored under GPT-2's own name
  auto t = from_text(R"({"model_type": "t5", "hidden_size": 48, "head_dim": 12})");
  CHECK(t->as<T5Config>().d_model == 48);
  CHECK(t->as<T5Config>().d_kv == 12);
}

TEST_CASE("t5 feed_forward_proj sets dense_act_fn and is_gated_act") {
  auto gg = from_text(R"({"model_type": "t5", "feed_forward_proj": "gated-gelu"})");
  CHECK(gg->as<T5Config>().dense_act_fn == "gelu_new");
  CHECK(gg->as<T5Config>().is_gated_act);
  auto gs = from_text(R"({"model_type": "t5", "feed_forward_proj": "gated-silu"})");
  CHECK(gs->as<T5Config>().dense_act_fn == "silu");
  auto r = from_text(R"({"model_type": "t5", "feed_forward_proj": "relu", "is_gated_act": true})");
  CHECK_FALSE(r->as<T5Config>().is_gated_act);  // recomputed from feed_forward_proj
  CHECK(
      error_of(R"({"model_type": "t5", "feed_forward_proj": "fancy-gelu"})") ==
      "[hf_config] config.json: T5Config.feed_forward_proj: 'fancy-gelu' is not of the form "
      "'gated-{ACT_FN}' or '{ACT_FN}', e.g. 'gated-gelu' or 'relu'");
  CHECK(error_of(R"({"model_type": "t5", "feed_forward_proj": "gated-a-b"})") != "no error");
}

TEST_CASE("rope_scaling: legacy 'type' is copied to 'rope_type' and validated") {
  auto l =
      from_text(R"({"model_type": "llama", "rope_scaling": {"type": "linear", "factor": 2.0}})");
  const auto& llama = l->as<LlamaConfig>();
  CHECK(llama.rope_type() == "linear");
  CHECK(llama.rope_scaling.at("rope_type") == Json("linear"));
  CHECK(l->to_json().at("rope_scaling").at("type") == Json("linear"));
  CHECK(
      error_of(R"({"model_type": "llama", "rope_scaling": {"rope_type": "magic"}})") ==
      "[hf_config] config.json: LlamaConfig.rope_scaling: unknown rope_type 'magic'; expected "
      "default, linear, dynamic, yarn, longrope or llama3");
  CHECK(
      error_of(R"({"model_type": "llama", "rope_scaling": {"rope_type": "llama3",
                     "factor": 8.0}})") ==
      "[hf_config] config.json: LlamaConfig.rope_scaling: rope_type 'llama3' needs the key "
      "'high_freq_factor'");
  CHECK(
      error_of(R"({"model_type": "qwen2", "rope_scaling": 3})") ==
      "[hf_config] config.json: Qwen2Config.rope_scaling: must be null or an object, got int");
}

TEST_CASE("num_labels sizes id2label; id2label keys sort numerically") {
  auto b = from_text(R"({"model_type": "bert", "num_labels": 12})");
  CHECK(b->num_labels() == 12);
  const Json out = b->to_json();
  CHECK_FALSE(out.as_object().contains("num_labels"));
  CHECK(out.at("label2id").at("LABEL_11") == Json(11));
  const std::string text = b->to_json_string();
  // Python sorts the int keys of id2label before turning them into strings: "2" before "10".
  CHECK(text.find("\"2\": \"LABEL_2\"") < text.find("\"10\": \"LABEL_10\""));
  auto c = from_text(R"({"model_type": "bert", "id2label": {"0": "neg", "1": "pos"}})");
  CHECK(c->id2label[1].second == "pos");
  CHECK(
      error_of(R"({"model_type": "bert", "id2label": {"x": "neg"}})") ==
      "[hf_config] config.json: BertConfig.id2label: expected integer keys, got 'x'");
}

TEST_CASE("unknown keys are kept and written back; bad values name the key and file") {
  auto l = from_text(R"({"model_type": "llama", "my_flag": [1, 2.5], "output_attentions": true})");
  CHECK(l->extra_fields().size() == 2);
  CHECK(l->to_json().at("my_flag") == Json::array({1, 2.5}));
  CHECK(l->to_json().at("output_attentions") == Json(true));
  CHECK(
      error_of(R"({"model_type": "llama", "hidden_size": "big"})") ==
      "[hf_config] config.json: LlamaConfig.hidden_size: expected int, got string");
  CHECK(
      error_of(R"({"model_type": "llama", "num_attention_heads": 0})") ==
      "[hf_config] config.json: LlamaConfig.num_attention_heads: must be > 0, got 0");
  CHECK(
      error_of(R"({"model_type": "falcon"})") ==
      "[hf_config] config.json: model_type: unsupported 'falcon'; known: llama, mistral, qwen2, "
      "gpt2, bert, t5");
  CHECK(
      error_of(R"({"hidden_size": 8})") ==
      "[hf_config] config.json: model_type: missing or not a string");
  CHECK(
      error_of(R"({"model_type": "bert", "eos_token_id": [1, "x"]})") ==
      "[hf_config] config.json: BertConfig.eos_token_id: expected int, got string");
  auto e = from_text(R"({"model_type": "llama", "eos_token_id": [5, 6]})");
  CHECK(e->eos_token_id.ids() == std::vector<std::int64_t>{5, 6});
  CHECK(e->to_json().at("eos_token_id") == Json::array({5, 6}));
}
