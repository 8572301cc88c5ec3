// LoRA layers: port of peft/tuners/lora/layer.py @5d602fd. Paper: LoRA, Hu et al. 2021,
// arXiv:2106.09685 (rsLoRA: Kalajdzievski 2023, arXiv:2312.03732).
//
// Each layer wraps a base module and adds per adapter a low-rank update
//   y = base(x) + B(A(dropout(x))) * scaling,   scaling = lora_alpha / r (or / sqrt(r), rsLoRA)
// with PEFT's parameter names: lora_A.<adapter>.weight [r, in], lora_B.<adapter>.weight [out, r]
// (+ .bias with lora_bias), for embeddings lora_embedding_A.<adapter> [r, num] and
// lora_embedding_B.<adapter> [dim, r], for convolutions conv A (kernel of the base) and 1x1 B.
// Variants (DoRA, BD-LoRA, KaSA, MiCA, VeLoRA, MonteCLoRA) replace the update, see variant.h.
//
// Files: layer.cpp (LoraLayer: update_layer, scaling, mixed batches), layer_linear.cpp (Linear,
// incl. transformers Conv1D with fan_in_fan_out), layer_embedding.cpp, layer_conv.cpp (Conv1d /
// Conv2d incl. 1x1 and groups), layer_param.cpp (ParamWrapper for target_parameters), init.cpp
// (gaussian / pissa / olora / orthogonal / mica initialisations), variants/*.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nn/containers.h"
#include "peft/tuners/adapter_dict.h"
#include "peft/tuners/base_tuner_layer.h"
#include "peft/tuners/lora/config.h"
#include "peft/tuners/lora/variant.h"

namespace peftcpp::lora {

class LoraLayer : public BaseTunerLayer {
 public:
  std::int64_t in_features = 0;
  std::int64_t out_features = 0;
  /// Base weight stored [in, out] (transformers Conv1D); delta weights are transposed to match.
  bool fan_in_fan_out = false;

  std::map<std::string, int> r;
  std::map<std::string, double> lora_alpha;
  std::map<std::string, double> scaling;
  std::map<std::string, bool> use_rslora;
  std::map<std::string, bool> use_dora;
  std::map<std::string, bool> lora_bias;
  std::map<std::string, std::shared_ptr<LoraVariant>> lora_variant;
  /// Values variants keep between merge and unmerge (DoRA's weight norm).
  std::map<std::string, Tensor> cache;

  nn::ModuleDict& lora_dropout() const {
    return *lora_dropout_;
  }
  nn::ModuleDict& lora_A() const {
    return *lora_A_;
  }
  nn::ModuleDict& lora_B() const {
    return *lora_B_;
  }
  AdapterParameterDict& lora_embedding_A() const {
    return *lora_embedding_A_;
  }
  AdapterParameterDict& lora_embedding_B() const {
    return *lora_embedding_B_;
  }
  nn::ModuleDict& lora_magnitude_vector() const {
    return *lora_magnitude_vector_;
  }
  /// lora_A / lora_B / lora_dropout entries of `adapter` as callables.
  std::shared_ptr<nn::UnaryModule> A(const std::string& adapter) const;
  std::shared_ptr<nn::UnaryModule> B(const std::string& adapter) const;
  std::shared_ptr<nn::UnaryModule> dropout(const std::string& adapter) const;
  /// The `weight` parameter of lora_A / lora_B[adapter].
  Tensor& A_weight(const std::string& adapter) const;
  Tensor& B_weight(const std::string& adapter) const;

  /// Adds (or re-creates) `adapter` with rank `r` and `alpha` (PEFT's update_layer).
  virtual void update_layer(
      const std::string& adapter,
      int rank,
      double alpha,
      const LoraConfig& config,
      const std::string& target_name);
  /// scaling * B @ A in the base weight's layout.
  virtual Tensor get_delta_weight(const std::string& adapter) const = 0;

  /// init_lora_weights=true: kaiming-uniform(a=sqrt(5)) A, zero B; "gaussian": N(0, 1/r) A, zero
  /// B; embeddings: zero A, N(0, 1) B. false: keep the random values.
  void reset_lora_parameters(const std::string& adapter, const InitWeights& init);
  /// Data-driven initialisations (init.cpp): they read (and pissa/olora rewrite) the base weight.
  void pissa_init(const std::string& adapter, const std::string& init);
  void olora_init(const std::string& adapter);
  void orthogonal_init(const std::string& adapter);
  virtual void mica_init(const std::string& adapter);

  /// scaling = scale * lora_alpha / r (or / sqrt(r)) for `adapter` (PEFT's set_scale).
  void set_scale(const std::string& adapter, double scale);
  /// Multiplies the scaling of the active adapters by `scale`.
  void scale_layer(double scale);
  /// Divides it by `scale`, or resets it to lora_alpha / r when nullopt.
  void unscale_layer(std::optional<double> scale = std::nullopt);

  std::vector<std::string> all_adapter_names() const override;

 protected:
  LoraLayer(std::shared_ptr<nn::UnaryModule> base_layer, const std::string& adapter);
  /// The variant for `config` on this layer type (nullptr = vanilla LoRA); throws for
  /// combinations the layer type does not support.
  virtual std::shared_ptr<LoraVariant> resolve_variant(const LoraConfig& config) const;
  /// Creates lora_A / lora_B entries (layer-type specific shapes).
  virtual void create_adapter_modules(const std::string& adapter, int rank, bool bias) = 0;
  bool has_adapter(const std::string& adapter) const override;
  void erase_adapter_settings(const std::string& name) override;
  /// PEFT's _check_forward_args for mixed batches.
  void check_forward_args(const Tensor& x) const;
  /// Forward with per-sample adapters (forward_adapter_names_); `lora_out(adapter, sub_x)` is
  /// the update for one group of samples.
  Tensor mixed_batch_forward(const Tensor& x, const Tensor& base_result);
  /// The vanilla update for `adapter` (used by forward and mixed batches).
  virtual Tensor lora_update(const std::string& adapter, const Tensor& x) = 0;
  /// Merge / unmerge through the variant or the delta weight (Linear, Conv, Embedding).
  void merge_adapter(const std::string& adapter, bool safe_merge) override;
  void unmerge_adapter(const std::string& adapter) override;
  double initial_scaling(const std::string& adapter) const;
  /// Common forward: base result, then each active adapter (vanilla or variant).
  Tensor lora_forward(const Tensor& x);

  std::shared_ptr<nn::ModuleDict> lora_dropout_;
  std::shared_ptr<nn::ModuleDict> lora_A_;
  std::shared_ptr<nn::ModuleDict> lora_B_;
  std::shared_ptr<AdapterParameterDict> lora_embedding_A_;
  std::shared_ptr<AdapterParameterDict> lora_embedding_B_;
  std::shared_ptr<nn::ModuleDict> lora_magnitude_vector_;
};

/// LoRA on nn::Linear, or on transformers' nn::Conv1D (weight [in, out], fan_in_fan_out).
class Linear : public LoraLayer {
 public:
  Linear(
      std::shared_ptr<nn::UnaryModule> base_layer,
      const std::string& adapter,
      const LoraConfig& config,
      int rank,
      double alpha,
      const std::string& target_name,
      bool is_target_conv_1d_layer = false);
  std::string type_name() const override {
    return "lora.Linear";
  }
  Tensor forward(const Tensor& x) override;
  Tensor get_delta_weight(const std::string& adapter) const override;
  bool is_target_conv_1d_layer = false;

 protected:
  std::shared_ptr<LoraVariant> resolve_variant(const LoraConfig& config) const override;
  void create_adapter_modules(const std::string& adapter, int rank, bool bias) override;
  Tensor lora_update(const std::string& adapter, const Tensor& x) override;
};

/// LoRA on nn::Embedding: y = emb(x) + (embedding(x, A^T) @ B^T) * scaling.
class Embedding : public LoraLayer {
 public:
  Embedding(
      std::shared_ptr<nn::UnaryModule> base_layer,
      const std::string& adapter,
      const LoraConfig& config,
      int rank,
      double alpha,
      const std::string& target_name);
  std::string type_name() const override {
    return "lora.Embedding";
  }
  Tensor forward(const Tensor& x) override;
  Tensor get_delta_weight(const std::string& adapter) const override;
  void update_layer(
      const std::string& adapter,
      int rank,
      double alpha,
      const LoraConfig& config,
      const std::string& target_name) override;
  void mica_init(const std::string& adapter) override;
  /// F.embedding(ids, weight) with the base layer's padding_idx.
  Tensor embed(const Tensor& ids, const Tensor& weight) const;

 protected:
  std::shared_ptr<LoraVariant> resolve_variant(const LoraConfig& config) const override;
  void create_adapter_modules(const std::string& adapter, int rank, bool bias) override;
  bool has_adapter(const std::string& adapter) const override;
  Tensor lora_update(const std::string& adapter, const Tensor& x) override;
};

/// LoRA on nn::Conv1d / nn::Conv2d: A is a conv with the base kernel / stride / padding, B a
/// 1x1 conv with the base groups (rank must be divisible by groups; merging needs groups == 1).
class ConvNd : public LoraLayer {
 public:
  ConvNd(
      std::shared_ptr<nn::UnaryModule> base_layer,
      const std::string& adapter,
      const LoraConfig& config,
      int rank,
      double alpha,
      const std::string& target_name);
  std::string type_name() const override {
    return kernel_dim_ == 3 ? "lora.Conv1d" : "lora.Conv2d";
  }
  Tensor forward(const Tensor& x) override;
  Tensor get_delta_weight(const std::string& adapter) const override;
  /// Number of dims of the base kernel (3 for Conv1d, 4 for Conv2d).
  std::int64_t kernel_dim() const {
    return kernel_dim_;
  }
  std::int64_t groups() const;
  /// conv(x, weight) with the base layer's stride / padding / dilation / groups, no bias.
  Tensor base_conv(const Tensor& x, const Tensor& weight) const;

 protected:
  std::shared_ptr<LoraVariant> resolve_variant(const LoraConfig& config) const override;
  void create_adapter_modules(const std::string& adapter, int rank, bool bias) override;
  Tensor lora_update(const std::string& adapter, const Tensor& x) override;
  void merge_adapter(const std::string& adapter, bool safe_merge) override;

 private:
  std::int64_t kernel_dim_ = 0;
};

/// LoRA on one nn.Parameter of a module (target_parameters): forward runs the base module with
/// the parameter replaced by W + delta (2-d [out, in] or 3-d [experts, in, out] parameters).
/// Several parameters of one module nest wrappers.
class ParamWrapper : public LoraLayer {
 public:
  ParamWrapper(
      std::shared_ptr<nn::UnaryModule> base_layer,
      const std::string& adapter,
      const std::string& parameter_name,
      const LoraConfig& config,
      int rank,
      double alpha,
      const std::string& target_name);
  std::string type_name() const override {
    return "lora.ParamWrapper";
  }
  Tensor forward(const Tensor& x) override;
  Tensor get_delta_weight(const std::string& adapter) const override;
  void update_layer(
      const std::string& adapter,
      int rank,
      double alpha,
      const LoraConfig& config,
      const std::string& target_name) override;
  std::optional<std::string> wrapped_parameter_name() const override {
    return parameter_name_;
  }
  nn::ModulePtr unload_and_optionally_merge_module(
      bool merge, bool safe_merge, const std::optional<AdapterNames>& adapter_names) override;
  /// The wrapped parameter (on the innermost base layer).
  Tensor& param() const;

 protected:
  void create_adapter_modules(const std::string& adapter, int rank, bool bias) override;
  Tensor lora_update(const std::string& adapter, const Tensor& x) override;
  void merge_adapter(const std::string& adapter, bool safe_merge) override;
  void unmerge_adapter(const std::string& adapter) override;

 private:
  std::string parameter_name_;
  std::int64_t num_experts_ = 1;
  std::int64_t param_ndim_ = 2;
  bool swapped_in_out_ = false;
};

/// `weight.T` when fan_in_fan_out (PEFT's transpose helper).
Tensor transpose_if(const Tensor& weight, bool fan_in_fan_out);

}  // namespace peftcpp::lora
