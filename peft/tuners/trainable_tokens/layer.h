// TrainableTokensLayer: retrains selected rows of an embedding (or tied LM head) matrix.
// Port of peft/tuners/trainable_tokens/layer.py @5d602fd (used by LoRA's
// trainable_token_indices through TrainableTokensWrapper; the TRAINABLE_TOKENS tuner builds on
// it too).
//
// trainable_tokens_delta.<adapter> [n, dim] holds the new values of rows token_indices[adapter]
// (the rows are replaced, not added to); trainable_tokens_original.<adapter> keeps the old rows
// so unmerge can restore them.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "peft/tuners/adapter_dict.h"
#include "peft/tuners/base_tuner_layer.h"

namespace peftcpp {

class TrainableTokensLayer : public BaseTunerLayer {
 public:
  /// With `tied`, the layer follows that layer's adapters (a weight tied to the embedding, e.g. an
  /// LM head): it owns no tensors and update_layer does nothing.
  TrainableTokensLayer(
      std::shared_ptr<nn::UnaryModule> base_layer,
      const std::string& adapter,
      std::shared_ptr<TrainableTokensLayer> tied = nullptr);
  std::string type_name() const override {
    return "trainable_tokens.TrainableTokensLayer";
  }
  /// Adds `adapter` for `token_indices`, initialised from the current rows (init_weights) or
  /// randomly.
  void update_layer(
      const std::string& adapter,
      std::vector<std::int64_t> token_indices,
      bool init_weights = true);
  /// The weight with the rows of `adapters` replaced (differentiable w.r.t. the deltas).
  Tensor get_merged_weights(const AdapterNames& adapters) const;
  /// Forward with the given adapters (the base layer's when disabled or none).
  Tensor forward_adapters(const Tensor& x, const AdapterNames& adapters);
  Tensor forward(const Tensor& x) override;

  void merge(
      bool safe_merge = false, const std::optional<AdapterNames>& adapter_names = {}) override;
  void unmerge() override;
  std::vector<std::string> all_adapter_names() const override;

  const std::vector<std::int64_t>& token_indices(const std::string& adapter) const;
  const std::shared_ptr<AdapterParameterDict>& trainable_tokens_delta() const {
    return tied_ ? tied_->trainable_tokens_delta() : trainable_tokens_delta_;
  }
  const std::shared_ptr<TrainableTokensLayer>& tied_adapter() const {
    return tied_;
  }

 protected:
  void merge_adapter(const std::string&, bool) override {}
  void unmerge_adapter(const std::string&) override {}
  void erase_adapter_settings(const std::string& name) override {
    token_indices_.erase(name);
  }

 private:
  void check_overlapping_tokens(const AdapterNames& adapters) const;
  BufferDict& originals() const {
    return tied_ ? tied_->originals() : *trainable_tokens_original_;
  }
  std::shared_ptr<TrainableTokensLayer> tied_;
  std::shared_ptr<AdapterParameterDict> trainable_tokens_delta_;
  std::shared_ptr<BufferDict> trainable_tokens_original_;
  std::map<std::string, std::vector<std::int64_t>> token_indices_;
};

}  // namespace peftcpp
