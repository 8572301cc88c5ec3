// Helpers of the AdaLoRA tests: configs with non-identity init, small one-layer models, access
// to a layer's tensors, and float64 snapshots of tensors for hand computations.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "autograd/grad_mode.h"
#include "peft/mapping.h"
#include "peft/tuners/adalora/model.h"
#include "tests/peft/lycoris/lycoris_test_util.h"

namespace peftcpp::test {

/// AdaLoraConfig targeting `targets` with init_r, target_r, total_step and random (non-zero) E.
inline std::unique_ptr<AdaLoraConfig> adalora_config(
    ModuleNames targets, int init_r = 4, int target_r = 2, int total_step = 10) {
  auto c = std::make_unique<AdaLoraConfig>();
  c->target_modules = std::move(targets);
  c->init_r = init_r;
  c->target_r = target_r;
  c->total_step = total_step;
  c->lora_alpha = 8;
  c->init_lora_weights = false;
  return c;
}

inline adalora::AdaLoraModel& tuner(PeftModel& m) {
  return dynamic_cast<adalora::AdaLoraModel&>(m.base_model());
}

inline std::shared_ptr<adalora::AdaLoraLayer> ada_layer(PeftModel& m, const std::string& path) {
  auto l = m.get_base_model()->get_submodule_as<adalora::AdaLoraLayer>(path);
  REQUIRE(l != nullptr);
  return l;
}

/// Overwrites A, E, B of `adapter` (values given row-major, shapes kept).
inline void set_triplets(
    adalora::AdaLoraLayer& l,
    const std::vector<double>& a,
    const std::vector<double>& e,
    const std::vector<double>& b,
    const std::string& adapter = "default") {
  NoGradGuard g;
  for (auto [t, v] :
       {std::pair{&l.lora_A().at(adapter), &a},
        {&l.lora_E().at(adapter), &e},
        {&l.lora_B().at(adapter), &b}}) {
    REQUIRE(static_cast<std::int64_t>(v->size()) == t->numel());
    t->copy_(tensor_from_doubles(*v, t->shape(), t->dtype()));
  }
}

inline std::vector<double> values(const Tensor& t) {
  return t.detach().to(kFloat64).contiguous().to_vector<double>();
}

}  // namespace peftcpp::test
