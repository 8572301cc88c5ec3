// The training loop behind `peftcpp finetune` and the demos: AdamW over the trainable
// parameters, transformers' LR schedules with warmup, gradient accumulation, global-norm
// clipping, periodic evaluation, checkpoints every N steps and exact resumption.
//
// The trainer knows nothing about PEFT or model families: the caller gives a loss function over
// a batch and save/load callbacks for the weights (an adapter directory, a full checkpoint).
//
// Determinism: the data order of epoch e is a seeded shuffle of (seed, e), and the default
// random generator is re-seeded from (seed, step) before every optimizer step, so a run resumed
// from checkpoint-N continues exactly as the uninterrupted run would.
//
// Checkpoints: <output_dir>/checkpoint-<step>/ holds what `save` writes, optimizer.safetensors
// (nn::optim::OptimizerStateDict) and trainer_state.json (step, loss history, eval history).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nn/module.h"
#include "train/dataset.h"

namespace peftcpp::train {

struct TrainingArguments {
  std::filesystem::path output_dir;
  /// Optimizer steps; <= 0 derives them from num_epochs.
  std::int64_t max_steps = -1;
  double num_epochs = 1.0;
  /// Examples per micro-batch, and micro-batches per optimizer step.
  std::int64_t batch_size = 8;
  std::int64_t gradient_accumulation_steps = 1;
  double learning_rate = 2e-4;
  double weight_decay = 0.0;
  double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_epsilon = 1e-8;
  /// "linear", "cosine", "constant", "constant_with_warmup".
  std::string lr_scheduler_type = "linear";
  std::int64_t warmup_steps = 0;
  /// Used when warmup_steps is 0: ceil(ratio * total steps).
  double warmup_ratio = 0.0;
  /// <= 0 disables clipping.
  double max_grad_norm = 1.0;
  /// Evaluate every N optimizer steps (0 = at the end only) and save every N (0 = at the end).
  std::int64_t eval_steps = 0;
  std::int64_t save_steps = 0;
  std::int64_t logging_steps = 10;
  std::uint64_t seed = 42;
  /// Continue from the latest checkpoint-N in output_dir (an error when none exists).
  bool resume = false;
  /// Draw the progress bar on stderr.
  bool progress = true;
};

/// A micro-batch: int64 [B, T] ids and labels (labels == kIgnoreIndex do not count).
struct Batch {
  Tensor input_ids;
  Tensor labels;
  /// Tokens whose label counts after the causal shift (labels[:, 1:] != ignore).
  std::int64_t target_tokens = 0;
};

struct TrainerCallbacks {
  /// Forward + mean loss over the batch's target tokens (e.g. causal_lm_loss of the logits).
  std::function<Tensor(const Batch&)> loss;
  /// Writes the trained weights into a directory (adapter, or model).
  std::function<void(const std::filesystem::path&)> save;
  /// Restores the weights `save` wrote (resume).
  std::function<void(const std::filesystem::path&)> load;
  /// Optional: runs after each optimizer step, before gradients are cleared (AdaLoRA's
  /// update_and_allocate reads them). `step` is 1-based.
  std::function<void(std::int64_t step)> after_optimizer_step;
};

struct EvalResult {
  double loss = 0;        // mean token loss
  double perplexity = 0;  // exp(loss)
  std::int64_t tokens = 0;
};

struct TrainResult {
  std::int64_t steps = 0;
  std::int64_t resumed_from = 0;
  double final_loss = 0;  // mean of the last logging window
  double seconds = 0;
  double tokens_per_second = 0;
  std::vector<std::pair<std::int64_t, double>> train_losses;  // (step, loss)
  std::vector<std::pair<std::int64_t, double>> eval_losses;   // (step, loss)
  std::optional<EvalResult> final_eval;
};

/// Mean cross-entropy of logits [B, T, V] predicting labels shifted by one ([B, T]), ignoring
/// kIgnoreIndex (transformers' ForCausalLMLoss).
Tensor causal_lm_loss(const Tensor& logits, const Tensor& labels);

/// Stacks blocks [first, first + count) into a Batch (all blocks must have the same length).
Batch make_batch(const std::vector<Block>& blocks, const std::vector<std::size_t>& order,
                 std::size_t first, std::size_t count);

class Trainer {
 public:
  Trainer(nn::Module& model, TrainingArguments args, std::vector<Block> train_blocks,
          std::vector<Block> eval_blocks, TrainerCallbacks callbacks);

  TrainResult train();
  /// Mean token loss over every eval block (no grad, eval mode).
  EvalResult evaluate();

  /// Optimizer steps train() will run in total.
  std::int64_t total_steps() const;
  /// The latest checkpoint-N directory under output_dir, if any.
  static std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& dir);

 private:
  nn::Module& model_;
  TrainingArguments args_;
  std::vector<Block> train_, eval_;
  TrainerCallbacks cb_;
};

}  // namespace peftcpp::train
