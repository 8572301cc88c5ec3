// VeRA layers: port of peft/tuners/vera/layer.py @5d602fd. Paper: Kopiczko et al. 2023,
// "VeRA: Vector-based Random Matrix Adaptation", arXiv:2310.11454.
//
// All layers share two frozen random matrices held by the VeraModel, vera_A [r, max_in] and
// vera_B [max_out, r]; each layer slices the part it needs (A[:, :in], B[:out, :]) and learns two
// vectors per adapter, vera_lambda_d.<adapter> [r] and vera_lambda_b.<adapter> [out]:
//   y = base(x) + lambda_b * (B[:out, :] @ (lambda_d * (A[:, :in] @ dropout(x))))
//   delta W = (lambda_b[:, None] * B[:out, :]) @ (lambda_d[:, None] * A[:, :in])   ([out, in];
//             transposed for transformers Conv1D, whose weight is [in, out]).
// Defaults: lambda_b = 0, lambda_d = d_initial (init_weights), so a new adapter is the identity.
//
// The layers keep pointers to the model's projection dicts without registering them as children
// (PEFT registers them in every layer and then drops those duplicate keys when saving), so the
// projections appear once in the state dict, as `base_model.vera_A.<adapter>`.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "nn/containers.h"
#include "peft/tuners/adapter_dict.h"
#include "peft/tuners/base_tuner_layer.h"
#include "peft/tuners/vera/config.h"

namespace peftcpp::vera {

class VeraLayer : public BaseTunerLayer {
 public:
  std::int64_t in_features = 0;
  std::int64_t out_features = 0;
  /// Base weight stored [in, out] (transformers Conv1D).
  bool fan_in_fan_out = false;
  std::map<std::string, int> r;

  AdapterParameterDict& vera_lambda_b() const {
    return *vera_lambda_b_;
  }
  AdapterParameterDict& vera_lambda_d() const {
    return *vera_lambda_d_;
  }
  nn::ModuleDict& vera_dropout() const {
    return *vera_dropout_;
  }
  /// The shared projections (null before the first update_layer).
  const std::shared_ptr<BufferDict>& vera_A() const {
    return vera_A_;
  }
  const std::shared_ptr<BufferDict>& vera_B() const {
    return vera_B_;
  }

  /// Adds (or re-creates) `adapter` with rank `rank` (PEFT's update_layer). The projections
  /// `vera_A` / `vera_B` are the model's; when they have no entry for `adapter` yet (a later
  /// adapter), it shares the existing one, which must be at least [rank, in] / [out, rank].
  void update_layer(
      const std::string& adapter,
      const std::shared_ptr<BufferDict>& vera_A,
      const std::shared_ptr<BufferDict>& vera_B,
      int rank,
      const VeraConfig& config);
  /// lambda_d = d_initial, lambda_b = 0.
  void reset_vera_parameters(const std::string& adapter, double d_initial = 0.1);
  /// The merged update of `adapter` in the base weight's layout.
  virtual Tensor get_delta_weight(const std::string& adapter) const = 0;

 protected:
  VeraLayer(std::shared_ptr<nn::UnaryModule> base_layer, const std::string& adapter);
  bool has_adapter(const std::string& adapter) const override;
  /// Drops r and dropout, and the adapter's entry of the shared projections.
  void erase_adapter_settings(const std::string& name) override;
  /// A[:, :in] and B[:out, :] of `adapter`.
  Tensor sliced_A(const std::string& adapter) const;
  Tensor sliced_B(const std::string& adapter) const;

  std::shared_ptr<nn::ModuleDict> vera_dropout_;
  std::shared_ptr<AdapterParameterDict> vera_lambda_b_;
  std::shared_ptr<AdapterParameterDict> vera_lambda_d_;
  std::shared_ptr<BufferDict> vera_A_;
  std::shared_ptr<BufferDict> vera_B_;
};

/// VeRA on nn::Linear, or on transformers' nn::Conv1D (fan_in_fan_out).
class Linear : public VeraLayer {
 public:
  Linear(
      std::shared_ptr<nn::UnaryModule> base_layer,
      const std::shared_ptr<BufferDict>& vera_A,
      const std::shared_ptr<BufferDict>& vera_B,
      const std::string& adapter,
      const VeraConfig& config,
      int rank,
      bool is_target_conv_1d_layer = false);
  std::string type_name() const override {
    return "vera.Linear";
  }
  Tensor forward(const Tensor& x) override;
  Tensor get_delta_weight(const std::string& adapter) const override;
  bool is_target_conv_1d_layer = false;

 protected:
  void merge_adapter(const std::string& adapter, bool safe_merge) override;
  void unmerge_adapter(const std::string& adapter) override;
};

}  // namespace peftcpp::vera
