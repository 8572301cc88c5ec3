#include "tools/cli/model_loading.h"

#include "tensor/error.h"

namespace peftcpp::cli {
namespace fs = std::filesystem;

models::ModelOutput LoadedModel::forward(const models::ModelInputs& in) const {
  return peft ? peft->forward(in) : base->forward(in);
}

nn::Module& LoadedModel::module() const {
  return peft ? static_cast<nn::Module&>(*peft) : static_cast<nn::Module&>(*base);
}

models::ModelPtr load_base_model(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw IoError("model directory '" + dir.string() + "' does not exist");
  if (!fs::exists(dir / "config.json"))
    throw IoError("'" + dir.string() + "' is not a model directory (no config.json)");
  return models::from_pretrained(dir);
}

LoadedModel load_model(const fs::path& model_dir, const std::optional<fs::path>& adapter_dir,
                       bool trainable) {
  LoadedModel m;
  m.base = load_base_model(model_dir);
  if (adapter_dir) {
    if (!fs::exists(*adapter_dir / "adapter_config.json"))
      throw IoError("'" + adapter_dir->string() + "' is not an adapter directory (no adapter_config.json)");
    m.peft = PeftModel::from_pretrained(m.base, *adapter_dir, "default", trainable);
  }
  return m;
}

Tokenizer load_tokenizer(const fs::path& model_dir, const std::string& path) {
  const fs::path p = path.empty() ? model_dir / "tokenizer.json" : fs::path(path);
  if (!fs::exists(p))
    throw IoError("no tokenizer: '" + p.string() + "' does not exist (give --tokenizer)");
  return Tokenizer::from_file(p.string());
}

std::int64_t eos_id(const models::PreTrainedModel& model, const Tokenizer& tok) {
  const TokenIds& eos = model.config().eos_token_id;
  if (!eos.is_none() && !eos.ids().empty()) return eos.ids().front();
  for (const char* t : {"<|endoftext|>", "</s>", "<eos>", "<|end_of_text|>"}) {
    if (auto id = tok.token_to_id(t)) return *id;
  }
  return -1;
}

}  // namespace peftcpp::cli
