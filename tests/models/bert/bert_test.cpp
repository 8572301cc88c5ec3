// BERT behaviour on small random models: names and buffers, save/load, the heads against hand
// computations, padding, relative position attention against an element-by-element reference of
// transformers' eager math, a float64 gradcheck of one layer, and config/input errors.
#include "models/bert/bert.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "autograd/gradcheck.h"
#include "models/model_test_util.h"
#include "nn/layers/embedding.h"
#include "nn/layers/linear.h"

namespace peftcpp {
namespace {

using models::ModelInputs;
using models::ModelOutput;

BertConfig tiny_config() {
  BertConfig c;
  c.vocab_size = 40;
  c.hidden_size = 16;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.intermediate_size = 24;
  c.max_position_embeddings = 20;
  c.hidden_dropout_prob = c.attention_probs_dropout_prob = 0.0;
  c.post_init();
  return c;
}

models::ModelPtr make(const BertConfig& c, const std::string& arch, std::uint64_t seed = 11) {
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

bool has_name(const nn::NamedTensors& named, const std::string& name) {
  for (const auto& [n, t] : named) {
    (void)t;
    if (n == name)
      return true;
  }
  return false;
}

TEST_CASE("bert parameter names are transformers' with and without the bert. prefix") {
  auto base = make(tiny_config(), "BertModel");
  const auto named = base->named_parameters();
  CHECK(named.front().first == "embeddings.word_embeddings.weight");
  CHECK(has_name(named, "encoder.layer.1.attention.self.query.weight"));
  CHECK(has_name(named, "encoder.layer.0.attention.output.LayerNorm.bias"));
  CHECK(has_name(named, "encoder.layer.0.intermediate.dense.weight"));
  CHECK(has_name(named, "encoder.layer.0.output.dense.weight"));
  CHECK(has_name(named, "pooler.dense.weight"));
  CHECK(base->layers_path() == "encoder.layer");

  auto cls = make(tiny_config(), "BertForSequenceClassification");
  const auto cls_named = cls->named_parameters();
  CHECK(has_name(cls_named, "bert.embeddings.word_embeddings.weight"));
  CHECK(has_name(cls_named, "bert.encoder.layer.0.attention.self.query.weight"));
  CHECK(has_name(cls_named, "bert.pooler.dense.weight"));
  CHECK(has_name(cls_named, "classifier.weight"));
  CHECK(cls->layers_path() == "bert.encoder.layer");
  CHECK(cls->output_module_names() == std::vector<std::string>{"classifier"});
  // 5 embedding tensors + 16 per layer + pooler 2 + classifier 2.
  CHECK(cls->state_dict().size() == 5 + 16 * 2 + 2 + 2);

  // transformers' position_ids / token_type_ids buffers exist but are not persistent.
  CHECK(has_name(cls->named_buffers(), "bert.embeddings.position_ids"));
  for (const auto& [name, t] : cls->state_dict()) {
    (void)t;
    CHECK_MESSAGE(name.find("position_ids") == std::string::npos, name);
    CHECK_MESSAGE(name.find("token_type_ids") == std::string::npos, name);
  }
  auto tok = make(tiny_config(), "BertForTokenClassification");
  CHECK_FALSE(has_name(tok->named_parameters(), "bert.pooler.dense.weight"));
  CHECK(tok->get_submodule("bert.encoder.layer.0.attention.self.query")->type_name() == "Linear");
  CHECK(
      tok->get_submodule("bert.encoder.layer.0.intermediate.intermediate_act_fn")->type_name() ==
      "GELUActivation");
}

TEST_CASE("bert word embeddings keep the pad row out of the gradient (padding_idx)") {
  auto model = make(tiny_config(), "BertModel");
  ModelInputs x;
  x.input_ids = ids_tensor({0, 5, 6, 0}, 1, 4);
  const Tensor w = model->get_parameter("embeddings.word_embeddings.weight");
  CHECK(max_abs_diff(w.select(0, 0), zeros({16})) == 0.0);
  sum(model->forward(x).last_hidden_state).backward();
  CHECK(max_abs_diff(w.grad().select(0, 0), zeros({16})) == 0.0);
  CHECK(max_abs_diff(w.grad().select(0, 5), zeros({16})) > 0.0);
}

TEST_CASE("bert save_pretrained then from_pretrained rebuilds the same model bit for bit") {
  for (const char* arch : {"BertModel", "BertForSequenceClassification"}) {
    CAPTURE(arch);
    auto model = make(tiny_config(), arch);
    model_test::ScratchDir dir("bert_roundtrip");
    model->save_pretrained(dir.path());
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
    const ModelOutput o1 = model->forward(x), o2 = again->forward(x);
    const Tensor p1 = o1.logits.defined() ? o1.logits : o1.pooler_output;
    const Tensor p2 = o2.logits.defined() ? o2.logits : o2.pooler_output;
    CHECK(max_abs_diff(p1, p2) == 0.0);
  }
}

TEST_CASE("bert padding: masked keys do not change the outputs of the other positions") {
  auto model = make(tiny_config(), "BertModel");
  ModelInputs x;
  x.input_ids = ids_tensor({3, 4, 5, 6, 7}, 1, 5);
  x.attention_mask = tensor<std::int64_t>({1, 1, 1, 0, 0}, {1, 5});
  const Tensor a = model->forward(x).last_hidden_state;
  x.input_ids = ids_tensor({3, 4, 5, 30, 31}, 1, 5);
  const Tensor b = model->forward(x).last_hidden_state;
  CHECK(max_abs_diff(a.narrow(1, 0, 3), b.narrow(1, 0, 3)) < 1e-6);
  x.attention_mask = Tensor();
  const Tensor c = model->forward(x).last_hidden_state;
  CHECK(max_abs_diff(b.narrow(1, 0, 3), c.narrow(1, 0, 3)) > 1e-4);
}

TEST_CASE("bert sequence, token classification and QA heads match hand computations") {
  BertConfig c = tiny_config();
  c.set_num_labels(3);
  ModelInputs x;
  x.input_ids = ids_tensor({1, 2, 3, 4, 5, 6}, 2, 3);
  x.token_type_ids = ids_tensor({0, 0, 1, 0, 1, 1}, 2, 3);

  auto seq = make(c, "BertForSequenceClassification");
  const ModelOutput s = seq->forward(x);
  REQUIRE(s.logits.shape() == Shape{2, 3});
  REQUIRE(s.pooler_output.shape() == Shape{2, 16});
  {
    // pooler_output = tanh(dense(h[:, 0])), logits = classifier(pooler_output).
    const Tensor pw = seq->get_parameter("bert.pooler.dense.weight");
    const Tensor pb = seq->get_parameter("bert.pooler.dense.bias");
    double pooled = pb.select(0, 7).item<float>();
    for (std::int64_t k = 0; k < 16; ++k)
      pooled +=
          double(at3(s.last_hidden_state, 1, 0, k)) * pw.select(0, 7).select(0, k).item<float>();
    CHECK(
        s.pooler_output.select(0, 1).select(0, 7).item<float>() ==
        doctest::Approx(std::tanh(pooled)).epsilon(1e-4));
    const Tensor cw = seq->get_parameter("classifier.weight"),
                 cb = seq->get_parameter("classifier.bias");
    double logit = cb.select(0, 2).item<float>();
    for (std::int64_t k = 0; k < 16; ++k)
      logit += double(s.pooler_output.select(0, 1).select(0, k).item<float>()) *
               cw.select(0, 2).select(0, k).item<float>();
    CHECK(s.logits.select(0, 1).select(0, 2).item<float>() == doctest::Approx(logit).epsilon(1e-4));
  }

  auto tok = make(c, "BertForTokenClassification");
  const ModelOutput t = tok->forward(x);
  REQUIRE(t.logits.shape() == Shape{2, 3, 3});
  CHECK_FALSE(t.pooler_output.defined());
  const Tensor w = tok->get_parameter("classifier.weight"),
               bias = tok->get_parameter("classifier.bias");
  double want = bias.select(0, 1).item<float>();
  for (std::int64_t k = 0; k < 16; ++k)
    want += double(at3(t.last_hidden_state, 0, 2, k)) * w.select(0, 1).select(0, k).item<float>();
  CHECK(at3(t.logits, 0, 2, 1) == doctest::Approx(want).epsilon(1e-4));

  BertConfig qc = tiny_config();  // num_labels 2
  auto qa = make(qc, "BertForQuestionAnswering");
  const ModelOutput q = qa->forward(x);
  REQUIRE(q.start_logits.shape() == Shape{2, 3});
  const Tensor qw = qa->get_parameter("qa_outputs.weight"),
               qb = qa->get_parameter("qa_outputs.bias");
  for (int which = 0; which < 2; ++which) {
    double v = qb.select(0, which).item<float>();
    for (std::int64_t k = 0; k < 16; ++k)
      v += double(at3(q.last_hidden_state, 1, 1, k)) *
           qw.select(0, which).select(0, k).item<float>();
    const Tensor& got = which == 0 ? q.start_logits : q.end_logits;
    CHECK(got.select(0, 1).select(0, 1).item<float>() == doctest::Approx(v).epsilon(1e-4));
  }
  CHECK_THROWS_AS(models::from_config(c, "BertForQuestionAnswering"), ConfigError);
}

// transformers' eager BertSelfAttention with relative positions, element by element (double):
// scores = (q.k + q.E + [k.E]) / sqrt(D) + mask, E = distance_embedding(l - r + M - 1), where
// every query sits at position S - 1 once past keys exist.
std::vector<double> reference_relative(
    models::BertSelfAttention& attn,
    const Tensor& x,
    const Tensor& pk,
    const Tensor& pv,
    const Tensor& mask_add,
    std::int64_t heads,
    std::int64_t max_pos,
    bool key_query) {
  const std::int64_t b = x.size(0), t = x.size(1), c = x.size(2), d = c / heads;
  const std::int64_t p = pk.defined() ? pk.size(2) : 0, s = p + t;
  auto proj = [&](const std::shared_ptr<nn::UnaryModule>& m) {
    auto lin = std::dynamic_pointer_cast<nn::Linear>(m);
    return std::make_pair(lin->weight.to_vector<float>(), lin->bias.to_vector<float>());
  };
  const auto [wq, bq] = proj(attn.query);
  const auto [wk, bk] = proj(attn.key);
  const auto [wv, bv] = proj(attn.value);
  const auto e =
      std::dynamic_pointer_cast<nn::Embedding>(attn.distance_embedding)->weight.to_vector<float>();
  const auto xv = x.to_vector<float>();
  const auto mv = mask_add.to_vector<float>();
  const auto pkv = pk.defined() ? pk.to_vector<float>() : std::vector<float>();
  const auto pvv = pv.defined() ? pv.to_vector<float>() : std::vector<float>();
  auto lin = [&](const std::vector<float>& w,
                 const std::vector<float>& bb,
                 std::int64_t row,
                 std::int64_t out) {
    double acc = bb[out];
    for (std::int64_t k = 0; k < c; ++k) acc += double(xv[row * c + k]) * w[out * c + k];
    return acc;
  };
  std::vector<double> ctx(static_cast<std::size_t>(b * t * c));
  for (std::int64_t bb = 0; bb < b; ++bb)
    for (std::int64_t h = 0; h < heads; ++h) {
      // keys/values of all S positions for this (batch, head)
      std::vector<double> kk(s * d), vv(s * d);
      for (std::int64_t j = 0; j < s; ++j)
        for (std::int64_t e2 = 0; e2 < d; ++e2) {
          if (j < p) {
            kk[j * d + e2] = pkv[((bb * heads + h) * p + j) * d + e2];
            vv[j * d + e2] = pvv[((bb * heads + h) * p + j) * d + e2];
          } else {
            kk[j * d + e2] = lin(wk, bk, bb * t + (j - p), h * d + e2);
            vv[j * d + e2] = lin(wv, bv, bb * t + (j - p), h * d + e2);
          }
        }
      for (std::int64_t i = 0; i < t; ++i) {
        std::vector<double> q(d), sc(s);
        for (std::int64_t e2 = 0; e2 < d; ++e2) q[e2] = lin(wq, bq, bb * t + i, h * d + e2);
        const std::int64_t pos_l = p > 0 ? s - 1 : i;
        double mx = -std::numeric_limits<double>::infinity();
        for (std::int64_t j = 0; j < s; ++j) {
          const std::int64_t row = pos_l - j + max_pos - 1;
          double v = 0.0;
          for (std::int64_t e2 = 0; e2 < d; ++e2) {
            v += q[e2] * kk[j * d + e2] + q[e2] * e[row * d + e2];
            if (key_query)
              v += kk[j * d + e2] * e[row * d + e2];
          }
          sc[j] = v / std::sqrt(double(d)) + mv[bb * s + j];
          mx = std::max(mx, sc[j]);
        }
        double z = 0.0;
        for (double& v : sc) z += (v = std::exp(v - mx));
        for (std::int64_t e2 = 0; e2 < d; ++e2) {
          double acc = 0.0;
          for (std::int64_t j = 0; j < s; ++j) acc += sc[j] / z * vv[j * d + e2];
          ctx[(bb * t + i) * c + h * d + e2] = acc;
        }
      }
    }
  return ctx;
}

TEST_CASE("bert relative_key and relative_key_query attention equal transformers' eager math") {
  for (const char* type : {"relative_key", "relative_key_query"}) {
    for (bool with_past : {false, true}) {
      CAPTURE(type);
      CAPTURE(with_past);
      BertConfig c = tiny_config();
      c.hidden_size = 8;
      c.num_attention_heads = 2;
      c.max_position_embeddings = 6;
      c.position_embedding_type = type;
      manual_seed(21);
      models::BertSelfAttention attn(c);
      attn.eval();
      const Tensor x = randn({2, 3, 8});
      models::LayerKV past{randn({2, 2, 2, 4}), randn({2, 2, 2, 4})};
      const std::int64_t s = with_past ? 5 : 3;
      Tensor mask = zeros({2, s});
      mask.select(0, 1).select(0, 0).fill_(-3.4028234663852886e38);  // row 1 pads key 0
      const Tensor got = attn.forward(x, mask.view({2, 1, 1, s}), with_past ? &past : nullptr);
      const auto want = reference_relative(
          attn,
          x,
          with_past ? past.key : Tensor(),
          with_past ? past.value : Tensor(),
          mask,
          2,
          6,
          std::string(type) == "relative_key_query");
      std::vector<float> wf(want.begin(), want.end());
      CHECK(max_abs_diff(got, tensor<float>(wf, {2, 3, 8})) < 2e-5);
    }
  }
}

TEST_CASE("bert layer passes a float64 gradcheck (absolute and relative_key_query)") {
  for (const char* type : {"absolute", "relative_key_query"}) {
    CAPTURE(type);
    BertConfig c = tiny_config();
    c.hidden_size = 8;
    c.num_attention_heads = 2;
    c.intermediate_size = 12;
    c.max_position_embeddings = 8;
    c.position_embedding_type = type;
    manual_seed(4);
    auto layer = std::make_shared<models::BertLayer>(c);
    layer->eval();
    layer->to(kFloat64);
    Tensor x = randn({2, 3, 8}, kFloat64).requires_grad_(true);
    Tensor mask = zeros({2, 1, 1, 3}, kFloat64);
    mask.select(0, 1).select(-1, 2).fill_(std::numeric_limits<double>::lowest());
    TensorList inputs{
        x,
        layer->get_parameter("attention.self.query.weight"),
        layer->get_parameter("attention.output.LayerNorm.weight"),
        layer->get_parameter("intermediate.dense.bias")};
    if (std::string(type) != "absolute")
      inputs.push_back(layer->get_parameter("attention.self.distance_embedding.weight"));
    const auto result = gradcheck(
        [&](const TensorList& in) { return layer->forward(in[0], mask, nullptr); }, inputs);
    INFO(result.message);
    CHECK(result.ok);
  }
}

TEST_CASE("bert runs in bfloat16 / float16 close to float32") {
  BertConfig c = tiny_config();
  c.set_num_labels(3);
  auto ref = make(c, "BertForSequenceClassification", 9);
  ModelInputs x;
  x.input_ids = ids_tensor({5, 9, 3, 7, 1, 2, 8, 0, 0, 4, 6, 11}, 2, 6);
  x.attention_mask = tensor<std::int64_t>({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, {2, 6});
  const Tensor want = ref->forward(x).logits;
  for (DType dt : {kBFloat16, kFloat16}) {
    CAPTURE(dtype_name(dt));
    auto low = make(c, "BertForSequenceClassification", 9);
    low->to(dt);
    const Tensor got = low->forward(x).logits;
    CHECK(got.dtype() == dt);
    const double scale = amax(abs(want)).item<float>();
    CHECK(max_abs_diff(got.to(kFloat32), want) < (dt == kBFloat16 ? 0.03 : 0.005) * scale);
  }
}

TEST_CASE("bert dropout (attention probabilities included) acts in training mode only") {
  auto c = tiny_config();
  c.hidden_dropout_prob = c.attention_probs_dropout_prob = 0.2;
  auto model = make(c, "BertForTokenClassification");
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

TEST_CASE("bert rejects unsupported configs and malformed inputs with messages naming them") {
  BertConfig c = tiny_config();
  c.position_embedding_type = "rotary";
  CHECK_THROWS_WITH_AS(
      models::from_config(c, "BertModel"), doctest::Contains("rotary"), ConfigError);
  CHECK_THROWS_WITH_AS(
      models::from_config(tiny_config(), "BertForMaskedLM"),
      doctest::Contains("BertForSequenceClassification"),
      ValueError);
  const auto decoder = hf_config_from_json(Json::parse(
      R"({"model_type": "bert", "is_decoder": true, "hidden_size": 16,
          "num_attention_heads": 4})"));
  CHECK_THROWS_WITH_AS(
      models::from_config(*decoder, "BertModel"), doctest::Contains("is_decoder"), ConfigError);

  auto model = make(tiny_config(), "BertModel");
  ModelInputs x;
  x.input_ids = ids_tensor({1, 2, 3, 4}, 2, 2);
  x.token_type_ids = ids_tensor({0, 1, 1}, 1, 3);
  CHECK_THROWS_WITH_AS(model->forward(x), doctest::Contains("token_type_ids"), ShapeError);
  x.token_type_ids = Tensor();
  x.attention_mask = ones({2, 4}, kInt64);
  CHECK_THROWS_WITH_AS(model->forward(x), doctest::Contains("attention_mask"), ShapeError);
  x.attention_mask = Tensor();
  x.input_ids = zeros({1, 21}, kInt64);
  CHECK_THROWS_WITH_AS(model->forward(x), doctest::Contains("max_position_embeddings"), ValueError);
  x.input_ids = Tensor();
  x.inputs_embeds = zeros({1, 3, 15});
  CHECK_THROWS_WITH_AS(model->forward(x), doctest::Contains("inputs_embeds"), ShapeError);
}

}  // namespace
}  // namespace peftcpp
