// The tuner table (one line per implemented method).
#include "peft/tuners/registry.h"

#include <array>

#include "peft/tuners/adalora/model.h"
#include "peft/tuners/boft/model.h"
#include "peft/tuners/ia3/model.h"
#include "peft/tuners/loha/model.h"
#include "peft/tuners/lokr/model.h"
#include "peft/tuners/lora/model.h"
#include "peft/tuners/oft/model.h"
#include "peft/tuners/p_tuning/model.h"
#include "peft/tuners/prefix_tuning/model.h"
#include "peft/tuners/prompt_tuning/model.h"
#include "peft/tuners/vera/model.h"

namespace peftcpp {
namespace {

const std::array kTuners{
    TunerEntry{PeftType::LORA, "lora_", &lora::make_lora_model},
    TunerEntry{PeftType::LOHA, "hada_", &loha::make_loha_model},
    TunerEntry{PeftType::LOKR, "lokr_", &lokr::make_lokr_model},
    TunerEntry{PeftType::OFT, "oft_", &oft::make_oft_model},
    TunerEntry{PeftType::BOFT, "boft_", &boft::make_boft_model},
    TunerEntry{PeftType::IA3, "ia3_", &ia3::make_ia3_model},
    TunerEntry{PeftType::VERA, "vera_lambda_", &vera::make_vera_model},
    TunerEntry{PeftType::ADALORA, "lora_", &adalora::make_adalora_model},
    TunerEntry{PeftType::PROMPT_TUNING, "prompt_tuning_", &prompt_tuning::make_prompt_tuning_model},
    TunerEntry{PeftType::PREFIX_TUNING, "prefix_tuning_", &prefix_tuning::make_prefix_tuning_model},
    TunerEntry{PeftType::P_TUNING, "p_tuning_", &p_tuning::make_p_tuning_model},
};

}  // namespace

const TunerEntry* find_tuner(PeftType type) {
  for (const TunerEntry& e : kTuners) {
    if (e.type == type)
      return &e;
  }
  return nullptr;
}

std::string registered_tuners() {
  std::string out;
  for (const TunerEntry& e : kTuners)
    out += (out.empty() ? "" : ", ") + std::string(peft_type_name(e.type));
  return out;
}

}  // namespace peftcpp
