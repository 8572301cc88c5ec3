// The task variants of PeftModel (port of PeftModelForCausalLM, ...ForSequenceClassification,
// ...ForTokenClassification, ...ForQuestionAnswering, ...ForFeatureExtraction and
// ...ForSeq2SeqLM in peft/peft_model.py @5d602fd). For the methods implemented here they share
// PeftModel's forward; classification and QA variants make their head trainable by adding it to
// modules_to_save, as PEFT does.
#pragma once

#include <memory>
#include <string>

#include "peft/peft_model.h"

namespace peftcpp {

class PeftModelForCausalLM : public PeftModel {
 public:
  using PeftModel::PeftModel;
  std::string type_name() const override {
    return "PeftModelForCausalLM";
  }
};

class PeftModelForSeq2SeqLM : public PeftModel {
 public:
  using PeftModel::PeftModel;
  std::string type_name() const override {
    return "PeftModelForSeq2SeqLM";
  }
};

class PeftModelForFeatureExtraction : public PeftModel {
 public:
  using PeftModel::PeftModel;
  std::string type_name() const override {
    return "PeftModelForFeatureExtraction";
  }
};

/// Adds `heads` to the config's modules_to_save (PEFT extends the list; names already listed are
/// not repeated here, so a reloaded config saves back unchanged).
std::unique_ptr<PeftConfig> with_heads_to_save(
    std::unique_ptr<PeftConfig> config, const std::vector<std::string>& heads);

/// Heads "classifier" / "score" are trained fully (modules_to_save).
class PeftModelForSequenceClassification : public PeftModel {
 public:
  PeftModelForSequenceClassification(
      nn::ModulePtr model,
      std::unique_ptr<PeftConfig> config,
      const std::string& adapter = "default");
  std::string type_name() const override {
    return "PeftModelForSequenceClassification";
  }
  void add_adapter(const std::string& adapter, std::unique_ptr<PeftConfig> config) override;
};

class PeftModelForTokenClassification : public PeftModel {
 public:
  PeftModelForTokenClassification(
      nn::ModulePtr model,
      std::unique_ptr<PeftConfig> config,
      const std::string& adapter = "default");
  std::string type_name() const override {
    return "PeftModelForTokenClassification";
  }
  void add_adapter(const std::string& adapter, std::unique_ptr<PeftConfig> config) override;
};

/// Head "qa_outputs" is trained fully.
class PeftModelForQuestionAnswering : public PeftModel {
 public:
  PeftModelForQuestionAnswering(
      nn::ModulePtr model,
      std::unique_ptr<PeftConfig> config,
      const std::string& adapter = "default");
  std::string type_name() const override {
    return "PeftModelForQuestionAnswering";
  }
  void add_adapter(const std::string& adapter, std::unique_ptr<PeftConfig> config) override;
};

/// The PeftModel class for `config.task_type` (PeftModel itself when none), PEFT's
/// MODEL_TYPE_TO_PEFT_MODEL_MAPPING.
std::shared_ptr<PeftModel> make_peft_model(
    nn::ModulePtr model,
    std::unique_ptr<PeftConfig> config,
    const std::string& adapter = "default");

}  // namespace peftcpp
