// TrainableTokensLayer (port of peft/tuners/trainable_tokens/layer.py @5d602fd).
#include "peft/tuners/trainable_tokens/layer.h"

#include <set>

#include "autograd/grad_mode.h"
#include "nn/functional.h"
#include "nn/layers/embedding.h"
#include "nn/layers/linear.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp {
namespace {

// base.index_copy(0, rows, values) with autograd to `values` (rows replaced, others kept).
Tensor replace_rows(
    const Tensor& base, const std::vector<std::int64_t>& rows, const Tensor& values) {
  const auto n = static_cast<std::int64_t>(rows.size());
  Tensor idx = tensor<std::int64_t>(rows, {n, 1}).to(base.device());
  idx = idx.expand({n, base.size(1)}).contiguous();
  return scatter(base, 0, idx, values.to(base.dtype()));
}

}  // namespace

TrainableTokensLayer::TrainableTokensLayer(
    std::shared_ptr<nn::UnaryModule> base_layer,
    const std::string& adapter,
    std::shared_ptr<TrainableTokensLayer> tied)
    : BaseTunerLayer(std::move(base_layer)), tied_(std::move(tied)) {
  if (!tied_) {
    trainable_tokens_delta_ = std::make_shared<AdapterParameterDict>();
    trainable_tokens_original_ = std::make_shared<BufferDict>();
    register_module("trainable_tokens_delta", trainable_tokens_delta_);
    register_module("trainable_tokens_original", trainable_tokens_original_);
  }
  adapter_layer_names_ = {"trainable_tokens_delta"};
  active_adapters_ = {adapter};
}

void TrainableTokensLayer::update_layer(
    const std::string& adapter, std::vector<std::int64_t> token_indices, bool init_weights) {
  if (tied_)
    return;  // follows the layer it is tied to
  const Tensor& weight = base_weight();
  PEFTCPP_CHECK(
      weight.dim() == 2,
      "[trainable_tokens] the wrapped layer (",
      get_base_layer()->type_name(),
      ") must have a 2-d weight");
  for (std::int64_t i : token_indices) {
    PEFTCPP_CHECK_INDEX(
        i >= 0 && i < weight.size(0),
        "[trainable_tokens] token index ",
        i,
        " is out of range for a weight with ",
        weight.size(0),
        " rows");
  }
  const auto n = static_cast<std::int64_t>(token_indices.size());
  Tensor values;
  {
    NoGradGuard no_grad;
    if (init_weights) {
      values = index_select(weight.detach(), 0, tensor<std::int64_t>(token_indices, {n}));
    } else {
      values = randn({n, weight.size(1)}, weight.dtype());
    }
  }
  token_indices_[adapter] = std::move(token_indices);
  trainable_tokens_delta_->insert(adapter, values.clone(), true);
  trainable_tokens_original_->insert(adapter, values.clone());
}

const std::vector<std::int64_t>& TrainableTokensLayer::token_indices(
    const std::string& adapter) const {
  if (tied_)
    return tied_->token_indices(adapter);
  auto it = token_indices_.find(adapter);
  PEFTCPP_CHECK(it != token_indices_.end(), "[trainable_tokens] no adapter '", adapter, "'");
  return it->second;
}

std::vector<std::string> TrainableTokensLayer::all_adapter_names() const {
  if (tied_)
    return tied_->all_adapter_names();
  std::set<std::string> s;
  for (const auto& [k, v] : token_indices_) s.insert(k);
  for (const std::string& k : trainable_tokens_delta_->keys()) s.insert(k);
  return {s.begin(), s.end()};
}

void TrainableTokensLayer::check_overlapping_tokens(const AdapterNames& adapters) const {
  AdapterNames all = merged_adapters_;
  for (const std::string& a : adapters) {
    if (std::find(all.begin(), all.end(), a) == all.end())
      all.push_back(a);
  }
  if (all.size() <= 1)
    return;
  std::set<std::int64_t> seen;
  for (const std::string& a : all) {
    for (std::int64_t i : token_indices(a)) {
      if (!seen.insert(i).second) {
        throw ValueError(detail::concat(
            "[trainable_tokens] token indices of adapter ",
            a,
            " are already defined and would result in undefined merging behavior. Only disjunct "
            "token indices are currently supported."));
      }
    }
  }
}

Tensor TrainableTokensLayer::get_merged_weights(const AdapterNames& adapters) const {
  Tensor w = base_weight();
  for (const std::string& a : adapters) {
    w = replace_rows(w, token_indices(a), trainable_tokens_delta()->at(a));
  }
  return w;
}

void TrainableTokensLayer::merge(
    bool safe_merge, const std::optional<AdapterNames>& adapter_names) {
  const AdapterNames names = adapters_to_merge(*this, adapter_names);
  if (names.empty())
    return;
  check_overlapping_tokens(names);
  NoGradGuard no_grad;
  Tensor merged = base_weight().detach();
  for (const std::string& a : names) {
    merged = replace_rows(merged, token_indices(a), trainable_tokens_delta()->at(a).detach());
    if (safe_merge)
      check_finite_merge(merged, a);
  }
  nn::set_data(base_weight(), merged);
  merged_adapters_.insert(merged_adapters_.end(), names.begin(), names.end());
}

void TrainableTokensLayer::unmerge() {
  if (!merged())
    return;
  NoGradGuard no_grad;
  while (!merged_adapters_.empty()) {
    const std::string a = merged_adapters_.back();
    merged_adapters_.pop_back();
    Tensor restored = replace_rows(base_weight().detach(), token_indices(a), originals().at(a));
    nn::set_data(base_weight(), restored);
  }
}

Tensor TrainableTokensLayer::forward_adapters(const Tensor& x, const AdapterNames& adapters) {
  if (disable_adapters_ || adapters.empty()) {
    if (merged())
      unmerge();
    return base_layer_->forward(x);
  }
  if (merged())
    return base_layer_->forward(x);
  check_overlapping_tokens(adapters);
  const Tensor w = get_merged_weights(adapters);
  nn::ModulePtr base = get_base_layer();
  if (auto* emb = dynamic_cast<nn::Embedding*>(base.get())) {
    return nn::functional::embedding(x, w, emb->padding_idx);
  }
  if (dynamic_cast<nn::Linear*>(base.get()) != nullptr)
    return nn::functional::linear(x, w);
  throw ValueError(detail::concat(
      "[trainable_tokens] TrainableTokensLayer wraps an unknown layer "
      "type (",
      base->type_name(),
      "); target an Embedding or Linear"));
}

Tensor TrainableTokensLayer::forward(const Tensor& x) {
  return forward_adapters(x, active_adapters_);
}

}  // namespace peftcpp
