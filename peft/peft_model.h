// PeftModel: a base model with PEFT adapters (port of peft/peft_model.py @5d602fd, split into
// peft_model.cpp (core), peft_model_save.cpp (save / load), peft_model_adapters.cpp (adapter
// management, scaling, status) and peft_model_tasks.cpp (the task variants)).
//
// The base model is either a models::PreTrainedModel (forward takes ModelInputs) or any
// nn::UnaryModule (forward takes one tensor, for custom models). Parameter names are PEFT's:
// the tuner is the child `base_model`, the adapted model its child `model`, so LoRA weights read
// `base_model.model.<path>.lora_A.<adapter>.weight`.
//
//   auto base = models::from_pretrained("tiny-llama");
//   LoraConfig cfg;  cfg.r = 8;  cfg.target_modules = {"q_proj", "v_proj"};
//   auto model = get_peft_model(base, cfg.clone());          // peft/mapping.h
//   model->print_trainable_parameters();
//   ... train ...
//   model->save_pretrained("out");                           // adapter_config.json + weights
//   auto again = PeftModel::from_pretrained(models::from_pretrained("tiny-llama"), "out");
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "models/generation.h"
#include "models/model.h"
#include "nn/module.h"
#include "peft/config.h"
#include "peft/tuners/base_tuner.h"
#include "peft/utils/save_and_load.h"

namespace peftcpp {

/// true / false / "irregular" (layers disagree), as PEFT's status dataclasses report.
enum class Tristate { False, True, Irregular };

/// PEFT's TunerLayerStatus (devices and quantization backend left out).
struct TunerLayerStatus {
  std::string name;
  std::string module_type;
  bool enabled = true;
  AdapterNames active_adapters;
  AdapterNames merged_adapters;
  std::map<std::string, Tristate> requires_grad;
  std::vector<std::string> available_adapters;
};

/// PEFT's TunerModelStatus; nullopt lists mean "irregular".
struct TunerModelStatus {
  std::string base_model_type;
  std::string adapter_model_type;
  std::map<std::string, std::string> peft_types;
  std::int64_t trainable_params = 0;
  std::int64_t total_params = 0;
  std::int64_t num_adapter_layers = 0;
  Tristate enabled = Tristate::True;
  std::optional<AdapterNames> active_adapters;
  std::optional<AdapterNames> merged_adapters;
  std::map<std::string, Tristate> requires_grad;
  std::vector<std::string> available_adapters;
};

class PeftModel : public nn::Module {
 public:
  /// Wraps `model` and adds `config` as adapter `adapter` (PEFT's PeftModel.__init__). Throws
  /// ValueError when the method has no tuner. Prompt learning methods keep the model itself as
  /// `base_model` and their encoders as `prompt_encoder` (peft/tuners/prompt_learning/tuner.h).
  PeftModel(
      nn::ModulePtr model,
      std::unique_ptr<PeftConfig> config,
      const std::string& adapter = "default");
  std::string type_name() const override {
    return "PeftModel";
  }

  // ---- forward ---------------------------------------------------------------------------------
  /// Transformers base models. Prompt learning inserts the active adapter's virtual tokens as
  /// the task class does (the plain PeftModel runs the base model unchanged, as PEFT).
  virtual models::ModelOutput forward(const models::ModelInputs& inputs);
  /// Custom (one-tensor) base models.
  Tensor forward(const Tensor& x);
  /// Mixed-adapter batch: sample i uses adapter `adapter_names[i]` ("__base__" = none). Eval mode
  /// only; not with merged adapters or DoRA.
  models::ModelOutput forward(const models::ModelInputs& inputs, const AdapterNames& adapter_names);
  Tensor forward(const Tensor& x, const AdapterNames& adapter_names);
  /// The task loss plus the tuner's regularisation (AdaLoRA's orth_reg_weight * orthogonal
  /// regularisation; unchanged for other methods). PEFT adds it inside forward when labels are
  /// given; here the caller computes the task loss and passes it through.
  Tensor add_regularization(const Tensor& loss) const {
    return tuner_->add_regularization(loss);
  }

  /// Generation (PEFT's generate) from left-padded `input_ids` [B, T] (models/generation.h):
  /// adapter layers act through the base model; prompt learning puts its virtual tokens in place
  /// (prompt tuning / P-tuning: embeddings before the prompt's, or before the encoder input's;
  /// prefix tuning: the decoder's past keys/values). Not with adapters disabled.
  models::GenerateOutput generate(
      const Tensor& input_ids,
      const Tensor& attention_mask,
      const models::GenerationConfig& config);

  /// The task of this PeftModel class (PeftModelForCausalLM: CAUSAL_LM, ...); nullopt for the
  /// plain PeftModel. Prompt learning picks its forward by it.
  virtual std::optional<TaskType> task_type() const {
    return std::nullopt;
  }

  // ---- access ----------------------------------------------------------------------------------
  BaseTuner& base_model() const {
    return *tuner_;
  }
  /// The adapted model (PEFT's get_base_model).
  nn::ModulePtr get_base_model() const {
    return tuner_->model();
  }
  PeftConfig& peft_config(const std::string& adapter) const {
    return tuner_->peft_config(adapter);
  }
  const PeftConfig& active_peft_config() const {
    return tuner_->peft_config(active_adapter_);
  }
  const std::string& active_adapter() const {
    return active_adapter_;
  }
  const AdapterNames& active_adapters() const {
    return tuner_->active_adapters();
  }
  PeftType peft_type() const {
    return peft_type_;
  }

  // ---- files -----------------------------------------------------------------------------------
  /// Writes adapter_config.json + adapter_model.safetensors for each selected adapter (all by
  /// default): "default" into `dir`, others into `dir/<name>`. Files are written atomically and,
  /// for an adapter loaded from PEFT files, are byte-identical to them.
  void save_pretrained(
      const std::filesystem::path& dir,
      const std::optional<std::vector<std::string>>& selected_adapters = {},
      SaveEmbeddingLayers save_embedding_layers = SaveEmbeddingLayers::Auto) const;
  /// Loads the adapter in `dir` onto `model` (the task class follows the config's task_type).
  /// Not trainable unless `is_trainable` (then the model stays in training mode). On any error
  /// (e.g. a tensor whose shape does not match, named with both shapes) the base model gets its
  /// own layers back.
  static std::shared_ptr<PeftModel> from_pretrained(
      nn::ModulePtr model,
      const std::filesystem::path& dir,
      const std::string& adapter = "default",
      bool is_trainable = false);
  /// Loads another adapter from `dir` (not made active). On failure the adapter is removed again.
  nn::LoadResult load_adapter(
      const std::filesystem::path& dir, const std::string& adapter, bool is_trainable = false);

  // ---- adapters (peft_model_adapters.cpp) -------------------------------------------------------
  /// Adds a new (untrained, not active) adapter; its method must be this model's.
  virtual void add_adapter(const std::string& adapter, std::unique_ptr<PeftConfig> config);
  /// Activates one adapter (trainable unless inference_mode).
  void set_adapter(const std::string& adapter, bool inference_mode = false);
  /// Activates several adapters at once (their outputs add up; BaseTuner.set_adapter).
  void set_adapters(const AdapterNames& adapters, bool inference_mode = false);
  void delete_adapter(const std::string& adapter);
  void set_requires_grad(const AdapterNames& adapters, bool requires_grad = true);

  /// RAII: adapters are disabled (base model output) while the scope lives.
  class DisableAdapterScope {
   public:
    explicit DisableAdapterScope(PeftModel& model);
    ~DisableAdapterScope();
    DisableAdapterScope(const DisableAdapterScope&) = delete;
    DisableAdapterScope& operator=(const DisableAdapterScope&) = delete;

   private:
    PeftModel& model_;
    bool reenable_;
  };
  [[nodiscard]] DisableAdapterScope disable_adapter() {
    return DisableAdapterScope(*this);
  }

  void merge_adapter(
      const std::optional<AdapterNames>& adapter_names = {}, bool safe_merge = false);
  void unmerge_adapter();
  /// Merges the adapters into the base weights and returns the base model without PEFT layers.
  nn::ModulePtr merge_and_unload(
      bool safe_merge = false, const std::optional<AdapterNames>& adapter_names = {});
  /// Returns the base model without PEFT layers (adapters dropped, nothing merged).
  nn::ModulePtr unload();

  /// (trainable, all) parameter counts (PEFT's get_nb_trainable_parameters).
  std::pair<std::int64_t, std::int64_t> get_nb_trainable_parameters() const;
  /// "trainable params: 1,234 || all params: 5,678 || trainable%: 21.7330"
  std::string trainable_parameters_text() const;
  void print_trainable_parameters() const;

  /// LoRA: scaling of `adapter` = scale * lora_alpha / r in every layer (PEFT's set_scale).
  void set_scale(const std::string& adapter, double scale);
  /// RAII: every LoRA scaling multiplied by `multiplier` while the scope lives (PEFT's
  /// helpers.rescale_adapter_scale).
  class RescaleScope {
   public:
    RescaleScope(PeftModel& model, double multiplier);
    ~RescaleScope();
    RescaleScope(const RescaleScope&) = delete;
    RescaleScope& operator=(const RescaleScope&) = delete;

   private:
    std::vector<std::pair<nn::ModulePtr, std::map<std::string, double>>> saved_;
  };
  [[nodiscard]] RescaleScope rescale_adapter_scale(double multiplier) {
    return RescaleScope(*this, multiplier);
  }

  std::vector<TunerLayerStatus> get_layer_status() const;
  TunerModelStatus get_model_status() const;

 protected:
  /// Runs `fn` with the per-sample adapter names set on every tuner layer and wrapper.
  template <class Fn>
  auto with_adapter_names(const AdapterNames& names, Fn&& fn);
  void set_forward_adapter_names(const AdapterNames* names);

  std::shared_ptr<BaseTuner> tuner_;
  std::string active_adapter_;
  PeftType peft_type_;
  bool adapters_disabled_ = false;
};

}  // namespace peftcpp
