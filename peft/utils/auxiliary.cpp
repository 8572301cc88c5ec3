// AuxiliaryTrainingWrapper, ModulesToSaveWrapper, TrainableTokensWrapper (port of
// peft/utils/other.py @5d602fd) and clone_module (PEFT's copy.deepcopy of a module).
#include "peft/utils/auxiliary.h"

#include <map>

#include "autograd/grad_mode.h"
#include "nn/layers/conv.h"
#include "nn/layers/embedding.h"
#include "nn/layers/linear.h"
#include "nn/layers/norm.h"
#include "peft/tuners/trainable_tokens/layer.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp {
namespace {

void set_module_requires_grad(nn::Module& m, bool on) {
  for (Tensor& p : m.parameters()) {
    if (p.is_leaf() && is_floating_point(p.dtype()))
      p.requires_grad_(on);
  }
}

// Copies every tensor of `src` into the same-named slot of `dst` (cloned, requires_grad kept).
void copy_tensors(const nn::Module& src, nn::Module& dst) {
  NoGradGuard no_grad;
  for (const auto& [name, t] : src.named_parameters("", false)) {
    Tensor* slot = dst.find_parameter(name);
    PEFTCPP_CHECK(slot != nullptr, "[peft] clone_module: no parameter '", name, "' in the copy");
    Tensor c = t.detach().clone();
    c.requires_grad_(t.requires_grad());
    *slot = c;
  }
  for (const auto& [name, t] : src.named_buffers("", false)) {
    if (Tensor* slot = dst.find_buffer(name))
      *slot = t.detach().clone();
  }
}

}  // namespace

std::shared_ptr<nn::UnaryModule> clone_module(const nn::Module& module) {
  // A private generator so that building the copy does not advance the default RNG stream.
  Generator gen(0);
  nn::FactoryOptions fo;
  fo.generator = &gen;
  std::shared_ptr<nn::UnaryModule> out;
  if (const auto* l = dynamic_cast<const nn::Linear*>(&module)) {
    out = std::make_shared<nn::Linear>(l->in_features, l->out_features, l->bias.defined(), fo);
  } else if (const auto* c = dynamic_cast<const nn::Conv1D*>(&module)) {
    out = std::make_shared<nn::Conv1D>(c->nf, c->nx, fo);
  } else if (const auto* e = dynamic_cast<const nn::Embedding*>(&module)) {
    out = std::make_shared<nn::Embedding>(e->num_embeddings, e->embedding_dim, e->padding_idx, fo);
  } else if (const auto* c1 = dynamic_cast<const nn::Conv1d*>(&module)) {
    out = std::make_shared<nn::Conv1d>(
        c1->in_channels, c1->out_channels, c1->kernel_size, c1->options, fo);
  } else if (const auto* c2 = dynamic_cast<const nn::Conv2d*>(&module)) {
    out = std::make_shared<nn::Conv2d>(
        c2->in_channels, c2->out_channels, c2->kernel_size, c2->options, fo);
  } else if (const auto* ln = dynamic_cast<const nn::LayerNorm*>(&module)) {
    out = std::make_shared<nn::LayerNorm>(
        ln->normalized_shape, ln->eps, ln->elementwise_affine, ln->bias.defined(), fo);
  } else if (const auto* rn = dynamic_cast<const nn::RMSNorm*>(&module)) {
    out = std::make_shared<nn::RMSNorm>(rn->weight.size(0), rn->eps, fo);
  } else if (dynamic_cast<const nn::Identity*>(&module) != nullptr) {
    out = std::make_shared<nn::Identity>();
  } else {
    throw ValueError(detail::concat(
        "[peft] modules_to_save: cannot copy a module of type ",
        module.type_name(),
        " (supported: Linear, Conv1D, Embedding, Conv1d, Conv2d, LayerNorm, RMSNorm, Identity)"));
  }
  copy_tensors(module, *out);
  out->train(module.is_training());
  return out;
}

// ---- AuxiliaryTrainingWrapper -----------------------------------------------------------------

void AuxiliaryTrainingWrapper::check_module() const {
  const auto orig = original_module();
  if (dynamic_cast<const nn::ModuleDict*>(orig.get()) != nullptr ||
      dynamic_cast<const nn::ModuleList*>(orig.get()) != nullptr ||
      dynamic_cast<const nn::ParameterDict*>(orig.get()) != nullptr ||
      dynamic_cast<const BaseTunerLayer*>(orig.get()) != nullptr) {
    throw ValueError(detail::concat(
        "[peft] ", kind(), " cannot be applied to modules of type ", orig->type_name()));
  }
}

Tensor AuxiliaryTrainingWrapper::forward(const Tensor& x) {
  bool inactive = disable_adapters_;
  for (const std::string& a : active_adapters_) inactive = inactive || !adapters_.count(a);
  if (inactive)
    return forward_passthrough(x);
  if (forward_adapter_names_ == nullptr)
    return forward_wrapped(x);

  const AdapterNames& names = *forward_adapter_names_;
  PEFTCPP_CHECK(
      static_cast<std::int64_t>(names.size()) == x.size(0),
      "[peft] length of adapter_names should be the same as the number of inputs, but "
      "got ",
      names.size(),
      " and ",
      x.size(0),
      " respectively");
  const auto orig = original_module();
  PEFTCPP_CHECK(
      dynamic_cast<nn::Linear*>(orig.get()) != nullptr ||
          dynamic_cast<nn::Embedding*>(orig.get()) != nullptr ||
          dynamic_cast<nn::Conv1d*>(orig.get()) != nullptr ||
          dynamic_cast<nn::Conv2d*>(orig.get()) != nullptr,
      "[peft] mixed batching is only supported for the following modules: Linear, "
      "Embedding, Conv1d, Conv2d (got ",
      orig->type_name(),
      ")");
  std::vector<std::string> unique;
  for (const std::string& n : names) {
    if (std::find(unique.begin(), unique.end(), n) == unique.end())
      unique.push_back(n);
  }
  TensorList rows(names.size());
  for (const std::string& a : unique) {
    std::vector<std::int64_t> idx;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i] == a)
        idx.push_back(static_cast<std::int64_t>(i));
    }
    const Tensor sub =
        index_select(x, 0, tensor<std::int64_t>(idx, {static_cast<std::int64_t>(idx.size())}));
    const Tensor out = a == "__base__" ? orig->forward(sub) : forward_wrapped_mixed_batch(sub, a);
    for (std::size_t j = 0; j < idx.size(); ++j)
      rows[static_cast<std::size_t>(idx[j])] = out.select(0, static_cast<std::int64_t>(j));
  }
  return stack(rows, 0);
}

// ---- ModulesToSaveWrapper ---------------------------------------------------------------------

ModulesToSaveWrapper::ModulesToSaveWrapper(
    std::shared_ptr<nn::UnaryModule> module, const std::string& adapter)
    : AuxiliaryTrainingWrapper(adapter),
      original_module_(std::move(module)),
      modules_to_save_(std::make_shared<nn::ModuleDict>()) {
  register_module("original_module", &original_module_);
  register_module("modules_to_save", modules_to_save_);
  update(adapter);
  check_module();
}

std::shared_ptr<nn::UnaryModule> ModulesToSaveWrapper::copy_of(const std::string& adapter) const {
  return modules_to_save_->at_as<nn::UnaryModule>(adapter);
}

void ModulesToSaveWrapper::update(const std::string& adapter) {
  adapters_.insert(adapter);
  if (!modules_to_save_->contains(adapter))
    modules_to_save_->insert(adapter, clone_module(*original_module_));
  set_module_requires_grad(*original_module_, false);
  if (active_adapters_.size() == 1 && active_adapters_[0] == adapter) {
    set_module_requires_grad(*modules_to_save_->at(adapter), true);
  }
}

Tensor ModulesToSaveWrapper::forward_wrapped(const Tensor& x) {
  if (active_adapters_.empty())
    return forward_passthrough(x);
  return copy_of(active_adapters_.front())->forward(x);
}

Tensor ModulesToSaveWrapper::forward_wrapped_mixed_batch(
    const Tensor& x, const std::string& adapter) {
  return copy_of(adapter)->forward(x);
}

Tensor ModulesToSaveWrapper::forward_passthrough(const Tensor& x) {
  return original_module_->forward(x);
}

void ModulesToSaveWrapper::enable_adapters(bool enabled) {
  AuxiliaryTrainingWrapper::enable_adapters(enabled);
  if (enabled) {
    for (const std::string& a : active_adapters_)
      set_module_requires_grad(*modules_to_save_->at(a), true);
  } else {
    for (const std::string& k : modules_to_save_->keys())
      set_module_requires_grad(*modules_to_save_->at(k), false);
  }
}

std::optional<std::string> ModulesToSaveWrapper::check_set_adapter(
    const AdapterNames& names) const {
  PEFTCPP_CHECK(!names.empty(), "[peft] please specify at least one adapter to set");
  std::vector<std::string> here;
  for (const std::string& n : names) {
    if (modules_to_save_->contains(n))
      here.push_back(n);
  }
  PEFTCPP_CHECK(
      here.size() <= 1,
      "[peft] only one adapter can be set at a time for ",
      "modules_to_save, got ",
      here.size());
  if (here.empty())
    return std::nullopt;
  return here.front();
}

void ModulesToSaveWrapper::set_adapter(const AdapterNames& names, bool inference_mode) {
  PEFTCPP_CHECK(
      names.size() <= 1,
      "[peft] attempted to set multiple adapters at once for "
      "modules_to_save");
  for (const std::string& a : active_adapters_) {
    if (modules_to_save_->contains(a))
      set_module_requires_grad(*modules_to_save_->at(a), false);
  }
  if (names.empty()) {
    active_adapters_.clear();
    return;
  }
  PEFTCPP_CHECK(
      adapters_.count(names[0]) != 0,
      "[peft] adapter ",
      names[0],
      " not found in this modules_to_save wrapper");
  set_module_requires_grad(*modules_to_save_->at(names[0]), !inference_mode);
  active_adapters_ = names;
}

void ModulesToSaveWrapper::delete_adapter(const std::string& name, const AdapterNames& new_active) {
  if (!modules_to_save_->contains(name))
    return;
  PEFTCPP_CHECK(
      new_active.size() <= 1,
      "[peft] attempted to set multiple adapters at once for "
      "ModulesToSaveWrapper");
  adapters_.erase(name);
  if (new_active.empty() || !modules_to_save_->contains(new_active[0])) {
    modules_to_save_->pop(name);
    active_adapters_.clear();
    return;
  }
  if (active_adapters_.empty() || new_active[0] != active_adapters_[0])
    set_adapter({new_active[0]});
  modules_to_save_->pop(name);
}

void ModulesToSaveWrapper::set_requires_grad(const AdapterNames& names, bool requires_grad) {
  for (const std::string& a : names) {
    if (modules_to_save_->contains(a))
      set_module_requires_grad(*modules_to_save_->at(a), requires_grad);
  }
}

std::vector<std::pair<std::string, std::string>> ModulesToSaveWrapper::adapter_state_dict_load_map(
    const std::string& adapter) const {
  std::vector<std::pair<std::string, std::string>> out;
  if (!adapters_.count(adapter))
    return out;
  for (const auto& [k, v] : modules_to_save_->at(adapter)->state_dict()) {
    out.emplace_back(k, "modules_to_save." + adapter + "." + k);
  }
  return out;
}

std::shared_ptr<nn::UnaryModule> ModulesToSaveWrapper::unload_and_optionally_merge_module(
    bool merge, bool safe_merge, const std::optional<AdapterNames>& adapter_names) {
  if (active_adapters_.empty())
    return original_module_;
  std::shared_ptr<nn::UnaryModule> m = copy_of(active_adapters_.front());
  if (auto* layer = dynamic_cast<BaseTunerLayer*>(m.get())) {
    if (merge)
      layer->merge(safe_merge, adapter_names);
    m = std::dynamic_pointer_cast<nn::UnaryModule>(layer->get_base_layer());
  }
  return m;
}

// ---- TrainableTokensWrapper -------------------------------------------------------------------

TrainableTokensWrapper::TrainableTokensWrapper(
    std::shared_ptr<nn::UnaryModule> module,
    const std::string& adapter,
    std::vector<std::int64_t> token_indices,
    std::shared_ptr<TrainableTokensLayer> tied)
    : AuxiliaryTrainingWrapper(adapter),
      token_adapter_(
          std::make_shared<TrainableTokensLayer>(std::move(module), adapter, std::move(tied))) {
  register_module("token_adapter", token_adapter_);
  update_tokens(adapter, std::move(token_indices));
  check_module();
}

std::shared_ptr<nn::UnaryModule> TrainableTokensWrapper::original_module() const {
  return token_adapter_->base_layer();
}

void TrainableTokensWrapper::update_tokens(
    const std::string& adapter, std::vector<std::int64_t> token_indices) {
  if (!adapters_.count(adapter))
    token_adapter_->update_layer(adapter, std::move(token_indices));
  adapters_.insert(adapter);
}

void TrainableTokensWrapper::update(const std::string& adapter) {
  adapters_.insert(adapter);
}

Tensor TrainableTokensWrapper::forward_wrapped(const Tensor& x) {
  if (active_adapters_.empty())
    return forward_passthrough(x);
  return token_adapter_->forward(x);
}

Tensor TrainableTokensWrapper::forward_wrapped_mixed_batch(
    const Tensor& x, const std::string& adapter) {
  return token_adapter_->forward_adapters(x, {adapter});
}

Tensor TrainableTokensWrapper::forward_passthrough(const Tensor& x) {
  return token_adapter_->forward(x);
}

void TrainableTokensWrapper::enable_adapters(bool enabled) {
  AuxiliaryTrainingWrapper::enable_adapters(enabled);
  token_adapter_->enable_adapters(enabled);
}

std::optional<std::string> TrainableTokensWrapper::check_set_adapter(
    const AdapterNames& names) const {
  PEFTCPP_CHECK(!names.empty(), "[peft] please specify at least one adapter to set");
  std::vector<std::string> here;
  for (const std::string& n : names) {
    if (token_adapter_->trainable_tokens_delta()->contains(n))
      here.push_back(n);
  }
  PEFTCPP_CHECK(
      here.size() <= 1,
      "[peft] only one adapter can be set at a time for "
      "trainable_token_indices, got ",
      here.size());
  if (here.empty())
    return std::nullopt;
  return here.front();
}

void TrainableTokensWrapper::set_adapter(const AdapterNames& names, bool inference_mode) {
  for (const std::string& n : names) {
    PEFTCPP_CHECK(
        adapters_.count(n) != 0,
        "[peft] adapter ",
        n,
        " not found in this "
        "trainable_token_indices wrapper");
  }
  active_adapters_ = names;
  token_adapter_->set_adapter(names, inference_mode);
}

void TrainableTokensWrapper::delete_adapter(
    const std::string& name, const AdapterNames& new_active) {
  token_adapter_->delete_adapter(name);
  PEFTCPP_CHECK(
      new_active.size() <= 1,
      "[peft] attempted to set multiple adapters at once for "
      "TrainableTokensWrapper");
  adapters_.erase(name);
  if (new_active.empty() || !token_adapter_->trainable_tokens_delta()->contains(new_active[0])) {
    active_adapters_.clear();
    return;
  }
  set_adapter({new_active[0]});
}

void TrainableTokensWrapper::set_requires_grad(const AdapterNames& names, bool requires_grad) {
  token_adapter_->set_requires_grad(names, requires_grad);
}

std::vector<std::pair<std::string, std::string>>
TrainableTokensWrapper::adapter_state_dict_load_map(const std::string& adapter) const {
  if (!adapters_.count(adapter) || token_adapter_->tied_adapter())
    return {};  // a tied wrapper's rows are saved with the embedding it follows
  return {
      {"token_adapter.trainable_tokens_delta", "token_adapter.trainable_tokens_delta." + adapter}};
}

std::shared_ptr<nn::UnaryModule> TrainableTokensWrapper::unload_and_optionally_merge_module(
    bool merge, bool safe_merge, const std::optional<AdapterNames>& adapter_names) {
  if (merge)
    token_adapter_->merge(safe_merge, adapter_names);
  return std::dynamic_pointer_cast<nn::UnaryModule>(token_adapter_->get_base_layer());
}

}  // namespace peftcpp
