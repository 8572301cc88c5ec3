// GPT-2 behaviour on small random models: names and tying, the KV cache, save/load, the heads
// against hand computations, attention against an element-by-element reference of transformers'
// eager path, a float64 gradcheck of one block, and input errors.
#include "models/gpt2/gpt2.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "models/model_test_util.h"
#include "nn/layers/linear.h"

namespace peftcpp {
namespace {

using models::ModelInputs;
using models::ModelOutput;

GPT2Config tiny_config() {
  GPT2Config c;
  c.vocab_size = 40;
  c.n_positions = 24;
  c.n_embd = 16;
  c.n_layer = 2;
  c.n_head = 4;
  c.attn_pdrop = c.resid_pdrop = c.embd_pdrop = 0.0;
  c.pad_token_id = 0;
  c.post_init();
  return c;
}

models::ModelPtr make(const GPT2Config& c, const std::string& arch, std::uint64_t seed = 7) {
  manual_seed(seed);
  models::ModelPtr m = models::from_config(c, arch);
  m->eval();
  return m;
}

Tensor ids_tensor(const std::vector<std::int64_t>& v, std::int64_t b, std::int64_t t) {
  return tensor<std::int64_t>(v, {b, t});
}

float at3(const Tensor& x, std::int64_t i, std::int64_t j, std::int64_t k) {
  return x.select(0, i).select(0, j).select(0, k).item<float>();
}

TEST_CASE("gpt2 parameter names are transformers' and lm_head shares wte's weight") {
  auto model = make(tiny_config(), "GPT2LMHeadModel");
  const auto named = model->named_parameters();
  REQUIRE(!named.empty());
  CHECK(named.front().first == "transformer.wte.weight");
  bool has_c_attn = false, has_lm_head = false;
  for (const auto& [name, p] : named) {
    (void)p;
    has_c_attn |= name == "transformer.h.0.attn.c_attn.weight";
    has_lm_head |= name == "lm_head.weight";
  }
  CHECK(has_c_attn);
  CHECK_FALSE(has_lm_head);  // listed once, under its first name
  CHECK(model->get_parameter("lm_head.weight")
            .is_same(model->get_parameter("transformer.wte.weight")));
  CHECK(model->get_parameter("transformer.h.1.attn.c_attn.weight").shape() == Shape{16, 48});
  const auto state = model->state_dict();
  CHECK(state.count("lm_head.weight") == 1);
  for (const auto& [name, t] : state) {
    (void)t;
    CHECK_MESSAGE(name.find(".attn.bias") == std::string::npos, name);
    CHECK_MESSAGE(name.find("masked_bias") == std::string::npos, name);
  }
  CHECK(state.size() == 2 + 12 * 2 + 2 + 1);  // wte, wpe, 12 per block, ln_f, lm_head
  const auto tied = model->tied_weights();
  REQUIRE(tied.size() == 1);
  CHECK(tied[0].first == "lm_head.weight");
  CHECK(tied[0].second == "transformer.wte.weight");
  CHECK(model->layers_path() == "transformer.h");
  CHECK(model->get_submodule("transformer.h.0.attn.c_attn")->type_name() == "Conv1D");
  CHECK(model->get_submodule("transformer.h.0.mlp.act")->type_name() == "NewGELUActivation");
}

TEST_CASE("gpt2 forward uses a module swapped in with replace_child (what PEFT relies on)") {
  auto model = make(tiny_config(), "GPT2LMHeadModel");
  ModelInputs x;
  x.input_ids = ids_tensor({3, 4, 5, 6}, 1, 4);
  const Tensor before = model->forward(x).logits;
  auto zero_proj = std::make_shared<nn::Conv1D>(16, 16);
  {
    NoGradGuard no_grad;
    zero_proj->weight.zero_();
  }
  model->replace_child("transformer.h.0.attn.c_proj", zero_proj);
  CHECK(model->get_submodule("transformer.h.0.attn.c_proj") == zero_proj);
  const Tensor after = model->forward(x).logits;
  CHECK(max_abs_diff(before, after) > 1e-4);
}

TEST_CASE("gpt2 KV-cache decoding equals the full forward at every attended position") {
  auto model = make(tiny_config(), "GPT2LMHeadModel");
  const Tensor ids = ids_tensor({5, 9, 3, 7, 1, 2, 8, 0, 0, 4, 6, 11, 12, 13}, 2, 7);
  // Row 1 is left-padded by two positions.
  const Tensor mask = tensor<std::int64_t>({1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1}, {2, 7});
  ModelInputs full_in;
  full_in.input_ids = ids;
  full_in.attention_mask = mask;
  const Tensor full = model->forward(full_in).logits;

  models::KVCache cache;
  ModelInputs step;
  step.past_key_values = &cache;
  step.use_cache = true;
  step.input_ids = ids.narrow(1, 0, 3);
  step.attention_mask = mask.narrow(1, 0, 3);
  std::vector<Tensor> pieces{model->forward(step).logits};
  CHECK(cache.seq_length() == 3);
  for (std::int64_t t = 3; t < 7; ++t) {
    step.input_ids = ids.narrow(1, t, 1);
    step.attention_mask = mask.narrow(1, 0, t + 1);
    pieces.push_back(model->forward(step).logits);
  }
  CHECK(cache.seq_length() == 7);
  REQUIRE(cache.self.size() == 2);
  CHECK(cache.self[1].key.shape() == Shape{2, 4, 7, 4});
  const Tensor inc = cat(pieces, 1);
  for (std::int64_t b = 0; b < 2; ++b)
    for (std::int64_t t = 0; t < 7; ++t) {
      if (mask.select(0, b).select(0, t).item<std::int64_t>() == 0)
        continue;  // fully masked query rows differ between the two in transformers too
      CAPTURE(b);
      CAPTURE(t);
      CHECK(max_abs_diff(inc.select(0, b).select(0, t), full.select(0, b).select(0, t)) < 2e-5);
    }
}

TEST_CASE("gpt2 prefix keys/values shift positions and are attended by every query") {
  // A cache filled with the keys/values of a first chunk acts exactly like that chunk (prefix
  // tuning relies on it): logits of the second chunk match the full forward.
  auto model = make(tiny_config(), "GPT2LMHeadModel");
  const Tensor ids = ids_tensor({5, 9, 3, 7, 1, 2, 8, 10}, 1, 8);
  ModelInputs full_in;
  full_in.input_ids = ids;
  const Tensor full = model->forward(full_in).logits;
  models::KVCache prefix;
  ModelInputs first;
  first.input_ids = ids.narrow(1, 0, 5);
  first.past_key_values = &prefix;
  first.use_cache = true;
  model->forward(first);
  ModelInputs second;
  second.input_ids = ids.narrow(1, 5, 3);
  second.past_key_values = &prefix;  // read only: use_cache = false
  second.attention_mask = ones({1, 8}, kInt64);
  const Tensor rest = model->forward(second).logits;
  CHECK(prefix.seq_length() == 5);
  CHECK(max_abs_diff(rest, full.narrow(1, 5, 3)) < 2e-5);
}

TEST_CASE("gpt2 save_pretrained then from_pretrained rebuilds the same model bit for bit") {
  for (const char* arch : {"GPT2LMHeadModel", "GPT2ForSequenceClassification"}) {
    CAPTURE(arch);
    auto model = make(tiny_config(), arch);
    model_test::ScratchDir dir("gpt2_roundtrip");
    model->save_pretrained(dir.path());
    const TensorMap saved = load_safetensors((dir.path() / "model.safetensors").string());
    CHECK(saved.count("lm_head.weight") == 0);
    CHECK(saved.count("transformer.wte.weight") == 1);
    auto again = models::from_pretrained(dir.path());
    CHECK(again->type_name() == arch);
    const auto a = model->state_dict(), b = again->state_dict();
    REQUIRE(a.size() == b.size());
    for (const auto& [name, t] : a) {
      CAPTURE(name);
      REQUIRE(b.count(name) == 1);
      CHECK(max_abs_diff(t, b.at(name)) == 0.0);
    }
    ModelInputs x;
    x.input_ids = ids_tensor({1, 2, 3, 4, 5, 6}, 2, 3);
    CHECK(max_abs_diff(model->forward(x).logits, again->forward(x).logits) == 0.0);
  }
}

TEST_CASE("gpt2 sequence classification scores the rightmost non-padding token of each row") {
  GPT2Config c = tiny_config();
  c.set_num_labels(3);
  auto model = make(c, "GPT2ForSequenceClassification");
  // pad = 0: row 0 right-padded (last real token at 2), row 1 has a pad inside (answer 4).
  ModelInputs x;
  x.input_ids = ids_tensor({5, 6, 7, 0, 0, 8, 0, 9, 10, 11}, 2, 5);
  const ModelOutput out = model->forward(x);
  REQUIRE(out.logits.shape() == Shape{2, 3});
  const Tensor w = model->get_parameter("score.weight");  // [3, 16]
  const std::int64_t last[2] = {2, 4};
  for (std::int64_t b = 0; b < 2; ++b)
    for (std::int64_t l = 0; l < 3; ++l) {
      double want = 0.0;
      for (std::int64_t k = 0; k < 16; ++k)
        want += static_cast<double>(at3(out.last_hidden_state, b, last[b], k)) *
                w.select(0, l).select(0, k).item<float>();
      CHECK(
          out.logits.select(0, b).select(0, l).item<float>() ==
          doctest::Approx(want).epsilon(1e-4));
    }

  GPT2Config no_pad = c;
  no_pad.pad_token_id = TokenIds();
  auto unpadded = make(no_pad, "GPT2ForSequenceClassification");
  CHECK_THROWS_AS(unpadded->forward(x), ValueError);
  x.input_ids = ids_tensor({5, 6, 7}, 1, 3);
  CHECK(unpadded->forward(x).logits.shape() == Shape{1, 3});
}

TEST_CASE("gpt2 token classification and question answering heads match hand computations") {
  GPT2Config c = tiny_config();
  c.set_num_labels(5);
  ModelInputs x;
  x.input_ids = ids_tensor({1, 2, 3, 4, 5, 6}, 2, 3);
  auto tok = make(c, "GPT2ForTokenClassification");
  const ModelOutput t = tok->forward(x);
  REQUIRE(t.logits.shape() == Shape{2, 3, 5});
  const Tensor w = tok->get_parameter("classifier.weight"),
               bias = tok->get_parameter("classifier.bias");
  CHECK(tok->output_module_names() == std::vector<std::string>{"classifier"});
  double want = bias.select(0, 4).item<float>();
  for (std::int64_t k = 0; k < 16; ++k)
    want += static_cast<double>(at3(t.last_hidden_state, 1, 2, k)) *
            w.select(0, 4).select(0, k).item<float>();
  CHECK(at3(t.logits, 1, 2, 4) == doctest::Approx(want).epsilon(1e-4));

  auto qa = make(c, "GPT2ForQuestionAnswering");
  const ModelOutput q = qa->forward(x);
  REQUIRE(q.start_logits.shape() == Shape{2, 3});
  REQUIRE(q.end_logits.shape() == Shape{2, 3});
  const Tensor qw = qa->get_parameter("qa_outputs.weight"),
               qb = qa->get_parameter("qa_outputs.bias");
  for (int which = 0; which < 2; ++which) {
    double v = qb.select(0, which).item<float>();
    for (std::int64_t k = 0; k < 16; ++k)
      v += static_cast<double>(at3(q.last_hidden_state, 0, 1, k)) *
           qw.select(0, which).select(0, k).item<float>();
    const Tensor& got = which == 0 ? q.start_logits : q.end_logits;
    CHECK(got.select(0, 0).select(0, 1).item<float>() == doctest::Approx(v).epsilon(1e-4));
  }
}

// transformers' eager GPT2Attention, element by element in float32: scores / sqrt(D) /
// (layer_idx + 1), torch.where(causal, s, finfo.min), + (1 - mask) * finfo.min, softmax.
std::vector<float> reference_attention(
    const nn::Conv1D& c_attn,
    const nn::Conv1D& c_proj,
    const Tensor& x,
    const Tensor& mask,
    std::int64_t heads,
    std::int64_t layer_idx) {
  const std::int64_t b = x.size(0), t = x.size(1), c = x.size(2), d = c / heads;
  const auto xv = x.to_vector<float>(), wa = c_attn.weight.to_vector<float>(),
             ba = c_attn.bias.to_vector<float>(), wp = c_proj.weight.to_vector<float>(),
             bp = c_proj.bias.to_vector<float>();
  const auto mv = mask.to(kFloat32).to_vector<float>();
  const float lowest = std::numeric_limits<float>::lowest();
  std::vector<float> qkv(static_cast<std::size_t>(b * t * 3 * c));
  for (std::int64_t r = 0; r < b * t; ++r)
    for (std::int64_t j = 0; j < 3 * c; ++j) {
      double s = ba[j];
      for (std::int64_t k = 0; k < c; ++k) s += double(xv[r * c + k]) * wa[k * 3 * c + j];
      qkv[r * 3 * c + j] = static_cast<float>(s);
    }
  std::vector<float> ctx(static_cast<std::size_t>(b * t * c)), out(ctx.size());
  for (std::int64_t bb = 0; bb < b; ++bb)
    for (std::int64_t h = 0; h < heads; ++h)
      for (std::int64_t i = 0; i < t; ++i) {
        std::vector<float> s(static_cast<std::size_t>(t));
        for (std::int64_t j = 0; j < t; ++j) {
          double dot = 0.0;
          for (std::int64_t e = 0; e < d; ++e)
            dot += double(qkv[(bb * t + i) * 3 * c + h * d + e]) *
                   qkv[(bb * t + j) * 3 * c + c + h * d + e];
          float v = static_cast<float>(dot / std::sqrt(double(d)) / double(layer_idx + 1));
          if (j > i)
            v = lowest;
          s[j] = v + (1.0f - mv[bb * t + j]) * lowest;
        }
        float mx = -std::numeric_limits<float>::infinity();
        for (float v : s) mx = std::max(mx, v);
        double z = 0.0;
        for (float& v : s) z += (v = static_cast<float>(std::exp(double(v) - mx)));
        for (std::int64_t e = 0; e < d; ++e) {
          double acc = 0.0;
          for (std::int64_t j = 0; j < t; ++j)
            acc += s[j] / z * qkv[(bb * t + j) * 3 * c + 2 * c + h * d + e];
          ctx[(bb * t + i) * c + h * d + e] = static_cast<float>(acc);
        }
      }
  for (std::int64_t r = 0; r < b * t; ++r)
    for (std::int64_t j = 0; j < c; ++j) {
      double s = bp[j];
      for (std::int64_t k = 0; k < c; ++k) s += double(ctx[r * c + k]) * wp[k * c + j];
      out[r * c + j] = static_cast<float>(s);
    }
  return out;
}

TEST_CASE("gpt2 attention equals transformers' eager math, padded and fully masked rows included") {
  for (bool upcast : {false, true}) {
    for (bool by_layer : {false, true}) {
      CAPTURE(upcast);
      CAPTURE(by_layer);
      GPT2Config c = tiny_config();
      c.n_embd = 8;
      c.n_head = 2;
      c.reorder_and_upcast_attn = upcast;
      c.scale_attn_by_inverse_layer_idx = by_layer;
      manual_seed(3);
      models::GPT2Attention attn(c, 1);
      attn.eval();
      const Tensor x = randn({2, 4, 8});
      // Row 1: left padding, so its first query sees only masked keys.
      const Tensor mask = tensor<std::int64_t>({1, 1, 1, 0, 0, 1, 1, 1}, {2, 4});
      const auto m = models::gpt2_attention_mask(mask, 2, 4, 0, kFloat32, kCPU);
      const Tensor got = attn.forward(x, m, nullptr, false);
      const auto want = reference_attention(
          *std::dynamic_pointer_cast<nn::Conv1D>(attn.c_attn),
          *std::dynamic_pointer_cast<nn::Conv1D>(attn.c_proj),
          x,
          mask,
          2,
          by_layer ? 1 : 0);
      const Tensor ref = tensor<float>(want, {2, 4, 8});
      CHECK(max_abs_diff(got, ref) < 2e-5);
    }
  }
}

TEST_CASE("gpt2 block passes a float64 gradcheck through masks and cached keys") {
  GPT2Config c = tiny_config();
  c.n_embd = 8;
  c.n_head = 2;
  c.n_inner = 12;
  manual_seed(5);
  auto block = std::make_shared<models::GPT2Block>(c, 0);
  block->eval();
  block->to(kFloat64);
  Tensor x = randn({2, 3, 8}, kFloat64).requires_grad_(true);
  Tensor pk = randn({2, 2, 2, 4}, kFloat64).requires_grad_(true);
  Tensor pv = randn({2, 2, 2, 4}, kFloat64).requires_grad_(true);
  const Tensor mask = tensor<std::int64_t>({1, 1, 1, 1, 1, 0, 1, 1, 1, 1}, {2, 5});
  const auto m = models::gpt2_attention_mask(mask, 2, 3, 2, kFloat64, kCPU);
  TensorList inputs{
      x,
      pk,
      pv,
      block->get_parameter("attn.c_attn.weight"),
      block->get_parameter("ln_1.weight"),
      block->get_parameter("mlp.c_fc.bias")};
  const auto result = gradcheck(
      [&](const TensorList& in) {
        models::LayerKV kv{in[1], in[2]};
        return block->forward(in[0], m, &kv, false);
      },
      inputs);
  INFO(result.message);
  CHECK(result.ok);
}

TEST_CASE("gpt2 runs in bfloat16 / float16 (upcast attention too) close to float32") {
  for (bool upcast : {false, true}) {
    CAPTURE(upcast);
    GPT2Config c = tiny_config();
    c.reorder_and_upcast_attn = upcast;
    auto ref = make(c, "GPT2LMHeadModel", 9);
    ModelInputs x;
    x.input_ids = ids_tensor({5, 9, 3, 7, 1, 2, 8, 0, 0, 4, 6, 11}, 2, 6);
    x.attention_mask = tensor<std::int64_t>({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, {2, 6});
    const Tensor want = ref->forward(x).logits;
    for (DType dt : {kBFloat16, kFloat16}) {
      CAPTURE(dtype_name(dt));
      auto low = make(c, "GPT2LMHeadModel", 9);
      low->to(dt);
      const Tensor got = low->forward(x).logits;
      CHECK(got.dtype() == dt);
      const double scale = amax(abs(want)).item<float>();
      CHECK(max_abs_diff(got.to(kFloat32), want) < (dt == kBFloat16 ? 0.03 : 0.005) * scale);
    }
  }
}

TEST_CASE("gpt2 dropout (attention probabilities included) acts in training mode only") {
  auto c = tiny_config();
  c.attn_pdrop = c.resid_pdrop = c.embd_pdrop = 0.2;
  auto model = make(c, "GPT2LMHeadModel");
  ModelInputs x;
  x.input_ids = ids_tensor({5, 9, 3, 7, 1, 2, 8, 10}, 2, 4);
  x.attention_mask = tensor<std::int64_t>({1, 1, 1, 1, 1, 1, 1, 0}, {2, 4});
  const Tensor e1 = model->forward(x).logits, e2 = model->forward(x).logits;
  CHECK(max_abs_diff(e1, e2) == 0.0);
  model->train();
  const Tensor t1 = model->forward(x).logits, t2 = model->forward(x).logits;
  CHECK(max_abs_diff(t1, t2) > 1e-4);
  CHECK(max_abs_diff(t1, e1) > 1e-4);
  sum(t1).backward();
  CHECK(model->named_parameters().front().second.grad().defined());
}

TEST_CASE("gpt2 rejects malformed inputs and configs with messages naming them") {
  auto model = make(tiny_config(), "GPT2LMHeadModel");
  ModelInputs x;
  CHECK_THROWS_WITH_AS(
      model->forward(x), doctest::Contains("exactly one of input_ids"), ValueError);
  x.input_ids = tensor<std::int64_t>({1, 2, 3}, {3});
  CHECK_THROWS_WITH_AS(
      model->forward(x), doctest::Contains("input_ids must be [batch, seq]"), ShapeError);
  x.input_ids = ids_tensor({1, 2, 3, 4}, 2, 2);
  x.attention_mask = ones({2, 3}, kInt64);
  CHECK_THROWS_WITH_AS(model->forward(x), doctest::Contains("attention_mask"), ShapeError);
  x.attention_mask = Tensor();
  x.input_ids = zeros({1, 25}, kInt64);
  CHECK_THROWS_WITH_AS(model->forward(x), doctest::Contains("n_positions"), ValueError);
  CHECK_THROWS_WITH_AS(
      models::from_config(tiny_config(), "GPT2DoubleHeadsModel"),
      doctest::Contains("GPT2LMHeadModel"),
      ValueError);
  BertConfig bert;
  CHECK_THROWS(models::make_gpt2_model(bert, ""));
  const auto cross =
      hf_config_from_json(Json::parse(R"({"model_type": "gpt2", "add_cross_attention": true})"));
  CHECK_THROWS_WITH_AS(
      models::from_config(*cross, "GPT2Model"),
      doctest::Contains("add_cross_attention"),
      ConfigError);
  GPT2Config bad = tiny_config();
  bad.n_head = 3;
  CHECK_THROWS_WITH_AS(
      models::from_config(bad, "GPT2Model"), doctest::Contains("n_head"), ValueError);
}

}  // namespace
}  // namespace peftcpp
