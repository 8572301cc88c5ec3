// KV cache, prefix keys/values, inputs_embeds and save/load of the LLaMA family.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "io/safetensors/tensor_io.h"
#include "models/llama/attention.h"
#include "nn/layers/embedding.h"
#include "tests/models/llama/llama_test_util.h"

using namespace peftcpp;
using llama_test::check_close;
using llama_test::seeded_model;
using llama_test::tiny_config;

namespace {

// Random ids in [3, 64) (clear of pad/bos/eos).
Tensor random_ids(std::int64_t b, std::int64_t t, std::uint64_t seed) {
  Generator gen(seed);
  return randint(3, 64, {b, t}, &gen);
}

// Logits of `ids` fed in chunks of the given sizes through a cache (attention_mask sliced to
// the positions seen so far), concatenated along the sequence.
Tensor chunked_logits(
    models::PreTrainedModel& m,
    const Tensor& ids,
    const Tensor& mask,
    const std::vector<std::int64_t>& chunks,
    models::KVCache& cache) {
  NoGradGuard ng;
  TensorList parts;
  std::int64_t pos = 0;
  for (std::int64_t n : chunks) {
    models::ModelInputs x;
    x.input_ids = ids.narrow(1, pos, n);
    if (mask.defined())
      x.attention_mask = mask.narrow(1, 0, pos + n);
    x.past_key_values = &cache;
    x.use_cache = true;
    parts.push_back(m.forward(x).logits);
    pos += n;
  }
  return cat(parts, 1);
}

Tensor full_logits(models::PreTrainedModel& m, const Tensor& ids, const Tensor& mask) {
  NoGradGuard ng;
  models::ModelInputs x;
  x.input_ids = ids;
  x.attention_mask = mask;
  return m.forward(x).logits;
}

}  // namespace

TEST_CASE("decoding through the KV cache reproduces the full forward") {
  for (const char* type : {"llama", "mistral", "qwen2"}) {
    INFO(std::string(type));
    auto cfg = tiny_config(type);
    auto lm = seeded_model(*cfg, llama_test::arch(type, "ForCausalLM"));
    const Tensor ids = random_ids(2, 9, 3);
    // Row 1 is left padded by two positions.
    const Tensor mask =
        tensor<std::int64_t>({1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1}, {2, 9});
    const Tensor full = full_logits(*lm, ids, mask);
    models::KVCache cache;
    const Tensor inc = chunked_logits(*lm, ids, mask, {4, 1, 1, 2, 1}, cache);
    // Padded query positions attend uniformly to every key they see (transformers' fully masked
    // rows), which differs between one pass and chunks; every real position must agree.
    check_close(inc.select(0, 0), full.select(0, 0), 2e-5, "row 0: prefill 4, then 1, 1, 2, 1");
    check_close(
        inc.select(0, 1).narrow(0, 2, 7),
        full.select(0, 1).narrow(0, 2, 7),
        2e-5,
        "row 1 (left padded)");
    REQUIRE(cache.self.size() == 2);
    CHECK(cache.seq_length() == 9);
    CHECK(cache.self[1].value.size(2) == 9);
  }
}

TEST_CASE("the cache grows in place: one buffer serves many decode steps") {
  auto cfg = tiny_config();
  auto lm = seeded_model(*cfg, "LlamaForCausalLM");
  const Tensor ids = random_ids(1, 40, 5);
  models::KVCache cache;
  std::vector<std::int64_t> chunks(40, 1);
  std::set<const void*> buffers;
  NoGradGuard ng;
  std::int64_t pos = 0;
  for (std::int64_t n : chunks) {
    models::ModelInputs x;
    x.input_ids = ids.narrow(1, pos, n);
    x.past_key_values = &cache;
    x.use_cache = true;
    lm->forward(x);
    pos += n;
    buffers.insert(cache.self[0].key.storage().get());
  }
  // Capacity doubles: 40 single-position appends reallocate only a handful of times.
  CHECK(buffers.size() <= 4);
  check_close(
      chunked_logits(*lm, ids, Tensor(), {40}, *std::make_unique<models::KVCache>()),
      full_logits(*lm, ids, Tensor()),
      1e-6,
      "single chunk");
}

TEST_CASE("a shared cache entry is never written in place") {
  auto cfg = tiny_config();
  auto lm = seeded_model(*cfg, "LlamaForCausalLM");
  const Tensor ids = random_ids(1, 6, 9);
  models::KVCache cache;
  chunked_logits(*lm, ids, Tensor(), {4}, cache);
  const models::KVCache snapshot = cache;  // shares the tensors
  const Tensor before = snapshot.self[0].key.clone();
  // Two different continuations from the same snapshot.
  models::KVCache a = snapshot, b = snapshot;
  const Tensor la = chunked_logits(*lm, ids.narrow(1, 4, 2), Tensor(), {2}, a);
  const Tensor lb = chunked_logits(*lm, random_ids(1, 2, 77), Tensor(), {2}, b);
  CHECK(snapshot.self[0].key.size(2) == 4);
  CHECK(max_abs_diff(snapshot.self[0].key, before) == 0.0);
  const Tensor full = full_logits(*lm, ids, Tensor()).narrow(1, 4, 2);
  check_close(la, full, 2e-5, "continuation a unaffected by b");
  (void)lb;
}

TEST_CASE(
    "mistral's sliding window: cached decoding matches the full forward and the window "
    "matters") {
  auto cfg = tiny_config("mistral", R"({"sliding_window": 3})");
  auto lm = seeded_model(*cfg, "MistralForCausalLM");
  auto wide_cfg = tiny_config("mistral", R"({"sliding_window": null})");
  auto wide = seeded_model(*wide_cfg, "MistralForCausalLM");
  const Tensor ids = random_ids(1, 8, 11);
  const Tensor full = full_logits(*lm, ids, Tensor());
  models::KVCache cache;
  check_close(
      chunked_logits(*lm, ids, Tensor(), {2, 1, 1, 1, 3}, cache),
      full,
      2e-5,
      "windowed cache decode");
  const Tensor unwindowed = full_logits(*wide, ids, Tensor());
  // Positions 0..2 see at most 3 keys either way; later ones differ.
  check_close(full.narrow(1, 0, 3), unwindowed.narrow(1, 0, 3), 1e-6, "inside the window");
  CHECK(max_abs_diff(full.narrow(1, 3, 5), unwindowed.narrow(1, 3, 5)) > 1e-3);
}

TEST_CASE("qwen2 applies the sliding window from max_window_layers on") {
  auto all = tiny_config("qwen2", R"({"use_sliding_window": true, "sliding_window": 2,
                                      "max_window_layers": 0})");
  auto second = tiny_config("qwen2", R"({"use_sliding_window": true, "sliding_window": 2,
                                         "max_window_layers": 1})");
  auto none = tiny_config("qwen2", R"({"use_sliding_window": false, "sliding_window": 2})");
  const auto s_all = models::llama::llama_settings(*all);
  const auto s_second = models::llama::llama_settings(*second);
  const auto s_none = models::llama::llama_settings(*none);
  CHECK(s_all.sliding_window[0] == 2);
  CHECK(s_all.sliding_window[1] == 2);
  CHECK(!s_second.sliding_window[0]);
  CHECK(s_second.sliding_window[1] == 2);
  CHECK(!s_none.sliding_window[0]);
  CHECK(!s_none.sliding_window[1]);
  const Tensor ids = random_ids(1, 6, 4);
  auto m_all = seeded_model(*all, "Qwen2ForCausalLM");
  auto m_second = seeded_model(*second, "Qwen2ForCausalLM");
  CHECK(
      max_abs_diff(full_logits(*m_all, ids, Tensor()), full_logits(*m_second, ids, Tensor())) >
      1e-4);
}

TEST_CASE("inputs_embeds gives the same outputs as input_ids") {
  auto cfg = tiny_config();
  auto lm = seeded_model(*cfg, "LlamaForCausalLM");
  const Tensor ids = random_ids(2, 5, 21);
  auto emb = std::dynamic_pointer_cast<nn::Embedding>(lm->input_embeddings());
  REQUIRE(emb != nullptr);
  NoGradGuard ng;
  models::ModelInputs x;
  x.inputs_embeds = index_select(emb->weight, 0, ids.reshape({-1})).reshape({2, 5, 32});
  x.output_hidden_states = true;
  const models::ModelOutput a = lm->forward(x);
  check_close(a.logits, full_logits(*lm, ids, Tensor()), 0.0, "embeds vs ids");
  models::ModelInputs both = x;
  both.input_ids = ids;
  CHECK_THROWS_AS(lm->forward(both), ValueError);
}

TEST_CASE("prefix keys/values in the cache act as earlier positions") {
  auto cfg = tiny_config();
  auto lm = seeded_model(*cfg, "LlamaForCausalLM");
  const Tensor prefix_ids = random_ids(2, 3, 31), ids = random_ids(2, 4, 32);
  // The prefix's own keys/values, computed by the model, then read without being extended.
  models::KVCache prefix;
  chunked_logits(*lm, prefix_ids, Tensor(), {3}, prefix);
  const models::KVCache untouched = prefix;
  models::ModelInputs x;
  x.input_ids = ids;
  x.attention_mask = ones({2, 7}, kInt64);
  x.past_key_values = &prefix;
  const Tensor with_prefix = [&] {
    NoGradGuard ng;
    return lm->forward(x).logits;
  }();
  const Tensor concat = full_logits(*lm, cat({prefix_ids, ids}, 1), Tensor()).narrow(1, 3, 4);
  check_close(with_prefix, concat, 2e-5, "cache prefix == concatenated tokens");
  CHECK(prefix.seq_length() == 3);  // use_cache off: read only
  CHECK(prefix.self[0].key.is_same(untouched.self[0].key));

  // A fully masked prefix is invisible: same as no prefix with positions shifted by 3.
  x.attention_mask = cat({zeros({2, 3}, kInt64), ones({2, 4}, kInt64)}, 1);
  models::ModelInputs shifted;
  shifted.input_ids = ids;
  shifted.position_ids = arange(3.0, 7.0, 1.0, kInt64).unsqueeze(0);
  NoGradGuard ng;
  check_close(lm->forward(x).logits, lm->forward(shifted).logits, 2e-5, "masked prefix");
}

TEST_CASE("trainable prefix keys/values receive gradients through a read-only cache") {
  auto cfg = tiny_config();
  auto lm = seeded_model(*cfg, "LlamaForCausalLM");
  lm->requires_grad_(false);
  Generator gen(3);
  models::KVCache prefix;
  TensorList leaves;
  for (int l = 0; l < 2; ++l) {
    Tensor k = randn({1, 2, 2, 8}, kFloat32, &gen).requires_grad_(true);
    Tensor v = randn({1, 2, 2, 8}, kFloat32, &gen).requires_grad_(true);
    prefix.self.push_back({k, v});
    leaves.push_back(k);
    leaves.push_back(v);
  }
  models::ModelInputs x;
  x.input_ids = random_ids(1, 3, 8);
  x.attention_mask = ones({1, 5}, kInt64);
  x.past_key_values = &prefix;
  sum(square(lm->forward(x).logits)).backward();
  for (const Tensor& t : leaves) {
    REQUIRE(t.grad().defined());
    CHECK(max_abs_diff(t.grad(), zeros_like(t)) > 0.0);
  }
}

TEST_CASE("save_pretrained then from_pretrained round-trips the golden checkpoint byte for byte") {
  const std::filesystem::path root = test::golden_dir() / "models";
  if (test::golden_dir().empty() || !std::filesystem::is_directory(root))
    return;
  int checked = 0;
  for (const auto& c : std::filesystem::directory_iterator(root)) {
    const auto type = load_hf_config(c.path() / "config.json")->model_type();
    if (std::string(type) != "llama" && std::string(type) != "mistral" &&
        std::string(type) != "qwen2")
      continue;
    INFO(c.path().string());
    models::ModelPtr m = models::from_pretrained(c.path());
    const auto out = std::filesystem::temp_directory_path() /
                     ("peftcpp_llama_rt_" + std::to_string(::getpid()) + "_" + type);
    m->save_pretrained(out);
    auto bytes = [](const std::filesystem::path& p) {
      std::ifstream f(p, std::ios::binary);
      return std::string(std::istreambuf_iterator<char>(f), {});
    };
    CHECK(bytes(out / "model.safetensors") == bytes(c.path() / "model.safetensors"));
    models::ModelPtr again = models::from_pretrained(out);
    const auto a = m->state_dict(), b = again->state_dict();
    REQUIRE(a.size() == b.size());
    for (const auto& [k, v] : a) CHECK(max_abs_diff(v, b.at(k)) == 0.0);
    std::filesystem::remove_all(out);
    ++checked;
  }
  CHECK(checked > 0);
}
