// Names of PeftType and TaskType values.
#include "peft/peft_type.h"

#include <array>

namespace peftcpp {
namespace {

struct PeftTypeInfo {
  PeftType type;
  std::string_view name;
  bool prompt_learning;
};

constexpr std::array<PeftTypeInfo, kNumPeftTypes> kPeftTypes = {{
#define PEFTCPP_PEFT_TYPE(name, prompt_learning) {PeftType::name, #name, prompt_learning},
#include "peft/peft_types.def"
#undef PEFTCPP_PEFT_TYPE
}};

constexpr std::array<PeftType, kNumPeftTypes> kAllPeftTypes = {
#define PEFTCPP_PEFT_TYPE(name, prompt_learning) PeftType::name,
#include "peft/peft_types.def"
#undef PEFTCPP_PEFT_TYPE
};

constexpr std::array<std::string_view, kNumTaskTypes> kTaskTypeNames = {
    "SEQ_CLS", "SEQ_2_SEQ_LM", "CAUSAL_LM", "TOKEN_CLS", "QUESTION_ANS", "FEATURE_EXTRACTION"};

}  // namespace

std::string_view peft_type_name(PeftType type) {
  return kPeftTypes[static_cast<std::size_t>(type)].name;
}

std::optional<PeftType> peft_type_from_name(std::string_view name) {
  for (const auto& info : kPeftTypes) {
    if (info.name == name) {
      return info.type;
    }
  }
  return std::nullopt;
}

bool is_prompt_learning(PeftType type) {
  return kPeftTypes[static_cast<std::size_t>(type)].prompt_learning;
}

std::span<const PeftType> all_peft_types() {
  return kAllPeftTypes;
}

std::string_view task_type_name(TaskType type) {
  return kTaskTypeNames[static_cast<std::size_t>(type)];
}

std::optional<TaskType> task_type_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kTaskTypeNames.size(); ++i) {
    if (kTaskTypeNames[i] == name) {
      return static_cast<TaskType>(i);
    }
  }
  return std::nullopt;
}

}  // namespace peftcpp
