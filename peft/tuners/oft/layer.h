// OFT layers: port of OFTLayer, Linear, Conv2d, Embedding and MultiplicativeDropoutLayer in
// peft/tuners/oft/layer.py @5d602fd. Paper: OFT, Qiu et al. 2023, "Controlling Text-to-Image
// Diffusion by Orthogonal Finetuning", arXiv:2306.07280.
//
// Each adapter is an OFTRotationModule (rotation.h) in the ModuleDict `oft_R` (Linear, Conv2d)
// or `oft_embedding_R` (Embedding), so its parameter reads `oft_R.<adapter>.weight`:
//   Linear:    y = base(x R)                      merged: W <- (R W^T)^T = W R^T
//   Conv2d:    y = base(fold(unfold(x) R))        merged: W.view(out, in*k*k) <- (R W^T)^T
//   Embedding: y = base(ids) R                    merged: W <- W R
// with R = blockdiag(R_1, ..., R_r) over the `in_features` (Conv2d: in*k*k) features, each block
// of size oft_block_size. Exactly one of r and oft_block_size is set in the config; the other
// follows from r * oft_block_size == in_features, and a value that does not divide in_features is
// moved to the nearest divisor (adjust_oft_parameters, with a warning). Several active adapters
// rotate one after the other. Unmerging multiplies by R^-1. Scaling is not supported (warnings).
//
// Files: layer.cpp (OFTLayer), layer_linear.cpp (Linear, Conv2d), layer_embedding.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nn/containers.h"
#include "peft/tuners/base_tuner_layer.h"
#include "peft/tuners/oft/config.h"
#include "peft/tuners/oft/rotation.h"

namespace peftcpp::oft {

/// OFT's multiplicative dropout over blocks [D, H, H]: in training, int(p * D) randomly chosen
/// blocks become the identity (a shared block, D == 1, is kept). PEFT creates it per adapter in
/// `oft_dropout` but its OFT forward does not call it (as of 5d602fd); peftcpp mirrors that.
class MultiplicativeDropoutLayer : public nn::UnaryModule {
 public:
  explicit MultiplicativeDropoutLayer(double p = 0.0) : p(p) {}
  std::string type_name() const override {
    return "MultiplicativeDropoutLayer";
  }
  Tensor forward(const Tensor& x) override;
  double p;
};

class OFTLayer : public BaseTunerLayer {
 public:
  std::int64_t in_features = 0;
  std::int64_t out_features = 0;
  /// Kept for PEFT's signature; OFT layers do not use it.
  bool fan_in_fan_out = false;
  /// Number of blocks and block size per adapter (after the in_features adjustment).
  std::map<std::string, std::int64_t> r;
  std::map<std::string, std::int64_t> oft_block_size;

  nn::ModuleDict& oft_R() const {
    return *oft_R_;
  }
  nn::ModuleDict& oft_embedding_R() const {
    return *oft_embedding_R_;
  }
  nn::ModuleDict& oft_dropout() const {
    return *oft_dropout_;
  }
  /// The rotation of `adapter` (from oft_R or oft_embedding_R; throws naming it when absent).
  OFTRotationModule& rotation(const std::string& adapter) const;

  /// Adds (or re-creates) `adapter` with `rank` blocks (0 = derive it from oft_block_size).
  virtual void update_layer(const std::string& adapter, std::int64_t rank, const OFTConfig& config);
  /// init_weights true: zero rotation parameters (identity rotation); false: N(0, 0.1).
  void reset_oft_parameters(const std::string& adapter, bool init_weights);
  /// The divisor of in_features closest to `params` (ties go to the smaller one); in_features
  /// itself when params >= in_features (PEFT's adjust_oft_parameters).
  static std::int64_t adjust_oft_parameters(std::int64_t in_features, std::int64_t params);
  /// The block-diagonal rotation of `adapter` (computed in float32 for 16-bit adapters).
  Tensor get_delta_weight(const std::string& adapter) const;
  /// The diagonal blocks [num_blocks, block, block] of that rotation (shared blocks repeated),
  /// or of its inverse: what merge / unmerge use, without building the dense matrix.
  Tensor rotation_blocks(const std::string& adapter, bool inverted = false) const;

  /// OFT has no scaling: these only warn, as PEFT does.
  void set_scale(const std::string& adapter, double scale);
  void scale_layer(double scale);
  void unscale_layer(std::optional<double> scale = std::nullopt);

 protected:
  OFTLayer(std::shared_ptr<nn::UnaryModule> base_layer, const std::string& adapter);
  /// Resolves (rank, block size) for `dim` features and puts a fresh rotation for `adapter` in
  /// `container`.
  void create_rotation(
      nn::ModuleDict& container,
      const std::string& adapter,
      std::int64_t rank,
      const OFTConfig& config,
      std::int64_t dim,
      const std::vector<std::int64_t>& kernel_size);
  void erase_adapter_settings(const std::string& name) override;
  /// `weight` (the base weight, in the blocks' dtype) with the rotation blockdiag(blocks) merged
  /// in: (R W^T)^T over W.view(out, -1) for Linear / Conv2d. Unmerging passes the inverse blocks.
  virtual Tensor merged_weight(const Tensor& weight, const Tensor& blocks) const;
  void merge_adapter(const std::string& adapter, bool safe_merge) override;
  void unmerge_adapter(const std::string& adapter) override;
  /// Linear / Conv2d forward: rotate the input with each active adapter, then the base layer.
  Tensor rotate_input_forward(const Tensor& x);

  std::shared_ptr<nn::ModuleDict> oft_R_;
  std::shared_ptr<nn::ModuleDict> oft_embedding_R_;
  std::shared_ptr<nn::ModuleDict> oft_dropout_;
};

/// OFT on nn::Linear.
class Linear : public OFTLayer {
 public:
  Linear(
      std::shared_ptr<nn::UnaryModule> base_layer,
      const std::string& adapter,
      const OFTConfig& config,
      std::int64_t rank,
      bool fan_in_fan_out = false,
      bool is_target_conv_1d_layer = false);
  std::string type_name() const override {
    return "oft.Linear";
  }
  Tensor forward(const Tensor& x) override;
  bool is_target_conv_1d_layer = false;
};

/// OFT on nn::Conv2d (square kernels, dilation 1): the rotation acts on in*k*k patch features.
class Conv2d : public OFTLayer {
 public:
  Conv2d(
      std::shared_ptr<nn::UnaryModule> base_layer,
      const std::string& adapter,
      const OFTConfig& config,
      std::int64_t rank,
      bool fan_in_fan_out = false);
  std::string type_name() const override {
    return "oft.Conv2d";
  }
  Tensor forward(const Tensor& x) override;
  void update_layer(
      const std::string& adapter, std::int64_t rank, const OFTConfig& config) override;
  std::int64_t groups() const;

 protected:
  void merge_adapter(const std::string& adapter, bool safe_merge) override;
  void unmerge_adapter(const std::string& adapter) override;
};

/// OFT on nn::Embedding: the embedding vectors (embedding_dim features) are rotated.
class Embedding : public OFTLayer {
 public:
  Embedding(
      std::shared_ptr<nn::UnaryModule> base_layer,
      const std::string& adapter,
      const OFTConfig& config,
      std::int64_t rank);
  std::string type_name() const override {
    return "oft.Embedding";
  }
  Tensor forward(const Tensor& x) override;
  void update_layer(
      const std::string& adapter, std::int64_t rank, const OFTConfig& config) override;

 protected:
  Tensor merged_weight(const Tensor& weight, const Tensor& blocks) const override;
};

}  // namespace peftcpp::oft
