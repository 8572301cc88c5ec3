// BOFT layers: port of BOFTLayer, Linear and Conv2d in peft/tuners/boft/layer.py @5d602fd.
// Paper: BOFT, Liu et al. 2024, "Parameter-Efficient Orthogonal Finetuning via Butterfly
// Factorization", arXiv:2311.06243.
//
// Per adapter: boft_R [m, block_num, block_size, block_size] (m butterfly factors, see
// butterfly.h) and the output scale boft_s ([out, 1] for Linear, [1, out] for Conv2d), both in
// ParameterDicts, so the file keys read `<module>.boft_R` / `<module>.boft_s`. Each block
// Q = (I - S)(I + S)^-1 with S = (R - R^T) / 2; the rotation is the product of the butterfly
// factors M = F_{m-1} ... F_0 over block_num * block_size = in_features (Conv2d: in*k*k):
//   Linear:  y = ((base(x M) - b) * s + b)          merged: W <- (M W^T)^T * s
//   Conv2d:  y = conv2d(x, ((M W'^T)^T * s).view(W.shape), b)   with W' = W.view(out, in*k*k)
// (PEFT's Conv2d forward uses the base padding[0] / stride[0] and no dilation or groups.)
// Several active adapters compose: M = M_last ... M_first, s = s_last * ... * s_first.
// Unmerging applies M^T and divides by s. Scaling is not supported (warnings).
//
// Files: layer.cpp (BOFTLayer), layer_linear.cpp (Linear), layer_conv.cpp (Conv2d),
// butterfly.cpp (permutations, multiplicative dropout).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nn/containers.h"
#include "peft/tuners/adapter_dict.h"
#include "peft/tuners/base_tuner_layer.h"
#include "peft/tuners/boft/config.h"

namespace peftcpp::boft {

class BOFTLayer : public BaseTunerLayer {
 public:
  std::int64_t in_features = 0;
  std::int64_t out_features = 0;
  bool fan_in_fan_out = false;
  std::map<std::string, std::int64_t> boft_block_size;
  std::map<std::string, std::int64_t> boft_block_num;

  AdapterParameterDict& boft_R() const {
    return *boft_R_;
  }
  AdapterParameterDict& boft_s() const {
    return *boft_s_;
  }
  nn::ModuleDict& boft_dropout() const {
    return *boft_dropout_;
  }

  /// Adds (or re-creates) `adapter`; throws ValueError for block settings that do not fit the
  /// layer (messages as PEFT's).
  void update_layer(const std::string& adapter, const BOFTConfig& config);
  /// init_weights true: boft_R = 0, boft_s = 1 (identity); false: N(0, 0.1) and N(1, 0.1).
  void reset_boft_parameters(const std::string& adapter, bool init_weights);
  /// The orthogonal blocks [m, D, H, H] of `adapter` (Cayley transform of boft_R).
  Tensor orthogonal_blocks(const std::string& adapter) const;
  /// The butterfly rotation M [n, n] of `adapter`; with `dropout` the adapter's multiplicative
  /// dropout acts on the blocks first (training forward).
  Tensor butterfly_matrix(const std::string& adapter, bool dropout = false) const;
  /// (M, boft_s as [out, 1]) (PEFT's get_delta_weight).
  std::pair<Tensor, Tensor> get_delta_weight(const std::string& adapter) const;
  /// The butterfly permutations of `adapter` (one per factor).
  const std::vector<std::vector<std::int64_t>>& permutations(const std::string& adapter) const;

  /// BOFT has no scaling: these only warn, as PEFT does.
  void set_scale(const std::string& adapter, double scale);
  void scale_layer(double scale);
  void unscale_layer(std::optional<double> scale = std::nullopt);

 protected:
  BOFTLayer(std::shared_ptr<nn::UnaryModule> base_layer, const std::string& adapter);
  /// Number of rotated features: in_features (Linear) or in*k*k (Conv2d).
  virtual std::int64_t feature_dim() const {
    return in_features;
  }
  /// How error messages name feature_dim().
  virtual std::string feature_label() const {
    return "in_features";
  }
  /// Shape of boft_s ([out, 1]; Conv2d [1, out]).
  virtual Shape scale_shape() const {
    return {out_features, 1};
  }
  /// boft_s of `adapter` as a column [out, 1].
  Tensor scale_column(const std::string& adapter) const;
  /// x [rows, n] times the butterfly rotation M of `adapter` (M^T when `transposed`), in x's
  /// dtype, one factor at a time without forming M: x P B P^T = (x[:, perm^-1] B)[:, perm] with
  /// B applied block by block. `dropout`: the adapter's multiplicative dropout acts first.
  Tensor rotate(const Tensor& x, const std::string& adapter, bool transposed, bool dropout) const;
  /// The product of the active adapters' boft_s columns [out, 1] in `dtype` (undefined when no
  /// active adapter is in this layer).
  Tensor active_scale(DType dtype) const;
  void merge_adapter(const std::string& adapter, bool safe_merge) override;
  void unmerge_adapter(const std::string& adapter) override;
  void erase_adapter_settings(const std::string& name) override;

  std::shared_ptr<AdapterParameterDict> boft_R_;
  std::shared_ptr<AdapterParameterDict> boft_s_;
  std::shared_ptr<nn::ModuleDict> boft_dropout_;
  std::map<std::string, std::vector<std::vector<std::int64_t>>> perms_;
  // perms_ and their inverses as int64 tensors (undefined = identity)
  std::map<std::string, std::vector<Tensor>> perm_index_;
  std::map<std::string, std::vector<Tensor>> perm_inverse_;
};

/// BOFT on nn::Linear.
class Linear : public BOFTLayer {
 public:
  Linear(
      std::shared_ptr<nn::UnaryModule> base_layer,
      const std::string& adapter,
      const BOFTConfig& config,
      bool is_target_conv_1d_layer = false);
  std::string type_name() const override {
    return "boft.Linear";
  }
  Tensor forward(const Tensor& x) override;
  bool is_target_conv_1d_layer = false;
};

/// BOFT on nn::Conv2d (square kernels, no dilation or groups).
class Conv2d : public BOFTLayer {
 public:
  Conv2d(
      std::shared_ptr<nn::UnaryModule> base_layer,
      const std::string& adapter,
      const BOFTConfig& config);
  std::string type_name() const override {
    return "boft.Conv2d";
  }
  Tensor forward(const Tensor& x) override;

 protected:
  std::int64_t feature_dim() const override;
  std::string feature_label() const override {
    return "Convolutional kernel dimension";
  }
  Shape scale_shape() const override {
    return {1, out_features};
  }
};

}  // namespace peftcpp::boft
