// Auxiliary training wrappers: modules trained alongside a PEFT method (port of
// AuxiliaryTrainingWrapper, ModulesToSaveWrapper and TrainableTokensWrapper in
// peft/utils/other.py @5d602fd).
//
// ModulesToSaveWrapper keeps the original module (`original_module`, frozen) and one trainable
// copy per adapter (`modules_to_save.<adapter>`); forward uses the active adapter's copy.
// Saved files hold the copy under the module's own name (`classifier.weight`).
//
// TrainableTokensWrapper retrains selected rows of an embedding (`trainable_token_indices`):
// `token_adapter.trainable_tokens_delta.<adapter>` holds the new rows; saved as
// `<module>.token_adapter.trainable_tokens_delta`.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "nn/containers.h"
#include "nn/module.h"
#include "peft/tuners/base_tuner_layer.h"

namespace peftcpp {

class TrainableTokensLayer;

class AuxiliaryTrainingWrapper : public nn::UnaryModule {
 public:
  bool disable_adapters() const {
    return disable_adapters_;
  }
  const AdapterNames& active_adapters() const {
    return active_adapters_;
  }
  /// Adapters this wrapper trains along with.
  const std::set<std::string>& adapters() const {
    return adapters_;
  }
  /// The wrapped module of the base model.
  virtual std::shared_ptr<nn::UnaryModule> original_module() const = 0;

  Tensor forward(const Tensor& x) override;

  virtual void enable_adapters(bool enabled) {
    disable_adapters_ = !enabled;
  }
  /// PEFT's check_set_adapter: which of `names` this wrapper activates (nullopt = none); throws
  /// when several of them have entries here.
  virtual std::optional<std::string> check_set_adapter(const AdapterNames& names) const = 0;
  /// Activates `names` (at most one for these wrappers; empty = none).
  virtual void set_adapter(const AdapterNames& names, bool inference_mode = false) = 0;
  virtual void delete_adapter(const std::string& name, const AdapterNames& new_active) = 0;
  virtual void set_requires_grad(const AdapterNames& names, bool requires_grad) = 0;
  /// Adds `adapter` to the adapters of this wrapper (creates its trainable part).
  virtual void update(const std::string& adapter) = 0;
  /// {saved key (relative to this module): key in this module's state dict} for `adapter`.
  virtual std::vector<std::pair<std::string, std::string>> adapter_state_dict_load_map(
      const std::string& adapter) const = 0;
  /// The module that replaces this wrapper on unload (merging token deltas when asked).
  virtual std::shared_ptr<nn::UnaryModule> unload_and_optionally_merge_module(
      bool merge, bool safe_merge, const std::optional<AdapterNames>& adapter_names) = 0;

  void set_forward_adapter_names(const AdapterNames* names) {
    forward_adapter_names_ = names;
  }

 protected:
  AuxiliaryTrainingWrapper(const std::string& adapter) : active_adapters_{adapter} {}
  virtual Tensor forward_wrapped(const Tensor& x) = 0;
  virtual Tensor forward_wrapped_mixed_batch(const Tensor& x, const std::string& adapter) = 0;
  virtual Tensor forward_passthrough(const Tensor& x) = 0;
  /// The error-message name of the wrapper kind ("modules_to_save", "trainable_token_indices").
  virtual const char* kind() const = 0;
  void check_module() const;

  AdapterNames active_adapters_;
  std::set<std::string> adapters_;
  bool disable_adapters_ = false;
  const AdapterNames* forward_adapter_names_ = nullptr;
};

class ModulesToSaveWrapper : public AuxiliaryTrainingWrapper {
 public:
  ModulesToSaveWrapper(std::shared_ptr<nn::UnaryModule> module, const std::string& adapter);
  std::string type_name() const override {
    return "ModulesToSaveWrapper";
  }
  std::shared_ptr<nn::UnaryModule> original_module() const override {
    return original_module_;
  }
  /// The trainable copy of `adapter` (throws when absent).
  std::shared_ptr<nn::UnaryModule> copy_of(const std::string& adapter) const;
  const std::shared_ptr<nn::ModuleDict>& modules_to_save() const {
    return modules_to_save_;
  }

  void enable_adapters(bool enabled) override;
  std::optional<std::string> check_set_adapter(const AdapterNames& names) const override;
  void set_adapter(const AdapterNames& names, bool inference_mode = false) override;
  void delete_adapter(const std::string& name, const AdapterNames& new_active) override;
  void set_requires_grad(const AdapterNames& names, bool requires_grad) override;
  void update(const std::string& adapter) override;
  std::vector<std::pair<std::string, std::string>> adapter_state_dict_load_map(
      const std::string& adapter) const override;
  std::shared_ptr<nn::UnaryModule> unload_and_optionally_merge_module(
      bool merge, bool safe_merge, const std::optional<AdapterNames>& adapter_names) override;

 protected:
  Tensor forward_wrapped(const Tensor& x) override;
  Tensor forward_wrapped_mixed_batch(const Tensor& x, const std::string& adapter) override;
  Tensor forward_passthrough(const Tensor& x) override;
  const char* kind() const override {
    return "modules_to_save";
  }

 private:
  std::shared_ptr<nn::UnaryModule> original_module_;
  std::shared_ptr<nn::ModuleDict> modules_to_save_;
};

class TrainableTokensWrapper : public AuxiliaryTrainingWrapper {
 public:
  /// With `tied`, the wrapper follows the token adapter of the (input) embedding its weight is
  /// tied to, stores nothing itself and saves nothing (PEFT's tied_adapter).
  TrainableTokensWrapper(
      std::shared_ptr<nn::UnaryModule> module,
      const std::string& adapter,
      std::vector<std::int64_t> token_indices,
      std::shared_ptr<TrainableTokensLayer> tied = nullptr);
  std::string type_name() const override {
    return "TrainableTokensWrapper";
  }
  std::shared_ptr<nn::UnaryModule> original_module() const override;
  const std::shared_ptr<TrainableTokensLayer>& token_adapter() const {
    return token_adapter_;
  }
  /// Adds `adapter` with its own token indices.
  void update_tokens(const std::string& adapter, std::vector<std::int64_t> token_indices);

  void enable_adapters(bool enabled) override;
  std::optional<std::string> check_set_adapter(const AdapterNames& names) const override;
  void set_adapter(const AdapterNames& names, bool inference_mode = false) override;
  void delete_adapter(const std::string& name, const AdapterNames& new_active) override;
  void set_requires_grad(const AdapterNames& names, bool requires_grad) override;
  void update(const std::string& adapter) override;
  std::vector<std::pair<std::string, std::string>> adapter_state_dict_load_map(
      const std::string& adapter) const override;
  std::shared_ptr<nn::UnaryModule> unload_and_optionally_merge_module(
      bool merge, bool safe_merge, const std::optional<AdapterNames>& adapter_names) override;

 protected:
  Tensor forward_wrapped(const Tensor& x) override;
  Tensor forward_wrapped_mixed_batch(const Tensor& x, const std::string& adapter) override;
  Tensor forward_passthrough(const Tensor& x) override;
  const char* kind() const override {
    return "trainable_token_indices";
  }

 private:
  std::shared_ptr<TrainableTokensLayer> token_adapter_;
};

/// A deep copy of `module` with its own (cloned) tensors, for the module types of nn/ (Linear,
/// Conv1D, Embedding, Conv1d, Conv2d, LayerNorm, RMSNorm, Identity, activations). Throws
/// ValueError naming the type for others (nn::Module has no generic clone).
std::shared_ptr<nn::UnaryModule> clone_module(const nn::Module& module);

}  // namespace peftcpp
