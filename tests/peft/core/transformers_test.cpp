// Behaviour that depends on the base model being a transformers model (models::PreTrainedModel):
// all-linear skips the output layer, embeddings targeted by LoRA are saved with the adapter, and
// trainable tokens follow weight tying into the LM head. Uses a tiny tied LM defined here.
#include <doctest/doctest.h>

#include <set>

#include "autograd/grad_mode.h"
#include "io/json/hf_config.h"
#include "models/model.h"
#include "nn/layers/embedding.h"
#include "nn/layers/linear.h"
#include "peft/tuners/lora/layer.h"
#include "peft/tuners/trainable_tokens/layer.h"
#include "peft/utils/auxiliary.h"
#include "tests/io/json/tmp_dir.h"
#include "tests/peft/peft_test_util.h"

using namespace peftcpp;

namespace {

// logits = lm_head(tanh(proj(embed_tokens(ids)))), lm_head.weight tied to embed_tokens.weight.
class TinyLM : public models::PreTrainedModel {
 public:
  explicit TinyLM(bool tie) {
    manual_seed(1);
    config_.tie_word_embeddings = tie;
    auto emb = std::make_shared<nn::Embedding>(12, 4);
    auto head = std::make_shared<nn::Linear>(4, 12, false);
    if (tie)
      head->weight = emb->weight;
    embed_tokens = emb;
    proj = std::make_shared<nn::Linear>(4, 4);
    lm_head = head;
    register_module("embed_tokens", &embed_tokens);
    register_module("proj", &proj);
    register_module("lm_head", &lm_head);
  }
  std::string type_name() const override {
    return "TinyLM";
  }
  models::ModelOutput forward(const models::ModelInputs& in) override {
    models::ModelOutput out;
    out.logits = lm_head->forward(tanh(proj->forward(embed_tokens->forward(in.input_ids))));
    return out;
  }
  const HfConfig& config() const override {
    return config_;
  }
  nn::ModulePtr input_embeddings() override {
    return embed_tokens;
  }
  nn::ModulePtr output_embeddings() override {
    return lm_head;
  }
  std::vector<std::pair<std::string, std::string>> tied_weights() const override {
    if (!config_.tie_word_embeddings)
      return {};
    return {{"lm_head.weight", "embed_tokens.weight"}};
  }
  std::string layers_path() const override {
    return "";
  }

  std::shared_ptr<nn::UnaryModule> embed_tokens, proj, lm_head;
  LlamaConfig config_;
};

Tensor run(PeftModel& m, const Tensor& ids) {
  models::ModelInputs in;
  in.input_ids = ids;
  return m.forward(in).logits;
}

}  // namespace

TEST_CASE("all-linear on a transformers model skips the output layer") {
  auto cfg = test::lora_config("all-linear");
  auto model = get_peft_model(std::make_shared<TinyLM>(false), std::move(cfg));
  const auto& targets = model->peft_config("default").as<LoraConfig>().target_modules;
  REQUIRE(targets.is_list());
  CHECK(targets.names() == std::vector<std::string>{"proj"});
}

TEST_CASE("lora on embed_tokens saves the base embedding with the adapter") {
  auto model =
      get_peft_model(std::make_shared<TinyLM>(false), test::lora_config({"embed_tokens", "proj"}));
  test::TmpDir tmp;
  model->save_pretrained(tmp.path());
  const TensorMap saved = load_safetensors((tmp.path() / "adapter_model.safetensors").string());
  CHECK(saved.count("base_model.model.embed_tokens.base_layer.weight") == 1);
  CHECK(saved.count("base_model.model.embed_tokens.lora_embedding_A") == 1);
  CHECK(saved.count("base_model.model.proj.lora_A.weight") == 1);
  // ... but not when asked not to
  test::TmpDir tmp2;
  model->save_pretrained(tmp2.path(), std::nullopt, SaveEmbeddingLayers::No);
  const TensorMap saved2 = load_safetensors((tmp2.path() / "adapter_model.safetensors").string());
  CHECK(saved2.count("base_model.model.embed_tokens.base_layer.weight") == 0);
}

TEST_CASE("trainable tokens on a tied embedding also change the tied LM head") {
  auto base = std::make_shared<TinyLM>(true);
  auto cfg = test::lora_config({"proj"});
  cfg->trainable_token_indices = Json::array({2, 5});
  auto model = get_peft_model(base, std::move(cfg));
  auto emb = std::dynamic_pointer_cast<TrainableTokensWrapper>(base->embed_tokens);
  auto head = std::dynamic_pointer_cast<TrainableTokensWrapper>(base->lm_head);
  REQUIRE(emb != nullptr);
  REQUIRE(head != nullptr);
  CHECK(head->token_adapter()->tied_adapter() == emb->token_adapter());
  NoGradGuard g;
  emb->token_adapter()->trainable_tokens_delta()->at("default").fill_(0.5);
  const Tensor h = randn({1, 4});
  const Tensor logits = head->forward(h);
  // rows 2 and 5 of the head's weight are the new token rows
  CHECK(test::max_diff(logits.select(1, 2), sum(h * 0.5, {1})) < 1e-6);
  // only the embedding's delta is saved, once
  test::TmpDir tmp;
  model->save_pretrained(tmp.path());
  const TensorMap saved = load_safetensors((tmp.path() / "adapter_model.safetensors").string());
  CHECK(saved.count("base_model.model.embed_tokens.token_adapter.trainable_tokens_delta") == 1);
  CHECK(saved.count("base_model.model.lm_head.token_adapter.trainable_tokens_delta") == 0);
  const Tensor ids = tensor<std::int64_t>({2, 7}, {1, 2});
  const Tensor before = run(*model, ids);
  auto again = PeftModel::from_pretrained(std::make_shared<TinyLM>(true), tmp.path());
  CHECK(test::max_diff(run(*again, ids), before) < 1e-6);
}
