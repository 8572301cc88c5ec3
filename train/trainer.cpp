#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "autograd/grad_mode.h"
#include "io/atomic_file.h"
#include "io/json/json.h"
#include "io/safetensors/tensor_io.h"
#include "nn/functional.h"
#include "nn/optim/adam.h"
#include "nn/optim/clip_grad.h"
#include "nn/optim/lr_scheduler.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "tensor/random/philox.h"
#include "train/loss_curve.h"
#include "train/progress.h"

namespace peftcpp::train {
namespace fs = std::filesystem;

Tensor causal_lm_loss(const Tensor& logits, const Tensor& labels) {
  PEFTCPP_CHECK(logits.dim() == 3 && labels.dim() == 2 && logits.size(0) == labels.size(0) &&
                    logits.size(1) == labels.size(1),
                "[causal_lm_loss] logits must be [B, T, V] and labels [B, T], got " +
                    shape_str(logits.shape()) + " and " + shape_str(labels.shape()));
  const std::int64_t T = logits.size(1), V = logits.size(2);
  PEFTCPP_CHECK(T >= 2, "[causal_lm_loss] needs at least 2 positions, got " + std::to_string(T));
  // Shifting the labels left (ignore_index in the last slot) instead of narrowing the logits
  // scores the same pairs without copying [B, T - 1, V] logits forward and back.
  const std::int64_t B = labels.size(0);
  Tensor target = cat({labels.narrow(1, 1, T - 1).to(kInt64), full({B, 1}, static_cast<double>(kIgnoreIndex), kInt64, labels.device())}, 1);
  return nn::functional::cross_entropy(logits.reshape({-1, V}), target.reshape({-1}), Tensor(), kIgnoreIndex);
}

Batch make_batch(const std::vector<Block>& blocks, const std::vector<std::size_t>& order,
                 std::size_t first, std::size_t count) {
  PEFTCPP_CHECK(count > 0 && first + count <= order.size(), "[trainer] batch out of range");
  const std::size_t T = blocks[order[first]].ids.size();
  std::vector<std::int64_t> ids, labels;
  ids.reserve(count * T);
  labels.reserve(count * T);
  Batch b;
  for (std::size_t i = first; i < first + count; ++i) {
    const Block& blk = blocks[order[i]];
    PEFTCPP_CHECK(blk.ids.size() == T && blk.labels.size() == T,
                  "[trainer] blocks of one batch must have the same length");
    ids.insert(ids.end(), blk.ids.begin(), blk.ids.end());
    labels.insert(labels.end(), blk.labels.begin(), blk.labels.end());
    for (std::size_t t = 1; t < T; ++t) b.target_tokens += blk.labels[t] != kIgnoreIndex;
  }
  const std::int64_t B = static_cast<std::int64_t>(count), L = static_cast<std::int64_t>(T);
  b.input_ids = tensor<std::int64_t>(ids, {B, L});
  b.labels = tensor<std::int64_t>(labels, {B, L});
  return b;
}

namespace {

// Seeded Fisher-Yates order of n blocks for one epoch.
std::vector<std::size_t> epoch_order(std::size_t n, std::uint64_t seed, std::int64_t epoch) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  const std::uint64_t key = seed * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(epoch) + 1;
  for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[philox4x32_10(key, i).v[0] % i]);
  return order;
}

Json history_json(const std::vector<std::pair<std::int64_t, double>>& h) {
  JsonArray a;
  for (const auto& [s, l] : h) a.push_back(Json::array({s, l}));
  return Json(a);
}

std::vector<std::pair<std::int64_t, double>> history_from(const Json& j) {
  std::vector<std::pair<std::int64_t, double>> out;
  for (const Json& e : j.as_array()) out.emplace_back(e[0].as_int(), e[1].as_double());
  return out;
}

void write_text(const fs::path& path, const std::string& text) {
  write_file_atomic(path.string(), std::span<const std::uint8_t>(
                                       reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

}  // namespace

Trainer::Trainer(nn::Module& model, TrainingArguments args, std::vector<Block> train_blocks,
                 std::vector<Block> eval_blocks, TrainerCallbacks callbacks)
    : model_(model),
      args_(std::move(args)),
      train_(std::move(train_blocks)),
      eval_(std::move(eval_blocks)),
      cb_(std::move(callbacks)) {
  PEFTCPP_CHECK(!train_.empty(), "[trainer] no training blocks (is the dataset shorter than one sequence?)");
  PEFTCPP_CHECK(args_.batch_size > 0 && args_.gradient_accumulation_steps > 0,
                "[trainer] batch_size and gradient_accumulation_steps must be positive");
  PEFTCPP_CHECK(static_cast<bool>(cb_.loss), "[trainer] a loss callback is required");
}

std::int64_t Trainer::total_steps() const {
  if (args_.max_steps > 0) return args_.max_steps;
  const auto micro = static_cast<std::int64_t>(
      (train_.size() + static_cast<std::size_t>(args_.batch_size) - 1) / static_cast<std::size_t>(args_.batch_size));
  const double steps_per_epoch =
      std::ceil(static_cast<double>(micro) / static_cast<double>(args_.gradient_accumulation_steps));
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(steps_per_epoch * args_.num_epochs)));
}

std::optional<fs::path> Trainer::latest_checkpoint(const fs::path& dir) {
  std::optional<fs::path> best;
  long long best_step = -1;
  if (!fs::is_directory(dir)) return best;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (!e.is_directory() || name.rfind("checkpoint-", 0) != 0) continue;
    const std::string num = name.substr(11);
    if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos) continue;
    if (!fs::exists(e.path() / "trainer_state.json")) continue;
    const long long s = std::stoll(num);
    if (s > best_step) best_step = s, best = e.path();
  }
  return best;
}

EvalResult Trainer::evaluate() {
  EvalResult r;
  if (eval_.empty()) return r;
  NoGradGuard no_grad;
  const bool was_training = model_.is_training();
  model_.eval();
  std::vector<std::size_t> order(eval_.size());
  std::iota(order.begin(), order.end(), 0);
  double sum = 0;
  for (std::size_t i = 0; i < order.size();) {
    // Blocks of one batch must share a length (the last block may be shorter).
    std::size_t n = 0;
    while (i + n < order.size() && n < static_cast<std::size_t>(args_.batch_size) &&
           eval_[order[i + n]].ids.size() == eval_[order[i]].ids.size())
      ++n;
    Batch b = make_batch(eval_, order, i, n);
    i += n;
    if (b.target_tokens == 0) continue;
    sum += cb_.loss(b).item<double>() * static_cast<double>(b.target_tokens);
    r.tokens += b.target_tokens;
  }
  model_.train(was_training);
  r.loss = r.tokens ? sum / static_cast<double>(r.tokens) : NAN;
  r.perplexity = std::exp(r.loss);
  return r;
}

TrainResult Trainer::train() {
  TrainResult result;
  TensorList params;
  for (const Tensor& p : model_.parameters())
    if (p.requires_grad()) params.push_back(p);
  PEFTCPP_CHECK(!params.empty(), "[trainer] the model has no trainable parameters");

  nn::optim::AdamWOptions opt_args;
  opt_args.lr = args_.learning_rate;
  opt_args.beta1 = args_.adam_beta1;
  opt_args.beta2 = args_.adam_beta2;
  opt_args.eps = args_.adam_epsilon;
  opt_args.weight_decay = args_.weight_decay;
  nn::optim::AdamW opt(params, opt_args);
  const std::int64_t total = total_steps();
  const std::int64_t warmup =
      args_.warmup_steps > 0 ? args_.warmup_steps
                             : static_cast<std::int64_t>(std::ceil(args_.warmup_ratio * static_cast<double>(total)));
  nn::optim::LambdaLR sched = nn::optim::get_scheduler(args_.lr_scheduler_type, opt, warmup, total);

  std::int64_t start = 0;
  if (args_.resume) {
    const auto ckpt = latest_checkpoint(args_.output_dir);
    if (!ckpt) throw IoError("[trainer] --resume: no checkpoint-N directory with trainer_state.json in '" +
                             args_.output_dir.string() + "'");
    PEFTCPP_CHECK(static_cast<bool>(cb_.load), "[trainer] resuming needs a load callback");
    cb_.load(*ckpt);
    opt.load_state_dict(load_safetensors((*ckpt / "optimizer.safetensors").string()));
    const Json state = Json::parse_file(*ckpt / "trainer_state.json");
    start = state.at("global_step").as_int();
    result.train_losses = history_from(state.at("train_losses"));
    result.eval_losses = history_from(state.at("eval_losses"));
    for (std::int64_t s = 0; s < start; ++s) sched.step();
    result.resumed_from = start;
  }

  const std::size_t bs = static_cast<std::size_t>(args_.batch_size);
  const std::size_t micro_per_epoch = (train_.size() + bs - 1) / bs;
  const std::int64_t accum = args_.gradient_accumulation_steps;
  std::int64_t cached_epoch = -1;
  std::vector<std::size_t> order;
  auto micro_batch = [&](std::int64_t m) {
    const std::int64_t epoch = m / static_cast<std::int64_t>(micro_per_epoch);
    if (epoch != cached_epoch) order = epoch_order(train_.size(), args_.seed, epoch), cached_epoch = epoch;
    const std::size_t first = static_cast<std::size_t>(m % static_cast<std::int64_t>(micro_per_epoch)) * bs;
    std::size_t n = std::min(bs, train_.size() - first);
    // Keep equal lengths inside a batch (only a final short block can differ).
    while (n > 1 && train_[order[first + n - 1]].ids.size() != train_[order[first]].ids.size()) --n;
    return make_batch(train_, order, first, n);
  };

  ProgressBar bar(total, args_.logging_steps);
  auto save_checkpoint = [&](std::int64_t step, const fs::path& dir) {
    const fs::path tmp = dir.string() + ".tmp";
    fs::remove_all(tmp);
    fs::create_directories(tmp);
    if (cb_.save) cb_.save(tmp);
    save_safetensors((tmp / "optimizer.safetensors").string(), opt.state_dict());
    Json state = Json::object({{"global_step", step},
                               {"total_steps", total},
                               {"seed", static_cast<std::int64_t>(args_.seed)},
                               {"train_losses", history_json(result.train_losses)},
                               {"eval_losses", history_json(result.eval_losses)}});
    write_text(tmp / "trainer_state.json", state.dump() + "\n");
    fs::remove_all(dir);
    fs::rename(tmp, dir);
  };

  const auto t0 = std::chrono::steady_clock::now();
  std::int64_t tokens_seen = 0;
  double window_loss = 0;
  std::int64_t window_n = 0;
  model_.train();
  for (std::int64_t step = start + 1; step <= total; ++step) {
    manual_seed(args_.seed * 1000003ULL + static_cast<std::uint64_t>(step));
    std::vector<Batch> batches;
    std::int64_t step_tokens = 0;
    for (std::int64_t k = 0; k < accum; ++k) {
      batches.push_back(micro_batch((step - 1) * accum + k));
      step_tokens += batches.back().target_tokens;
    }
    double step_loss = 0;
    for (const Batch& b : batches) {
      if (b.target_tokens == 0) continue;
      // Token-weighted mean over the accumulated micro-batches.
      const double w = static_cast<double>(b.target_tokens) / static_cast<double>(step_tokens);
      Tensor loss = cb_.loss(b);
      step_loss += loss.item<double>() * w;
      mul(loss, w).backward();
      tokens_seen += b.input_ids.numel();
    }
    if (args_.max_grad_norm > 0) nn::clip_grad_norm_(params, args_.max_grad_norm);
    opt.step();
    if (cb_.after_optimizer_step) cb_.after_optimizer_step(step);
    sched.step();
    opt.zero_grad();
    result.train_losses.emplace_back(step, step_loss);
    window_loss += step_loss;
    ++window_n;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double tps = elapsed > 0 ? static_cast<double>(tokens_seen) / elapsed : 0;
    if (args_.progress) bar.update(step, window_loss / static_cast<double>(window_n), tps, sched.get_last_lr()[0]);
    if (step % std::max<std::int64_t>(args_.logging_steps, 1) == 0) {
      result.final_loss = window_loss / static_cast<double>(window_n);
      window_loss = 0;
      window_n = 0;
    }
    if (args_.eval_steps > 0 && step % args_.eval_steps == 0 && step != total && !eval_.empty()) {
      const EvalResult e = evaluate();
      result.eval_losses.emplace_back(step, e.loss);
      if (args_.progress) {
        char buf[128];
        std::snprintf(buf, sizeof buf, "eval @ step %lld: loss %.4f, perplexity %.2f",
                      static_cast<long long>(step), e.loss, e.perplexity);
        bar.message(buf);
      }
    }
    if (args_.save_steps > 0 && step % args_.save_steps == 0 && step != total && !args_.output_dir.empty())
      save_checkpoint(step, args_.output_dir / ("checkpoint-" + std::to_string(step)));
  }
  if (window_n > 0) result.final_loss = window_loss / static_cast<double>(window_n);
  if (args_.progress) bar.finish();
  result.steps = total;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result.tokens_per_second = result.seconds > 0 ? static_cast<double>(tokens_seen) / result.seconds : 0;
  if (!eval_.empty()) {
    result.final_eval = evaluate();
    result.eval_losses.emplace_back(total, result.final_eval->loss);
  }
  if (!args_.output_dir.empty()) {
    fs::create_directories(args_.output_dir);
    if (cb_.save) cb_.save(args_.output_dir);
    LossCurve curve{result.train_losses, result.eval_losses, "training loss"};
    write_loss_svg((args_.output_dir / "loss_curve.svg").string(), curve);
    Json state = Json::object({{"global_step", total},
                               {"total_steps", total},
                               {"seed", static_cast<std::int64_t>(args_.seed)},
                               {"train_losses", history_json(result.train_losses)},
                               {"eval_losses", history_json(result.eval_losses)}});
    write_text(args_.output_dir / "trainer_state.json", state.dump() + "\n");
  }
  return result;
}

}  // namespace peftcpp::train
