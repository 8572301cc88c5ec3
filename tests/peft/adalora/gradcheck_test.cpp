// float64 gradient checks (finite differences, autograd/gradcheck.h) of every AdaLoRA layer type
// with respect to lora_A, lora_E, lora_B and the input, and of the orthogonal regularisation.
#include "autograd/gradcheck.h"

#include <doctest/doctest.h>

#include "tests/peft/adalora/adalora_test_util.h"

using namespace peftcpp;

namespace {

const std::vector<std::string> kContainers = {"lora_A", "lora_E", "lora_B"};

Tensor& slot(adalora::AdaLoraLayer& l, const std::string& container) {
  if (container == "lora_A")
    return l.lora_A().at("default");
  if (container == "lora_E")
    return l.lora_E().at("default");
  return l.lora_B().at("default");
}

std::shared_ptr<adalora::AdaLoraLayer> f64_layer(
    const std::string& spec, std::shared_ptr<PeftModel>& keep) {
  auto base = test::one_layer(spec, 7);
  base->to(kFloat64);
  keep = get_peft_model(base, test::adalora_config({"m"}, 3));
  auto l = test::ada_layer(*keep, "m");
  CHECK(l->lora_A().at("default").dtype() == kFloat64);
  return l;
}

// gradcheck of fn(layer) over A, E, B (and x when given).
void check(
    adalora::AdaLoraLayer& l, const Tensor& x, const std::function<Tensor(const Tensor&)>& fn) {
  std::vector<Tensor*> slots;
  TensorList inputs;
  for (const std::string& c : kContainers) {
    slots.push_back(&slot(l, c));
    inputs.push_back(slot(l, c).detach().clone().requires_grad_(true));
  }
  inputs.push_back(x.detach().clone().requires_grad_(true));
  auto r = gradcheck(
      [&](const TensorList& in) {
        for (std::size_t i = 0; i < slots.size(); ++i) *slots[i] = in[i];
        return fn(in.back());
      },
      inputs);
  CHECK_MESSAGE(r.ok, r.message);
}

}  // namespace

TEST_CASE("SVDLinear passes a float64 gradcheck") {
  std::shared_ptr<PeftModel> m;
  auto l = f64_layer(test::linear_spec(5, 4), m);
  check(*l, randn({2, 3, 5}, kFloat64), [&](const Tensor& x) { return l->forward(x); });
}

TEST_CASE("SVDLinear on transformers Conv1D passes a float64 gradcheck") {
  std::shared_ptr<PeftModel> m;
  auto l = f64_layer(R"({"type": "transformers.Conv1D", "in_features": 5, "out_features": 4})", m);
  check(*l, randn({3, 5}, kFloat64), [&](const Tensor& x) { return l->forward(x); });
}

TEST_CASE("SVDConv2d passes a float64 gradcheck") {
  std::shared_ptr<PeftModel> m;
  auto l = f64_layer(test::conv2d_spec(2, 3, 3), m);
  check(*l, randn({1, 2, 4, 4}, kFloat64), [&](const Tensor& x) { return l->forward(x); });
}

TEST_CASE("the orthogonal regularisation passes a float64 gradcheck") {
  std::shared_ptr<PeftModel> m;
  auto l = f64_layer(test::linear_spec(5, 4), m);
  auto& ada = test::tuner(*m);
  check(*l, randn({1}, kFloat64), [&](const Tensor& x) {
    return ada.orth_reg_loss() + x.sum() * 0.0;
  });
}
