// Task variants of PeftModel (port of PeftModelFor* in peft/peft_model.py and
// MODEL_TYPE_TO_PEFT_MODEL_MAPPING in peft/mapping.py @5d602fd).
#include "peft/peft_model_tasks.h"

#include <algorithm>

#include "peft/utils/trainable_modules.h"

namespace peftcpp {
namespace {

const std::vector<std::string> kClassifierHeads = {"classifier", "score"};
const std::vector<std::string> kQaHeads = {"qa_outputs"};

void train_heads(PeftModel& model, const std::string& adapter) {
  PeftConfig& cfg = model.peft_config(adapter);
  const TargetFields f = model.base_model().target_fields(cfg);
  if (f.modules_to_save == nullptr || !f.modules_to_save->has_value())
    return;
  // PEFT walks the PeftModel itself; the adapted model has the same modules (and, unlike the
  // PeftModel under construction, can already hand out shared pointers to itself).
  set_modules_to_save(
      *model.get_base_model(), adapter, **f.modules_to_save, cfg.inference_mode, true);
}

}  // namespace

std::unique_ptr<PeftConfig> with_heads_to_save(
    std::unique_ptr<PeftConfig> config, const std::vector<std::string>& heads) {
  if (auto* pl = dynamic_cast<PromptLearningConfig*>(config.get())) {
    // typed field: edited in place (keeps runtime-only members such as a tokenizer)
    std::vector<std::string> list = pl->modules_to_save.value_or(std::vector<std::string>{});
    for (const std::string& h : heads) {
      if (std::find(list.begin(), list.end(), h) == list.end())
        list.push_back(h);
    }
    pl->modules_to_save = list;
    return config;
  }
  Json j = config->to_json();
  if (!j.is_object() || j.find("modules_to_save") == nullptr)
    return config;
  Json list = j.at("modules_to_save").is_array() ? j.at("modules_to_save") : Json::array();
  bool changed = false;
  for (const std::string& h : heads) {
    bool present = false;
    for (const Json& e : list.as_array())
      present = present || (e.is_string() && e.as_string() == h);
    if (!present) {
      list.as_array().push_back(Json(h));
      changed = true;
    }
  }
  if (!changed)
    return config;
  j.as_object().set("modules_to_save", list);
  return peft_config_from_json(j, config->source());
}

PeftModelForSequenceClassification::PeftModelForSequenceClassification(
    nn::ModulePtr model, std::unique_ptr<PeftConfig> config, const std::string& adapter)
    : PeftModel(
          std::move(model), with_heads_to_save(std::move(config), kClassifierHeads), adapter) {
  train_heads(*this, adapter);
}

void PeftModelForSequenceClassification::add_adapter(
    const std::string& adapter, std::unique_ptr<PeftConfig> config) {
  PeftModel::add_adapter(adapter, with_heads_to_save(std::move(config), kClassifierHeads));
}

PeftModelForTokenClassification::PeftModelForTokenClassification(
    nn::ModulePtr model, std::unique_ptr<PeftConfig> config, const std::string& adapter)
    : PeftModel(
          std::move(model), with_heads_to_save(std::move(config), kClassifierHeads), adapter) {
  train_heads(*this, adapter);
}

void PeftModelForTokenClassification::add_adapter(
    const std::string& adapter, std::unique_ptr<PeftConfig> config) {
  PeftModel::add_adapter(adapter, with_heads_to_save(std::move(config), kClassifierHeads));
}

PeftModelForQuestionAnswering::PeftModelForQuestionAnswering(
    nn::ModulePtr model, std::unique_ptr<PeftConfig> config, const std::string& adapter)
    : PeftModel(std::move(model), with_heads_to_save(std::move(config), kQaHeads), adapter) {
  train_heads(*this, adapter);
}

void PeftModelForQuestionAnswering::add_adapter(
    const std::string& adapter, std::unique_ptr<PeftConfig> config) {
  PeftModel::add_adapter(adapter, with_heads_to_save(std::move(config), kQaHeads));
}

std::shared_ptr<PeftModel> make_peft_model(
    nn::ModulePtr model, std::unique_ptr<PeftConfig> config, const std::string& adapter) {
  if (!config->task_type)
    return std::make_shared<PeftModel>(std::move(model), std::move(config), adapter);
  switch (*config->task_type) {
    case TaskType::SEQ_CLS:
      return std::make_shared<PeftModelForSequenceClassification>(
          std::move(model), std::move(config), adapter);
    case TaskType::SEQ_2_SEQ_LM:
      return std::make_shared<PeftModelForSeq2SeqLM>(std::move(model), std::move(config), adapter);
    case TaskType::CAUSAL_LM:
      return std::make_shared<PeftModelForCausalLM>(std::move(model), std::move(config), adapter);
    case TaskType::TOKEN_CLS:
      return std::make_shared<PeftModelForTokenClassification>(
          std::move(model), std::move(config), adapter);
    case TaskType::QUESTION_ANS:
      return std::make_shared<PeftModelForQuestionAnswering>(
          std::move(model), std::move(config), adapter);
    case TaskType::FEATURE_EXTRACTION:
      return std::make_shared<PeftModelForFeatureExtraction>(
          std::move(model), std::move(config), adapter);
  }
  return std::make_shared<PeftModel>(std::move(model), std::move(config), adapter);
}

}  // namespace peftcpp
