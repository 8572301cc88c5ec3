// PeftType (every method of PEFT @5d602fd, from peft_types.def) and TaskType, with their names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace peftcpp {

/// A PEFT method; the enumerator names are PEFT's `PeftType` values ("LORA", "P_TUNING", ...).
enum class PeftType : std::uint8_t {
#define PEFTCPP_PEFT_TYPE(name, prompt_learning) name,
#include "peft/peft_types.def"
#undef PEFTCPP_PEFT_TYPE
};

inline constexpr std::size_t kNumPeftTypes = 0
#define PEFTCPP_PEFT_TYPE(name, prompt_learning) +1
#include "peft/peft_types.def"
#undef PEFTCPP_PEFT_TYPE
    ;
static_assert(
    kNumPeftTypes == 44, "peft_types.def must list the 44 PeftType values of PEFT @5d602fd");

/// "LORA" for PeftType::LORA.
std::string_view peft_type_name(PeftType type);
/// The type named `name` (exact, upper case as in adapter_config.json), or nullopt.
std::optional<PeftType> peft_type_from_name(std::string_view name);
/// Whether the method's config derives from PromptLearningConfig (prompt/prefix/p-tuning, ...).
bool is_prompt_learning(PeftType type);
/// All types, in peft_types.def order.
std::span<const PeftType> all_peft_types();

/// PEFT's `TaskType`.
enum class TaskType : std::uint8_t {
  SEQ_CLS,
  SEQ_2_SEQ_LM,
  CAUSAL_LM,
  TOKEN_CLS,
  QUESTION_ANS,
  FEATURE_EXTRACTION,
};
inline constexpr std::size_t kNumTaskTypes = 6;

std::string_view task_type_name(TaskType type);
std::optional<TaskType> task_type_from_name(std::string_view name);

}  // namespace peftcpp
