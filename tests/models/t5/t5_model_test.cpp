// T5 model structure and behaviour: transformers' parameter names and ties, the lm_head
// rescale, encoder-only and embedding inputs, padding, save/reload, input errors, and a float64
// gradcheck of one decoder block (self- and cross-attention, gated FFN, every parameter).
#include "models/t5/t5_model.h"

#include <doctest/doctest.h>

#include <cmath>
#include <set>

#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "io/safetensors/tensor_io.h"
#include "nn/functional.h"
#include "nn/layers/embedding.h"
#include "nn/layers/linear.h"
#include "t5_test_util.h"

namespace peftcpp {
namespace {

using models::ModelInputs;
using models::ModelOutput;
using models::ModelPtr;
using models::t5::T5ForConditionalGeneration;

ModelPtr make(const T5Config& c, const std::string& arch, std::uint64_t seed = 1) {
  manual_seed(seed);
  ModelPtr m = models::from_config(c, arch);
  m->eval();
  return m;
}

ModelInputs some_inputs(std::int64_t batch = 2, std::int64_t src = 6, std::int64_t tgt = 4) {
  manual_seed(99);
  ModelInputs in;
  in.input_ids = randint(2, 40, {batch, src});
  in.decoder_input_ids = randint(2, 40, {batch, tgt});
  return in;
}

std::set<std::string> names_of(const nn::NamedTensors& list) {
  std::set<std::string> out;
  for (const auto& [n, t] : list) out.insert(n);
  return out;
}

TEST_CASE("t5 parameters carry transformers' names and the shared embedding is tied") {
  ModelPtr m = make(t5_test::tiny_config(), "T5ForConditionalGeneration");
  const auto params = m->named_parameters();
  REQUIRE_FALSE(params.empty());
  CHECK(params.front().first == "shared.weight");
  const std::set<std::string> names = names_of(params);
  for (const char* n :
       {"encoder.block.0.layer.0.SelfAttention.q.weight",
        "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
        "encoder.block.0.layer.0.layer_norm.weight",
        "encoder.block.1.layer.1.DenseReluDense.wi.weight",
        "encoder.final_layer_norm.weight",
        "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
        "decoder.block.2.layer.1.EncDecAttention.k.weight",
        "decoder.block.2.layer.2.DenseReluDense.wo.weight",
        "decoder.final_layer_norm.weight"})
    CHECK_MESSAGE(names.count(n), n);
  // Only block 0 of each stack has the bias table; tied names are listed once, under shared.
  CHECK_FALSE(names.count("encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight"));
  CHECK_FALSE(names.count("lm_head.weight"));
  CHECK_FALSE(names.count("encoder.embed_tokens.weight"));
  // 2 encoder blocks x 8 + 3 decoder blocks x 13 + 2 bias tables + 2 final norms + shared.
  CHECK(params.size() == 2 * 8 + 3 * 13 + 2 + 2 + 1);
  const nn::StateDict state = m->state_dict();
  for (const auto& [tied, source] : m->tied_weights()) {
    CAPTURE(tied);
    REQUIRE(state.count(tied));
    CHECK(source == "shared.weight");
  }
  CHECK(m->tied_weights().size() == 3);
  CHECK(m->get_parameter("lm_head.weight").is_same(m->get_parameter("shared.weight")));
  CHECK(m->get_parameter("encoder.embed_tokens.weight").is_same(m->get_parameter("shared.weight")));
  CHECK(m->input_embeddings() == m->get_submodule("shared"));
  CHECK(m->output_embeddings() == m->get_submodule("lm_head"));
  CHECK(m->layers_path() == "decoder.block");
  CHECK(m->get_submodule_as<nn::ModuleList>(m->layers_path())->size() == 3);
  CHECK(m->is_encoder_decoder());
}

TEST_CASE("t5 gated FFN names wi_0 / wi_1 and computes wo(act(wi_0 x) * wi_1 x)") {
  const T5Config c = t5_test::tiny_config("gated-gelu");
  CHECK(c.dense_act_fn == "gelu_new");
  auto ff = std::make_shared<models::t5::T5LayerFF>(c);
  auto* dense = dynamic_cast<models::t5::T5DenseGatedActDense*>(ff->DenseReluDense.get());
  REQUIRE(dense != nullptr);
  const auto names = names_of(ff->named_parameters());
  CHECK(
      names == std::set<std::string>{
                   "DenseReluDense.wi_0.weight",
                   "DenseReluDense.wi_1.weight",
                   "DenseReluDense.wo.weight",
                   "layer_norm.weight"});
  manual_seed(4);
  const Tensor x = randn({2, 3, c.d_model});
  auto weight = [&](const char* n) { return ff->get_parameter(n); };
  // Hand-composed reference: RMS norm, tanh-GELU gate, residual.
  const Tensor norm = x * rsqrt(mean(x * x, {-1}, true) + c.layer_norm_epsilon);
  const Tensor h = norm.matmul(weight("DenseReluDense.wi_0.weight").t());
  const Tensor gate = 0.5 * h * (1.0 + tanh(std::sqrt(2.0 / M_PI) * (h + 0.044715 * h * h * h)));
  const Tensor lin = norm.matmul(weight("DenseReluDense.wi_1.weight").t());
  const Tensor want = x + (gate * lin).matmul(weight("DenseReluDense.wo.weight").t());
  CHECK(max_abs_diff(ff->forward(x), want) < 1e-5);
}

TEST_CASE("t5 logits are the rescaled decoder output on the shared embedding when tied") {
  for (const bool tie : {true, false}) {
    CAPTURE(tie);
    const T5Config c = t5_test::tiny_config("relu", tie);
    ModelPtr lm = make(c, "T5ForConditionalGeneration");
    ModelPtr base = make(c, "T5Model", 2);
    CHECK(
        base->load_state_dict(lm->state_dict(), /*strict=*/false).unexpected_keys ==
        std::vector<std::string>{"lm_head.weight"});
    NoGradGuard no_grad;
    const ModelInputs in = some_inputs();
    const ModelOutput a = lm->forward(in), b = base->forward(in);
    const Tensor head = lm->get_parameter("lm_head.weight");
    const double scale = tie ? std::pow(static_cast<double>(c.d_model), -0.5) : 1.0;
    CHECK(max_abs_diff(a.logits, (b.last_hidden_state * scale).matmul(head.t())) < 1e-5);
    CHECK(head.is_same(lm->get_parameter("shared.weight")) == tie);
    CHECK(lm->tied_weights().size() == (tie ? 3u : 2u));
  }
}

TEST_CASE("t5 encoder model and embedding inputs agree with the full model") {
  const T5Config c = t5_test::tiny_config();
  ModelPtr lm = make(c, "T5ForConditionalGeneration");
  ModelPtr enc = make(c, "T5EncoderModel", 5);
  CHECK(enc->load_state_dict(lm->state_dict(), false).missing_keys.empty());
  NoGradGuard no_grad;
  ModelInputs in = some_inputs();
  in.output_hidden_states = true;
  const ModelOutput full = lm->forward(in);
  CHECK(full.encoder_hidden_states.size() == 3);
  CHECK(full.decoder_hidden_states.size() == 4);
  CHECK(
      max_abs_diff(
          full.decoder_hidden_states.front(),
          nn::F::embedding(in.decoder_input_ids, lm->get_parameter("shared.weight"))) == 0.0);
  ModelInputs enc_in;
  enc_in.input_ids = in.input_ids;
  enc_in.output_hidden_states = true;
  const ModelOutput e = enc->forward(enc_in);
  CHECK(e.hidden_states.size() == 3);
  CHECK(max_abs_diff(e.last_hidden_state, full.encoder_last_hidden_state) < 1e-6);
  CHECK(max_abs_diff(e.hidden_states.back(), e.last_hidden_state) == 0.0);
  CHECK(enc->layers_path() == "encoder.block");

  auto shared = lm->input_embeddings();
  auto* emb = dynamic_cast<nn::UnaryModule*>(shared.get());
  REQUIRE(emb != nullptr);
  ModelInputs by_embeds;
  by_embeds.inputs_embeds = emb->forward(in.input_ids);
  by_embeds.decoder_inputs_embeds = emb->forward(in.decoder_input_ids);
  CHECK(max_abs_diff(lm->forward(by_embeds).logits, full.logits) < 1e-6);
}

TEST_CASE("t5 masked encoder positions do not change the logits of the unmasked tokens") {
  ModelPtr m = make(t5_test::tiny_config(), "T5ForConditionalGeneration", 3);
  NoGradGuard no_grad;
  const ModelInputs base = some_inputs(1, 7, 3);
  ModelInputs padded = base;
  padded.attention_mask = ones({1, 7}, kInt64);
  padded.attention_mask.slice(1, 5, 7).fill_(0);
  ModelInputs cut = base;
  cut.input_ids = base.input_ids.slice(1, 0, 5);
  const Tensor want = m->forward(cut).logits;
  CHECK(max_abs_diff(m->forward(padded).logits, want) < 1e-5);
  CHECK(max_abs_diff(m->forward(base).logits, want) > 1e-4);  // unmasked padding does count
}

TEST_CASE("t5 dropout is active in training mode only") {
  T5Config c = t5_test::tiny_config();
  c.dropout_rate = 0.3;
  ModelPtr m = make(c, "T5ForConditionalGeneration");
  const ModelInputs in = some_inputs();
  NoGradGuard no_grad;
  const Tensor eval1 = m->forward(in).logits, eval2 = m->forward(in).logits;
  CHECK(max_abs_diff(eval1, eval2) == 0.0);
  m->train();
  CHECK(max_abs_diff(m->forward(in).logits, eval1) > 1e-4);
}

TEST_CASE("t5 save_pretrained stores shared.weight once and reloads the same model") {
  for (const bool tie : {true, false}) {
    CAPTURE(tie);
    ModelPtr m = make(t5_test::tiny_config("gated-gelu", tie), "T5ForConditionalGeneration", 8);
    t5_test::TmpDir tmp;
    m->save_pretrained(tmp.path());
    const TensorMap saved = load_safetensors((tmp.path() / "model.safetensors").string());
    CHECK(saved.count("shared.weight"));
    CHECK_FALSE(saved.count("encoder.embed_tokens.weight"));
    CHECK_FALSE(saved.count("decoder.embed_tokens.weight"));
    CHECK(saved.count("lm_head.weight") == (tie ? 0u : 1u));
    CHECK(saved.size() == m->named_parameters().size());
    ModelPtr back = models::from_pretrained(tmp.path());
    CHECK(back->type_name() == "T5ForConditionalGeneration");
    CHECK(
        back->get_parameter("lm_head.weight").is_same(back->get_parameter("shared.weight")) == tie);
    NoGradGuard no_grad;
    const ModelInputs in = some_inputs();
    CHECK(max_abs_diff(back->forward(in).logits, m->forward(in).logits) == 0.0);
  }
}

TEST_CASE("t5 save_pretrained writes the golden checkpoint's tensor names") {
  const auto cases = t5_test::t5_golden_cases();
  if (cases.empty())
    return;
  ModelPtr m = models::from_pretrained(cases.front());
  t5_test::TmpDir tmp;
  m->save_pretrained(tmp.path());
  const TensorMap saved = load_safetensors((tmp.path() / "model.safetensors").string());
  const TensorMap golden = load_safetensors((cases.front() / "model.safetensors").string());
  std::set<std::string> a, b;
  for (const auto& [k, v] : saved) a.insert(k);
  for (const auto& [k, v] : golden) b.insert(k);
  CHECK(a == b);
  for (const auto& [k, v] : golden) CHECK_MESSAGE(max_abs_diff(saved.at(k), v) == 0.0, k);
}

TEST_CASE("t5 runs in bfloat16 close to float32") {
  ModelPtr m = make(t5_test::tiny_config("gated-gelu"), "T5ForConditionalGeneration", 6);
  NoGradGuard no_grad;
  ModelInputs in = some_inputs();
  in.attention_mask = ones({2, 6}, kInt64);
  in.attention_mask.select(0, 1).slice(0, 4, 6).fill_(0);
  const Tensor want = m->forward(in).logits;
  m->to(kBFloat16);
  const Tensor got = m->forward(in).logits;
  CHECK(got.dtype() == kBFloat16);
  CHECK(isfinite(got.to(kFloat32)).to(kFloat32).mean().item<double>() == 1.0);
  CHECK(max_abs_diff(got.to(kFloat32), want) < 0.1 * (1.0 + amax(abs(want)).item<double>()));
}

TEST_CASE("t5 rejects inputs it cannot run with errors that name them") {
  ModelPtr m = make(t5_test::tiny_config(), "T5ForConditionalGeneration");
  ModelInputs in = some_inputs();
  auto message_of = [&](const ModelInputs& x) {
    try {
      m->forward(x);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  ModelInputs no_decoder = in;
  no_decoder.decoder_input_ids = Tensor();
  CHECK(
      message_of(no_decoder).find("decoder_input_ids or decoder_inputs_embeds") !=
      std::string::npos);
  ModelInputs both = in;
  both.inputs_embeds = randn({2, 6, 16});
  CHECK(message_of(both).find("exactly one of input_ids / inputs_embeds") != std::string::npos);
  ModelInputs bad_mask = in;
  bad_mask.attention_mask = ones({2, 5}, kInt64);
  CHECK(message_of(bad_mask).find("encoder attention mask") != std::string::npos);
  ModelInputs types = in;
  types.token_type_ids = zeros({2, 6}, kInt64);
  CHECK(message_of(types).find("token_type_ids") != std::string::npos);
  CHECK_THROWS_AS(
      models::from_config(t5_test::tiny_config(), "T5ForQuestionAnswering"), ValueError);
  CHECK_THROWS_AS(m->forward(no_decoder), ValueError);
}

TEST_CASE("t5 decoder block passes a float64 gradcheck in its inputs and every parameter") {
  T5Config c = t5_test::tiny_config("gated-gelu");
  c.d_model = 4;
  c.d_kv = 2;
  c.num_heads = 2;
  c.d_ff = 3;
  manual_seed(21);
  auto block = std::make_shared<models::t5::T5Block>(c, /*is_decoder=*/true, true);
  block->to(kFloat64);
  std::vector<std::string> names;
  TensorList inputs = {
      randn({1, 3, 4}, kFloat64).requires_grad_(true),
      randn({1, 4, 4}, kFloat64).requires_grad_(true)};
  for (const auto& [name, p] : block->named_parameters()) {
    names.push_back(name);
    // Norm weights start at one; perturb them so their gradient is not a special case.
    inputs.push_back((p.detach() + 0.1 * randn(p.shape(), kFloat64)).requires_grad_(true));
  }
  CHECK(names.size() == 15);
  // Encoder row 1 of 4 masked out; decoder queries causal with one earlier cached position.
  Tensor cross_mask = zeros({1, 1, 1, 4}, kFloat64);
  cross_mask.slice(3, 1, 2).fill_(finfo_min(kFloat64));
  auto f = [&](const TensorList& x) {
    for (std::size_t i = 0; i < names.size(); ++i) block->get_parameter(names[i]) = x[i + 2];
    // One cached position per head, [1, heads, 1, d_kv], built from the inputs.
    models::LayerKV past{
        x[0].slice(1, 0, 1).unsqueeze(1).expand({1, 2, 1, 4}).slice(3, 0, 2),
        x[1].slice(1, 0, 1).unsqueeze(1).expand({1, 2, 1, 4}).slice(3, 2, 4)};
    Tensor bias = block->self_attention()->SelfAttention->compute_bias(3, 4, 1, false);
    Tensor causal = triu(full({3, 4}, finfo_min(kFloat64), kFloat64), 2);
    return block->forward(x[0], bias + causal, x[1], cross_mask, &past, nullptr, false);
  };
  const GradcheckResult r = gradcheck(f, inputs);
  CHECK_MESSAGE(r.ok, r.message);
}

}  // namespace
}  // namespace peftcpp
