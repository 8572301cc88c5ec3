// PromptEmbedding (port of peft/tuners/prompt_tuning/model.py @5d602fd).
#include "peft/tuners/prompt_tuning/model.h"

#include <filesystem>
#include <iostream>

#include "autograd/grad_mode.h"
#include "io/tokenizer/tokenizer.h"
#include "peft/tuners/prompt_learning/tuner.h"
#include "tensor/ops.h"

namespace peftcpp::prompt_tuning {
namespace {

std::int64_t total_virtual_tokens(const PromptTuningConfig& c) {
  PEFTCPP_CHECK(
      c.num_virtual_tokens && c.token_dim && c.num_transformer_submodules,
      "[prompt_tuning] num_virtual_tokens, token_dim and num_transformer_submodules must be set "
      "(they are filled from the model config when the adapter is added)");
  return static_cast<std::int64_t>(*c.num_virtual_tokens) * *c.num_transformer_submodules;
}

std::shared_ptr<const Tokenizer> init_tokenizer(const PromptTuningConfig& c) {
  if (c.tokenizer)
    return c.tokenizer;
  PEFTCPP_CHECK(
      c.tokenizer_name_or_path && !c.tokenizer_name_or_path->empty(),
      "[prompt_tuning] prompt_tuning_init 'TEXT' needs tokenizer_name_or_path or a tokenizer");
  std::filesystem::path p = *c.tokenizer_name_or_path;
  if (std::filesystem::is_directory(p))
    p /= "tokenizer.json";
  if (!std::filesystem::is_regular_file(p)) {
    throw IoError(detail::concat(
        "[prompt_tuning] tokenizer_name_or_path '",
        *c.tokenizer_name_or_path,
        "' is neither a tokenizer.json file nor a folder holding one (hub names are not "
        "downloaded: set PromptTuningConfig::tokenizer instead)"));
  }
  if (c.tokenizer_kwargs.is_object() && !c.tokenizer_kwargs.as_object().empty()) {
    std::cerr << "[prompt_tuning] warning: tokenizer_kwargs are not used by peftcpp's tokenizer "
                 "loading\n";
  }
  return std::make_shared<const Tokenizer>(Tokenizer::from_file(p.string()));
}

// Detached float32 copy of the word embeddings of `ids`.
Tensor embed_ids(nn::UnaryModule& word_embeddings, const std::vector<std::int64_t>& ids) {
  NoGradGuard ng;
  const Tensor t = tensor<std::int64_t>(ids, {static_cast<std::int64_t>(ids.size())});
  return word_embeddings.forward(t).detach().to(kFloat32).clone();
}

}  // namespace

std::vector<std::int64_t> fit_init_token_ids(std::vector<std::int64_t> ids, std::int64_t total) {
  PEFTCPP_CHECK(!ids.empty(), "[prompt_tuning] prompt_tuning_init_text tokenizes to no tokens");
  const auto want = static_cast<std::size_t>(total);
  if (ids.size() < want) {
    const std::size_t reps = (want + ids.size() - 1) / ids.size();
    std::vector<std::int64_t> out;
    for (std::size_t r = 0; r < reps; ++r) out.insert(out.end(), ids.begin(), ids.end());
    ids = std::move(out);
  }
  ids.resize(want);
  return ids;
}

PromptEmbedding::PromptEmbedding(
    const PromptTuningConfig& config, nn::UnaryModule& word_embeddings) {
  const std::int64_t total = total_virtual_tokens(config);
  auto table = std::make_shared<nn::Embedding>(total, *config.token_dim);
  if (!config.inference_mode && config.prompt_tuning_init == "SAMPLE_VOCAB") {
    const auto* we = dynamic_cast<const nn::Embedding*>(&word_embeddings);
    PEFTCPP_CHECK(
        we != nullptr,
        "[prompt_tuning] SAMPLE_VOCAB init needs an Embedding as word embeddings, got ",
        word_embeddings.type_name());
    const Tensor ids = randint(0, we->num_embeddings, {total});
    nn::set_data(table->weight, embed_ids(word_embeddings, ids.to_vector<std::int64_t>()));
  } else if (!config.inference_mode && config.prompt_tuning_init == "TEXT") {
    const std::shared_ptr<const Tokenizer> tok = init_tokenizer(config);
    const Encoding enc = tok->encode(config.prompt_tuning_init_text.value_or(""), true);
    std::vector<std::int64_t> ids(enc.ids.begin(), enc.ids.end());
    nn::set_data(
        table->weight, embed_ids(word_embeddings, fit_init_token_ids(std::move(ids), total)));
  }
  set_embedding(std::move(table));
}

Tensor PromptEmbedding::forward(const Tensor& indices) {
  return embedding_->forward(indices);
}

std::shared_ptr<BaseTuner> make_prompt_tuning_model(nn::ModulePtr model) {
  return std::make_shared<prompt_learning::PromptLearningTuner>(
      std::move(model),
      PeftType::PROMPT_TUNING,
      "prompt_tuning_",
      [](const PromptLearningConfig& c,
         nn::UnaryModule& word_embeddings) -> std::shared_ptr<prompt_learning::BasePromptEncoder> {
        return std::make_shared<PromptEmbedding>(c.as<PromptTuningConfig>(), word_embeddings);
      });
}

}  // namespace peftcpp::prompt_tuning
