// nn::Module: names, traversal, replacement, state dicts, conversions, printing.
#include <doctest/doctest.h>

#include "nn/nn.h"

using namespace peftcpp;
using namespace peftcpp::nn;

namespace {

// A LLaMA-shaped toy: model.layers.<i>.self_attn.q_proj / mlp.up_proj, a tied lm_head.
class Attn : public Module {
 public:
  Attn() {
    register_module("q_proj", &q_proj);
    register_module("v_proj", &v_proj);
  }
  std::string type_name() const override {
    return "Attn";
  }
  std::shared_ptr<UnaryModule> q_proj = std::make_shared<Linear>(4, 4, false);
  std::shared_ptr<Linear> v_proj = std::make_shared<Linear>(4, 4, false);
};

class Block : public Module {
 public:
  Block() {
    register_module("self_attn", self_attn);
    register_module("norm", norm);
  }
  std::string type_name() const override {
    return "Block";
  }
  std::shared_ptr<Attn> self_attn = std::make_shared<Attn>();
  std::shared_ptr<RMSNorm> norm = std::make_shared<RMSNorm>(4);
};

class Inner : public Module {
 public:
  Inner() {
    register_module("embed_tokens", embed);
    register_module("layers", layers);
    layers->push_back(std::make_shared<Block>());
    layers->push_back(std::make_shared<Block>());
  }
  std::shared_ptr<Embedding> embed = std::make_shared<Embedding>(10, 4);
  std::shared_ptr<ModuleList> layers = std::make_shared<ModuleList>();
};

class Toy : public Module {
 public:
  Toy() {
    register_module("model", inner);
    register_module("lm_head", head);
    head->weight = inner->embed->weight;  // tied, as HF tie_word_embeddings
  }
  std::string type_name() const override {
    return "Toy";
  }
  std::shared_ptr<Inner> inner = std::make_shared<Inner>();
  std::shared_ptr<Linear> head = std::make_shared<Linear>(4, 10, false);
};

std::vector<std::string> names_of(const NamedTensors& v) {
  std::vector<std::string> out;
  for (const auto& [n, t] : v) out.push_back(n);
  return out;
}

}  // namespace

TEST_CASE("named_parameters lists HF dotted names depth first and tied weights once") {
  auto toy = std::make_shared<Toy>();
  const std::vector<std::string> expected = {
      "model.embed_tokens.weight",
      "model.layers.0.self_attn.q_proj.weight",
      "model.layers.0.self_attn.v_proj.weight",
      "model.layers.0.norm.weight",
      "model.layers.1.self_attn.q_proj.weight",
      "model.layers.1.self_attn.v_proj.weight",
      "model.layers.1.norm.weight"};
  CHECK(names_of(toy->named_parameters()) == expected);
  CHECK(toy->parameters().size() == expected.size());
  CHECK(
      names_of(toy->named_parameters("base_model")).front() ==
      "base_model.model.embed_tokens.weight");
  // state_dict keeps every name, including the tied lm_head.weight
  StateDict sd = toy->state_dict();
  CHECK(sd.size() == expected.size() + 1);
  CHECK(sd.at("lm_head.weight").storage() == sd.at("model.embed_tokens.weight").storage());
}

TEST_CASE("named_modules includes the root as empty name and every descendant in pre-order") {
  auto toy = std::make_shared<Toy>();
  std::vector<std::string> names;
  for (auto& [n, m] : toy->named_modules()) names.push_back(n);
  CHECK(names.front() == "");
  CHECK(names[1] == "model");
  CHECK(std::find(names.begin(), names.end(), "model.layers.1.self_attn.q_proj") != names.end());
  CHECK(names.back() == "lm_head");
  CHECK(toy->named_children().size() == 2);
  CHECK(toy->get_submodule("model.layers.1.self_attn")->type_name() == "Attn");
  CHECK(toy->get_submodule("")->type_name() == "Toy");
}

TEST_CASE("get_submodule names the missing path component") {
  auto toy = std::make_shared<Toy>();
  try {
    toy->get_submodule("model.layers.7.self_attn");
    FAIL("expected an error");
  } catch (const ValueError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("model.layers.7.self_attn") != std::string::npos);
    CHECK(msg.find("'model.layers'") != std::string::npos);
    CHECK(msg.find("no child '7'") != std::string::npos);
  }
}

TEST_CASE("replace_child swaps a layer in place and the typed member follows") {
  auto toy = std::make_shared<Toy>();
  auto attn = toy->get_submodule_as<Attn>("model.layers.0.self_attn");
  auto replacement = std::make_shared<Linear>(4, 4, true);
  ModulePtr old = toy->replace_child("model.layers.0.self_attn.q_proj", replacement);
  CHECK(old->type_name() == "Linear");
  CHECK(attn->q_proj.get() == replacement.get());  // the member the forward uses
  CHECK(toy->get_submodule("model.layers.0.self_attn.q_proj").get() == replacement.get());
  auto names = names_of(toy->named_parameters());
  CHECK(names[1] == "model.layers.0.self_attn.q_proj.weight");
  CHECK(names[2] == "model.layers.0.self_attn.q_proj.bias");  // order: slot position kept
  // a typed member slot rejects an incompatible module
  CHECK_THROWS_AS(
      toy->replace_child("model.layers.0.self_attn.v_proj", std::make_shared<RMSNorm>(4)),
      ValueError);
  // missing paths are named
  try {
    toy->replace_child("model.layers.0.self_attn.k_proj", replacement);
    FAIL("expected an error");
  } catch (const ValueError& e) {
    CHECK(std::string(e.what()).find("model.layers.0.self_attn.k_proj") != std::string::npos);
  }
  toy->set_submodule("model.layers.0.self_attn.k_proj", std::make_shared<Identity>());
  CHECK(toy->get_submodule("model.layers.0.self_attn.k_proj")->type_name() == "Identity");
}

TEST_CASE(
    "load_state_dict strict lists every missing key, unexpected key and shape mismatch at once") {
  auto toy = std::make_shared<Toy>();
  StateDict sd = toy->state_dict();
  sd.erase("model.layers.0.norm.weight");
  sd.erase("model.layers.1.norm.weight");
  sd["model.layers.0.extra"] = zeros({2});
  sd["model.layers.0.self_attn.q_proj.weight"] = zeros({3, 4});
  const Tensor before = toy->inner->embed->weight.clone();
  try {
    toy->load_state_dict(sd, true);
    FAIL("expected an error");
  } catch (const ValueError& e) {
    const std::string msg = e.what();
    CHECK(
        msg.find("\"model.layers.0.norm.weight\", \"model.layers.1.norm.weight\"") !=
        std::string::npos);
    CHECK(
        msg.find("Unexpected key(s) in state_dict: \"model.layers.0.extra\"") != std::string::npos);
    CHECK(
        msg.find("size mismatch for model.layers.0.self_attn.q_proj.weight") != std::string::npos);
    CHECK(msg.find("[3, 4]") != std::string::npos);
  }
  CHECK(max_abs_diff(toy->inner->embed->weight, before) == 0.0);  // nothing was copied
  // non-strict: missing/unexpected are reported, the rest is loaded
  sd["model.layers.0.self_attn.q_proj.weight"] = full({4, 4}, 2.0);
  LoadResult r = toy->load_state_dict(sd, false);
  CHECK(r.missing_keys.size() == 2);
  CHECK(r.unexpected_keys == std::vector<std::string>{"model.layers.0.extra"});
  auto q = toy->get_submodule_as<Linear>("model.layers.0.self_attn.q_proj");
  CHECK(q->weight.to_vector<float>() == std::vector<float>(16, 2.0f));
  CHECK(q->weight.requires_grad());
}

TEST_CASE("load_state_dict copies into the existing tensors and casts dtype") {
  auto lin = std::make_shared<Linear>(2, 2);
  Tensor w = lin->weight;
  StateDict sd{{"weight", tensor<double>({1, 2, 3, 4}, {2, 2})}, {"bias", tensor<double>({5, 6})}};
  lin->load_state_dict(sd);
  CHECK(lin->weight.is_same(w));
  CHECK(lin->weight.dtype() == kFloat32);
  CHECK(
      lin->forward(tensor<float>({1, 1}, {1, 2})).to_vector<float>() == std::vector<float>{8, 13});
}

TEST_CASE("buffers: non-persistent ones are listed but not saved") {
  RotaryEmbedding rope(8);
  CHECK(names_of(rope.named_buffers()) == std::vector<std::string>{"inv_freq"});
  CHECK(rope.state_dict().empty());
  CHECK(rope.parameters().empty());
}

TEST_CASE("to(dtype) keeps parameter identity, casts values and grads, skips integer tensors") {
  auto lin = std::make_shared<Linear>(3, 2);
  Tensor w = lin->weight;
  const std::vector<float> v = w.to_vector<float>();
  sum(lin->forward(ones({1, 3}))).backward();
  lin->to(kBFloat16);
  CHECK(w.dtype() == kBFloat16);
  CHECK(lin->weight.is_same(w));
  CHECK(w.grad().dtype() == kBFloat16);
  CHECK(w.requires_grad());
  CHECK(max_abs_diff(w.to(kFloat32), tensor<float>(v, {2, 3})) < 1e-2);
  lin->to(kFloat64);
  CHECK(lin->bias.dtype() == kFloat64);
  CHECK_THROWS_AS(lin->to(kInt32), DTypeError);
}

TEST_CASE("train/eval propagate and freezing turns requires_grad off on every parameter") {
  auto toy = std::make_shared<Toy>();
  CHECK(toy->is_training());
  toy->eval();
  CHECK_FALSE(toy->get_submodule("model.layers.1.norm")->is_training());
  toy->train();
  CHECK(toy->get_submodule("model.layers.1.norm")->is_training());
  toy->requires_grad_(false);
  CHECK(toy->num_parameters(true) == 0);
  toy->get_submodule("model.layers.0.norm")->requires_grad_(true);
  CHECK(toy->num_parameters(true) == 4);
  CHECK(toy->num_parameters() == 10 * 4 + 2 * (16 + 16 + 4));
}

TEST_CASE("ModuleDict and ParameterDict give PEFT's adapter-keyed names") {
  class LoraLike : public Module {
   public:
    LoraLike() {
      register_module("base_layer", std::make_shared<Linear>(4, 3));
      register_module("lora_A", lora_A);
      register_module("lora_E", lora_E);
      lora_A->insert("default", std::make_shared<Linear>(4, 2, false));
      lora_A->insert("other", std::make_shared<Linear>(4, 2, false));
      lora_E->insert("default", zeros({2, 1}));
    }
    std::shared_ptr<ModuleDict> lora_A = std::make_shared<ModuleDict>();
    std::shared_ptr<ParameterDict> lora_E = std::make_shared<ParameterDict>();
  };
  auto m = std::make_shared<LoraLike>();
  CHECK(
      names_of(m->named_parameters()) == std::vector<std::string>{
                                             "base_layer.weight",
                                             "base_layer.bias",
                                             "lora_A.default.weight",
                                             "lora_A.other.weight",
                                             "lora_E.default"});
  CHECK(m->lora_A->keys() == std::vector<std::string>{"default", "other"});
  CHECK(m->lora_A->pop("default")->type_name() == "Linear");
  CHECK_FALSE(m->lora_A->contains("default"));
  CHECK_THROWS_WITH_AS(m->lora_A->at("default"), doctest::Contains("'other'"), ValueError);
  CHECK(m->lora_E->at("default").requires_grad());
}

TEST_CASE("repr prints like torch") {
  auto seq = std::make_shared<Sequential>(std::vector<std::shared_ptr<UnaryModule>>{
      std::make_shared<Linear>(4, 3),
      std::make_shared<GELU>("tanh"),
      std::make_shared<LayerNorm>(3),
      std::make_shared<Dropout>(0.1)});
  const std::string expected =
      "Sequential(\n"
      "  (0): Linear(in_features=4, out_features=3, bias=True)\n"
      "  (1): GELU(approximate='tanh')\n"
      "  (2): LayerNorm((3,), eps=1e-05, elementwise_affine=True)\n"
      "  (3): Dropout(p=0.1, inplace=False)\n"
      ")";
  CHECK(seq->repr() == expected);
  CHECK(Embedding(10, 4, 0).repr() == "Embedding(10, 4, padding_idx=0)");
  CHECK(
      Conv2d(3, 8, {3}, {.stride = {2}, .padding = 1}).repr() ==
      "Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))");
  CHECK(Conv1D(6, 4).repr() == "Conv1D(nf=6, nx=4)");
  CHECK(RMSNorm(8).repr() == "RMSNorm((8,), eps=1e-06)");
}

TEST_CASE("registering a duplicate or dotted name is rejected") {
  Linear lin(2, 2);
  CHECK_THROWS_AS(lin.register_parameter("weight", zeros({2})), ValueError);
  CHECK_THROWS_AS(lin.register_buffer("a.b", zeros({2})), ValueError);
  Tensor nonleaf = mul(ones({2}).requires_grad_(), 2.0);
  CHECK_THROWS_AS(lin.register_parameter("w2", nonleaf), ValueError);
}

TEST_CASE("load_state_dict(assign=true) makes the module hold the given tensors without copying") {
  auto lin = std::make_shared<Linear>(2, 2);
  Tensor w = tensor<float>({1, 2, 3, 4}, {2, 2});
  Tensor b = tensor<float>({0, 0});
  lin->load_state_dict({{"weight", w}, {"bias", b}}, true, true);
  CHECK(lin->weight.storage() == w.storage());
  CHECK(lin->weight.requires_grad());
  CHECK(lin->named_parameters()[0].second.storage() == w.storage());
}

TEST_CASE("modules not owned by a shared_ptr get a clear error from named_modules") {
  Linear lin(2, 2);
  CHECK_THROWS_WITH_AS(lin.named_modules(), doctest::Contains("std::make_shared"), ValueError);
  CHECK(lin.named_parameters().size() == 2);
}
