// What several subcommands share: loading a base model (+ adapter) and its tokenizer, and
// turning data files into evaluation blocks.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/tokenizer/tokenizer.h"
#include "models/model.h"
#include "peft/peft_model.h"
#include "train/dataset.h"

namespace peftcpp::cli {

struct LoadedModel {
  models::ModelPtr base;
  /// Set when an adapter was loaded on top of `base`.
  std::shared_ptr<PeftModel> peft;
  /// Forward through the adapter when there is one.
  models::ModelOutput forward(const models::ModelInputs& in) const;
  nn::Module& module() const;
};

/// `dir` (a HuggingFace model directory); throws naming the directory and what is missing.
models::ModelPtr load_base_model(const std::filesystem::path& dir);
/// The base model plus, when `adapter_dir` is given, the adapter (inference unless trainable).
/// An adapter made for another base fails with the tensor and both shapes.
LoadedModel load_model(const std::filesystem::path& model_dir,
                       const std::optional<std::filesystem::path>& adapter_dir,
                       bool trainable = false);
/// `path` if given, else `model_dir/tokenizer.json`; throws when neither exists.
Tokenizer load_tokenizer(const std::filesystem::path& model_dir, const std::string& path = "");
/// The end-of-text id: the model config's eos_token_id, else the tokenizer's "<|endoftext|>" /
/// "</s>" / "<eos>", else -1.
std::int64_t eos_id(const models::PreTrainedModel& model, const Tokenizer& tok);

}  // namespace peftcpp::cli
