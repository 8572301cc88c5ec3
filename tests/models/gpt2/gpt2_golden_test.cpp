// GPT-2 against transformers' golden data: every `models` case of model_type gpt2, the base model
// of every PEFT case built on GPT-2, and PEFT's prompt / prefix tuning redone by hand.
#include <doctest/doctest.h>

#include "models/golden_check.h"
#include "models/gpt2/gpt2.h"
#include "models/model_test_util.h"

namespace peftcpp {
namespace {

using model_test::cases_of;

TEST_CASE("gpt2 golden models cases match transformers: logits, hidden states, padding, grads") {
  const auto cases = cases_of("models", "gpt2");
  if (cases.empty()) {
    MESSAGE("no golden models/ case of model_type gpt2; skipped");
    return;
  }
  for (const auto& dir : cases) {
    CAPTURE(dir.string());
    model_test::check_models_case(dir);
    const golden::Verdict v = models::check_golden_case(dir);
    INFO(v.message);
    CHECK(v.status == golden::Verdict::Status::Pass);
  }
}

TEST_CASE("gpt2 base model of every golden peft case reproduces output.base") {
  const auto cases = cases_of("peft", "gpt2");
  if (cases.empty()) {
    MESSAGE("no golden peft/ case on gpt2; skipped");
    return;
  }
  for (const auto& dir : cases) {
    CAPTURE(dir.string());
    model_test::check_peft_base_output(dir);
  }
}

TEST_CASE("gpt2 prefix keys/values and prompt inputs_embeds reproduce PEFT's outputs and grads") {
  int checked = 0;
  for (const auto& dir : cases_of("peft", "gpt2")) {
    CAPTURE(dir.string());
    checked += model_test::check_prompt_learning_case(dir) ? 1 : 0;
  }
  if (checked == 0)
    MESSAGE("no golden prompt/prefix tuning case on gpt2; skipped");
}

}  // namespace
}  // namespace peftcpp
