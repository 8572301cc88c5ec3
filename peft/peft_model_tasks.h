// The task variants of PeftModel (port of PeftModelForCausalLM, ...ForSequenceClassification,
// ...ForTokenClassification, ...ForQuestionAnswering, ...ForFeatureExtraction and
// ...ForSeq2SeqLM in peft/peft_model.py @5d602fd). They share PeftModel's forward, which for
// prompt learning follows task_type(); classification and QA variants make their head trainable
// by adding it to modules_to_save, as PEFT does.
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
  std::optional<TaskType> task_type() const override {
    return TaskType::CAUSAL_LM;
  }
};

class PeftModelForSeq2SeqLM : public PeftModel {
 public:
  using PeftModel::PeftModel;
  std::string type_name() const override {
    return "PeftModelForSeq2SeqLM";
  }
  std::optional<TaskType> task_type() const override {
    return TaskType::SEQ_2_SEQ_LM;
  }
};

class PeftModelForFeatureExtraction : public PeftModel {
 public:
  using PeftModel::PeftModel;
  std::string type_name() const override {
    return "PeftModelForFeatureExtraction";
  }
  std::optional<TaskType> task_type() const override {
    return TaskType::FEATURE_EXTRACTION;
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
  std::optional<TaskType> task_type() const override {
    return TaskType::SEQ_CLS;
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
  std::optional<TaskType> task_type() const override {
    return TaskType::TOKEN_CLS;
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
  std::optional<TaskType> task_type() const override {
    return TaskType::QUESTION_ANS;
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
