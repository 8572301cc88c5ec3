// Helpers of the LoHa / LoKr tests: golden cases of one method on custom models, small models of
// one layer, configs with non-identity init, and a float64 gradcheck of a layer's parameters.
#pragma once

#include <doctest/doctest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "io/golden/golden_case.h"
#include "peft/golden/custom_models.h"
#include "peft/mapping.h"
#include "peft/tuners/lycoris/layer.h"
#include "tests/peft/golden_dir.h"
#include "tests/peft/peft_test_util.h"

namespace peftcpp::test {

/// Golden cases of `method` ("LOHA") whose base model is a custom model (rebuilt from meta.json).
inline std::vector<std::filesystem::path> custom_cases(const std::string& method) {
  std::vector<std::filesystem::path> out;
  for (const std::filesystem::path& meta : golden_files("peft", "meta.json")) {
    const Json m = Json::parse_file(meta);
    const Json* kind = m.at("base_model").find("kind");
    if (m.at("method").as_string() == method && kind != nullptr &&
        kind->as_string() != "transformers") {
      out.push_back(meta.parent_path());
    }
  }
  return out;
}

/// The base model of a golden custom-model case with its weights.
inline nn::ModulePtr golden_base(const std::filesystem::path& dir) {
  const Json meta = golden::read_meta(dir);
  auto model = std::make_shared<peft::CustomModel>(meta.at("base_model"));
  nn::StateDict state;
  for (auto& [k, v] : load_safetensors((dir / "model.safetensors").string())) state.emplace(k, v);
  model->load_state_dict(state);
  return model;
}

/// "out = m(X)" with one module `m` described by `spec` (a custom-model module JSON).
inline std::shared_ptr<peft::CustomModel> one_layer(
    const std::string& spec, std::uint64_t seed = 3) {
  return make_model("{\"forward\": \"out = m(X)\", \"modules\": {\"m\": " + spec + "}}", seed);
}

inline std::string linear_spec(int in, int out) {
  return "{\"type\": \"Linear\", \"in_features\": " + std::to_string(in) +
         ", \"out_features\": " + std::to_string(out) + ", \"bias\": true}";
}

inline std::string conv1d_spec(int in, int out, int k, int groups = 1) {
  return "{\"type\": \"Conv1d\", \"in_channels\": " + std::to_string(in) +
         ", \"out_channels\": " + std::to_string(out) + ", \"kernel_size\": [" + std::to_string(k) +
         "], \"stride\": [1], \"padding\": [" + std::to_string(k / 2) +
         "], \"groups\": " + std::to_string(groups) + ", \"bias\": true}";
}

inline std::string conv2d_spec(int in, int out, int k, int groups = 1) {
  const std::string ks = std::to_string(k), ps = std::to_string(k / 2);
  return "{\"type\": \"Conv2d\", \"in_channels\": " + std::to_string(in) +
         ", \"out_channels\": " + std::to_string(out) + ", \"kernel_size\": [" + ks + ", " + ks +
         "], \"stride\": [1, 1], " + "\"padding\": [" + ps + ", " + ps +
         "], \"groups\": " + std::to_string(groups) + ", \"bias\": true}";
}

/// Config of type C targeting `targets` with rank r, alpha and init_weights=false.
template <class C>
std::unique_ptr<C> lycoris_config(ModuleNames targets, int r = 4, int alpha = 8) {
  auto c = std::make_unique<C>();
  c->target_modules = std::move(targets);
  c->r = r;
  c->alpha = alpha;
  c->init_weights = false;
  return c;
}

/// float64 gradcheck of layer(x) with respect to x and the listed containers of `adapter`.
inline void check_layer_grads(
    lycoris::LycorisLayer& layer,
    const Tensor& x,
    const std::vector<std::string>& containers,
    const std::string& adapter = "default") {
  std::vector<Tensor*> slots;
  TensorList inputs;
  for (const std::string& c : containers) {
    Tensor& p = layer.params(c).at(adapter);
    slots.push_back(&p);
    inputs.push_back(p.detach().clone().requires_grad_(true));
  }
  inputs.push_back(x.detach().clone().requires_grad_(true));
  auto r = gradcheck(
      [&](const TensorList& in) {
        for (std::size_t i = 0; i < slots.size(); ++i) *slots[i] = in[i];
        return layer.forward(in.back());
      },
      inputs);
  CHECK_MESSAGE(r.ok, r.message);
}

}  // namespace peftcpp::test
