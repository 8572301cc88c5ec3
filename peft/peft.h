// peft: everything a user of PEFT methods needs (STYLE.md §4 umbrella): get_peft_model,
// PeftModel and its task variants, the typed adapter configs, and the tuner core for writing
// new methods.
#pragma once

#include "peft/config.h"
#include "peft/mapping.h"
#include "peft/peft_model.h"
#include "peft/peft_model_tasks.h"
#include "peft/tuners/adalora/config.h"
#include "peft/tuners/boft/config.h"
#include "peft/tuners/ia3/config.h"
#include "peft/tuners/loha/config.h"
#include "peft/tuners/lokr/config.h"
#include "peft/tuners/lora/config.h"
#include "peft/tuners/lora/model.h"
#include "peft/tuners/oft/config.h"
#include "peft/tuners/p_tuning/config.h"
#include "peft/tuners/p_tuning/model.h"
#include "peft/tuners/prefix_tuning/config.h"
#include "peft/tuners/prefix_tuning/model.h"
#include "peft/tuners/prompt_learning/tuner.h"
#include "peft/tuners/prompt_tuning/config.h"
#include "peft/tuners/prompt_tuning/model.h"
#include "peft/tuners/registry.h"
#include "peft/tuners/tuners_utils.h"
#include "peft/tuners/vera/config.h"
#include "peft/utils/save_and_load.h"
