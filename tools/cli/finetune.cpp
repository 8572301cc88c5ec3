// `peftcpp finetune`: trains an adapter of any registered PEFT method on a causal LM and writes
// an adapter directory that HuggingFace PEFT loads with PeftModel.from_pretrained unchanged.
#include <cmath>
#include <cstdio>
#include <iostream>

#include "autograd/grad_mode.h"
#include "io/json/json.h"
#include "peft/config.h"
#include "peft/mapping.h"
#include "peft/tuners/adalora/model.h"
#include "peft/tuners/prompt_learning/tuner.h"
#include "peft/tuners/registry.h"
#include "peft/utils/save_and_load.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/model_loading.h"
#include "train/progress.h"
#include "train/trainer.h"

namespace peftcpp::cli {
namespace {
namespace fs = std::filesystem;

// Method-specific spellings of the convenience flags (PEFT's field names).
struct FlagKeys {
  const char* rank;
  const char* alpha;
  const char* dropout;
};

FlagKeys flag_keys(PeftType type) {
  switch (type) {
    case PeftType::LORA: return {"r", "lora_alpha", "lora_dropout"};
    case PeftType::ADALORA: return {"init_r", "lora_alpha", "lora_dropout"};
    case PeftType::LOHA:
    case PeftType::LOKR: return {"r", "alpha", "module_dropout"};
    case PeftType::VERA: return {"r", nullptr, "vera_dropout"};
    case PeftType::OFT: return {"r", nullptr, "module_dropout"};
    default: return {"r", nullptr, nullptr};
  }
}

Json parse_value(const std::string& text) {
  try {
    return Json::parse(text);
  } catch (const std::exception&) {
    return Json(text);  // a bare word is a string
  }
}

// The adapter config: --config FILE, else --method with the convenience flags and --set.
std::unique_ptr<PeftConfig> build_config(const ArgParser& p) {
  Json j;
  if (p.has("config") && !p.get("config").empty()) {
    j = Json::parse_file(p.get("config"));
  } else {
    const std::string method = p.get("method");
    std::string upper;
    for (char c : method) upper += (c == '-') ? '_' : static_cast<char>(std::toupper(c));
    const std::optional<PeftType> type = peft_type_from_name(upper);
    if (!type) throw UsageError("unknown --method '" + method + "'");
    if (find_tuner(*type) == nullptr)
      throw UsageError("--method " + method + " is not implemented yet (implemented: " +
                       registered_tuners() + ")");
    j = Json::object({{"peft_type", upper}});
    const FlagKeys keys = flag_keys(*type);
    const Json defaults = make_peft_config(*type)->to_json();
    auto put = [&](const char* key, Json v, const std::string& flag) {
      if (key == nullptr || defaults.find(key) == nullptr)
        throw UsageError("--" + flag + " does not apply to " + upper + " (use --set KEY=VALUE)");
      j[key] = std::move(v);
    };
    if (p.has("r")) put(keys.rank, Json(p.get_int("r")), "r");
    if (p.has("alpha")) {
      const double a = p.get_double("alpha");
      // PEFT writes the number as given: 32, not 32.0.
      put(keys.alpha, a == std::floor(a) && std::fabs(a) < 1e15 ? Json(static_cast<std::int64_t>(a)) : Json(a),
          "alpha");
    }
    if (p.has("dropout")) put(keys.dropout, Json(p.get_double("dropout")), "dropout");
    if (p.has("target-modules")) {
      JsonArray mods;
      for (const std::string& m : p.get_list("target-modules")) mods.push_back(Json(m));
      j["target_modules"] = mods.size() == 1 && (mods[0].as_string() == "all-linear")
                                ? Json("all-linear")
                                : Json(mods);
    }
  }
  for (const std::string& kv : p.get_all("set")) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw UsageError("--set needs KEY=VALUE, got '" + kv + "'");
    j[kv.substr(0, eq)] = parse_value(kv.substr(eq + 1));
  }
  if (j.find("task_type") == nullptr || j.at("task_type").is_null()) j["task_type"] = "CAUSAL_LM";
  return peft_config_from_json(j, p.has("config") ? p.get("config") : "<command line>");
}

}  // namespace

int run_finetune(const std::vector<std::string>& args) {
  ArgParser p("finetune",
              "Trains an adapter (any implemented PEFT method) on a causal LM with AdamW, an LR "
              "schedule, gradient accumulation and clipping, evaluates on held-out documents, "
              "checkpoints, and writes a HuggingFace PEFT adapter directory with a loss curve.");
  p.option("model", "base model directory (config.json, model.safetensors, tokenizer.json)",
           std::nullopt, true)
      .option("data", "training data: plain text (documents separated by blank lines) or JSONL "
                      "(\"text\", or \"prompt\" + \"completion\")", std::nullopt, true)
      .option("output", "adapter directory to write", std::nullopt, true)
      .option("config", "an adapter_config.json-style file (instead of --method and flags)")
      .option("method", "PEFT method (lora, loha, lokr, ia3, vera, ...)", "lora")
      .option("r", "rank (the method's rank field)")
      .option("alpha", "scaling alpha (lora_alpha / alpha)")
      .option("dropout", "adapter dropout")
      .option("target-modules", "comma-separated module names, or all-linear")
      .multi_option("set", "any config field as KEY=JSON (e.g. --set use_dora=true)")
      .option("eval-data", "held-out data file (default: documents held out of --data)")
      .option("eval-fraction", "fraction of --data documents held out when no --eval-data", "0.05")
      .option("tokenizer", "tokenizer.json (default: the model directory's)")
      .option("seq-len", "training sequence length", "256")
      .option("batch-size", "sequences per micro-batch", "8")
      .option("grad-accum", "micro-batches per optimizer step", "1")
      .option("epochs", "passes over the training data", "1")
      .option("max-steps", "optimizer steps (overrides --epochs when > 0)", "0")
      .option("lr", "peak learning rate", "2e-4")
      .option("weight-decay", "AdamW weight decay", "0")
      .option("scheduler", "linear, cosine, constant, constant_with_warmup", "linear")
      .option("warmup-steps", "warmup steps", "0")
      .option("warmup-ratio", "warmup as a fraction of all steps (when --warmup-steps is 0)", "0")
      .option("max-grad-norm", "global-norm clipping (0 = off)", "1.0")
      .option("eval-steps", "evaluate every N steps (0 = at the end)", "0")
      .option("save-steps", "checkpoint every N steps (0 = at the end only)", "0")
      .option("logging-steps", "loss averaging window / log interval", "10")
      .option("seed", "random seed (data order, init, dropout)", "42")
      .flag("resume", "continue from the latest checkpoint-N in --output")
      .flag("verify-reload", "reload the saved adapter onto a fresh base and check it reproduces the trained model's logits")
      .flag("no-progress", "no progress bar");
  if (!p.parse(args)) return 0;

  const fs::path model_dir = p.get("model"), out = p.get("output");
  manual_seed(static_cast<std::uint64_t>(p.get_int("seed")));
  std::unique_ptr<PeftConfig> config = build_config(p);
  if (!config->base_model_name_or_path) config->base_model_name_or_path = model_dir.string();
  const Tokenizer tok = load_tokenizer(model_dir, p.get("tokenizer"));
  models::ModelPtr base = load_base_model(model_dir);
  const std::int64_t eos = eos_id(*base, tok);

  // Data.
  const auto docs = train::read_documents(p.get("data"));
  train::Split split;
  if (p.has("eval-data")) {
    split.train = docs;
    split.eval = train::read_documents(p.get("eval-data"));
  } else {
    split = train::split_documents(docs, p.get_double("eval-fraction"),
                                   static_cast<std::uint64_t>(p.get_int("seed")));
  }
  const std::int64_t seq = p.get_int("seq-len");
  if (seq < 2) throw UsageError("--seq-len must be at least 2");
  auto train_blocks = train::pack_blocks(train::tokenize_documents(tok, split.train, eos), seq);
  auto eval_blocks = train::pack_blocks(train::tokenize_documents(tok, split.eval, eos), seq, true);
  if (train_blocks.empty())
    throw ValueError("the training data is shorter than one sequence of " + std::to_string(seq) +
                     " tokens (lower --seq-len)");

  std::shared_ptr<PeftModel> model = get_peft_model(base, std::move(config));
  const auto [trainable, total] = model->get_nb_trainable_parameters();
  std::printf("%s on %s: %lld trainable of %lld parameters (%.4f%%); %zu train / %zu eval blocks of %lld tokens\n",
              std::string(peft_type_name(model->peft_type())).c_str(), model_dir.string().c_str(),
              static_cast<long long>(trainable), static_cast<long long>(total),
              100.0 * static_cast<double>(trainable) / static_cast<double>(total),
              train_blocks.size(), eval_blocks.size(), static_cast<long long>(seq));

  train::TrainingArguments ta;
  ta.output_dir = out;
  ta.max_steps = p.get_int("max-steps");
  ta.num_epochs = p.get_double("epochs");
  ta.batch_size = p.get_int("batch-size");
  ta.gradient_accumulation_steps = p.get_int("grad-accum");
  ta.learning_rate = p.get_double("lr");
  ta.weight_decay = p.get_double("weight-decay");
  ta.lr_scheduler_type = p.get("scheduler");
  ta.warmup_steps = p.get_int("warmup-steps");
  ta.warmup_ratio = p.get_double("warmup-ratio");
  ta.max_grad_norm = p.get_double("max-grad-norm");
  ta.eval_steps = p.get_int("eval-steps");
  ta.save_steps = p.get_int("save-steps");
  ta.logging_steps = p.get_int("logging-steps");
  ta.seed = static_cast<std::uint64_t>(p.get_int("seed"));
  ta.resume = p.get_flag("resume");
  ta.progress = !p.get_flag("no-progress");
  if (ta.batch_size <= 0 || ta.gradient_accumulation_steps <= 0)
    throw UsageError("--batch-size and --grad-accum must be positive");

  train::TrainerCallbacks cb;
  cb.loss = [&](const train::Batch& b) {
    models::ModelInputs in;
    in.input_ids = b.input_ids;
    const Tensor logits = model->forward(in).logits;
    // prompt tuning / P-tuning logits also cover the virtual tokens in front of the labels
    const std::int64_t extra = logits.size(1) - b.labels.size(1);
    // Methods with a regulariser (AdaLoRA's orthogonality term) add it to the task loss.
    return model->add_regularization(train::causal_lm_loss(
        logits, extra > 0 ? prompt_learning::prompt_learning_labels(b.labels, extra) : b.labels));
  };
  if (auto* ada = dynamic_cast<adalora::AdaLoraModel*>(&model->base_model()))
    cb.after_optimizer_step = [ada](std::int64_t step) { ada->update_and_allocate(step); };
  cb.save = [&](const fs::path& dir) { model->save_pretrained(dir); };
  cb.load = [&](const fs::path& dir) { set_peft_model_state_dict(*model, load_peft_weights(dir)); };
  train::Trainer trainer(*model, ta, std::move(train_blocks), std::move(eval_blocks), cb);

  std::optional<train::EvalResult> before;
  if (!ta.resume) {
    before = trainer.evaluate();
    if (before->tokens > 0)
      std::printf("held-out before: loss %.4f, perplexity %.2f (%lld tokens)\n", before->loss,
                  before->perplexity, static_cast<long long>(before->tokens));
  }
  const train::TrainResult r = trainer.train();
  std::printf("trained %lld steps in %s (%.0f tokens/s)%s; final train loss %.4f\n",
              static_cast<long long>(r.steps), train::ProgressBar::format_duration(r.seconds).c_str(),
              r.tokens_per_second,
              r.resumed_from ? (" resumed from step " + std::to_string(r.resumed_from)).c_str() : "",
              r.final_loss);
  if (r.final_eval && r.final_eval->tokens > 0) {
    std::printf("held-out after: loss %.4f, perplexity %.2f", r.final_eval->loss, r.final_eval->perplexity);
    if (before && before->tokens > 0) std::printf(" (%.2fx lower)", before->perplexity / r.final_eval->perplexity);
    std::printf("\n");
  }
  std::printf("adapter: %s (adapter_config.json, adapter_model.safetensors, loss_curve.svg)\n",
              out.string().c_str());
  if (p.get_flag("verify-reload")) {
    // The trained model against base + adapter read back from disk, on one held-out batch.
    const std::vector<train::Block> probe_blocks =
        train::pack_blocks(train::tokenize_documents(tok, split.eval.empty() ? split.train : split.eval, eos), seq, true);
    std::vector<std::size_t> order(std::min<std::size_t>(probe_blocks.size(), 2));
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    while (order.size() > 1 && probe_blocks[order.back()].ids.size() != probe_blocks[0].ids.size()) order.pop_back();
    const train::Batch probe = train::make_batch(probe_blocks, order, 0, order.size());
    NoGradGuard no_grad;
    model->eval();
    models::ModelInputs in;
    in.input_ids = probe.input_ids;
    const Tensor trained = model->forward(in).logits;
    LoadedModel reloaded = load_model(model_dir, out);
    const double diff = max_abs_diff(trained, reloaded.forward(in).logits);
    std::printf("reload check: base + saved adapter reproduce the trained model's logits, max |diff| = %.3g\n", diff);
    if (!(diff <= 1e-5)) throw ValueError("the reloaded adapter does not reproduce the trained logits (max |diff| " + std::to_string(diff) + ")");
  }
  return 0;
}

}  // namespace peftcpp::cli
