// train/trainer: the loss it optimises, that training learns, and that resuming from a
// checkpoint reproduces the uninterrupted run exactly.
#include "train/trainer.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "io/safetensors/tensor_io.h"
#include "nn/nn.h"
#include "tensor/ops.h"
#include "train/loss_curve.h"

using namespace peftcpp;
using namespace peftcpp::train;
namespace fs = std::filesystem;

namespace {

// A bigram LM: logits = Linear(Embedding(ids)).
class TinyLM : public nn::Module {
 public:
  explicit TinyLM(std::int64_t vocab) {
    emb = std::make_shared<nn::Embedding>(vocab, 16);
    head = std::make_shared<nn::Linear>(16, vocab);
    register_module("emb", &emb);
    register_module("head", &head);
  }
  Tensor forward(const Tensor& ids) {
    return head->forward(emb->forward(ids));
  }
  std::shared_ptr<nn::UnaryModule> emb, head;
};

struct TmpDir {
  TmpDir() : path(fs::temp_directory_path() / ("peftcpp_trainer_" + std::to_string(::getpid()) + "_" + std::to_string(counter++))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TmpDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path path;
  static inline int counter = 0;
};

// A cyclic sequence 0 1 2 ... 9 0 1 ...: perfectly predictable from the previous token.
std::vector<Block> cyclic_blocks(int n, int len) {
  std::vector<Block> out;
  int t = 0;
  for (int b = 0; b < n; ++b) {
    Block blk;
    for (int i = 0; i < len; ++i, ++t) blk.ids.push_back(t % 10), blk.labels.push_back(t % 10);
    out.push_back(blk);
  }
  return out;
}

TrainerCallbacks callbacks(TinyLM& m) {
  TrainerCallbacks cb;
  cb.loss = [&m](const Batch& b) { return causal_lm_loss(m.forward(b.input_ids), b.labels); };
  cb.save = [&m](const fs::path& dir) {
    save_safetensors((dir / "model.safetensors").string(), m.state_dict());
  };
  cb.load = [&m](const fs::path& dir) {
    m.load_state_dict(load_safetensors((dir / "model.safetensors").string()));
  };
  return cb;
}

}  // namespace

TEST_CASE("causal_lm_loss is the mean CE of each position predicting the next label") {
  Tensor logits = randn({2, 3, 5}, kFloat64);
  Tensor labels = tensor<std::int64_t>({1, 2, 3, 4, -100, 0}, {2, 3});
  // positions predicting labels[:,1:] = {2, 3} and {-100 (skipped), 0}
  auto lp = [&](int b, int t, int c) {
    Tensor row = logits.select(0, b).select(0, t);
    return row.select(0, c).item<double>() - std::log(sum(exp(row)).item<double>());
  };
  const double want = -(lp(0, 0, 2) + lp(0, 1, 3) + lp(1, 1, 0)) / 3.0;
  CHECK(causal_lm_loss(logits, labels).item<double>() == doctest::Approx(want).epsilon(1e-12));
  CHECK_THROWS_AS(causal_lm_loss(zeros({2, 3}), labels), ValueError);
}

TEST_CASE("make_batch stacks blocks in the given order and counts target tokens") {
  auto blocks = cyclic_blocks(3, 4);
  blocks[2].labels[1] = kIgnoreIndex;
  Batch b = make_batch(blocks, {2, 0}, 0, 2);
  CHECK(b.input_ids.shape() == Shape{2, 4});
  CHECK(b.input_ids.select(0, 0).select(0, 0).item<std::int64_t>() == 8);
  CHECK(b.target_tokens == 3 + 2);
}

TEST_CASE("training learns a predictable sequence and evaluation reports perplexity") {
  manual_seed(0);
  TinyLM m(10);
  TrainingArguments args;
  args.max_steps = 60;
  args.batch_size = 4;
  args.learning_rate = 0.05;
  args.progress = false;
  Trainer trainer(m, args, cyclic_blocks(16, 8), cyclic_blocks(4, 8), callbacks(m));
  const EvalResult before = trainer.evaluate();
  TrainResult r = trainer.train();
  REQUIRE(r.final_eval.has_value());
  CHECK(before.perplexity > 5.0);
  CHECK(r.final_eval->perplexity < 1.5);
  CHECK(r.final_eval->perplexity == doctest::Approx(std::exp(r.final_eval->loss)));
  CHECK(r.train_losses.size() == 60);
  CHECK(r.train_losses.back().second < r.train_losses.front().second);
}

TEST_CASE("resuming from checkpoint-N gives exactly the uninterrupted run") {
  TmpDir full_dir, resumed_dir;
  auto run = [&](const fs::path& out, bool resume, std::int64_t steps) {
    manual_seed(1);
    auto m = std::make_shared<TinyLM>(10);
    TrainingArguments args;
    args.output_dir = out;
    args.max_steps = steps;
    args.batch_size = 3;
    args.gradient_accumulation_steps = 2;
    args.learning_rate = 0.02;
    args.warmup_steps = 2;
    args.save_steps = 4;
    args.resume = resume;
    args.progress = false;
    Trainer t(*m, args, cyclic_blocks(10, 6), {}, callbacks(*m));
    t.train();
    return m;
  };
  auto full = run(full_dir.path, false, 10);
  REQUIRE(fs::exists(full_dir.path / "checkpoint-4" / "optimizer.safetensors"));
  REQUIRE(fs::exists(full_dir.path / "checkpoint-8" / "trainer_state.json"));
  CHECK(fs::exists(full_dir.path / "loss_curve.svg"));
  // Start a second run from the first one's checkpoint-4 only.
  fs::copy(full_dir.path / "checkpoint-4", resumed_dir.path / "checkpoint-4", fs::copy_options::recursive);
  auto resumed = run(resumed_dir.path, true, 10);
  for (const auto& [name, p] : full->named_parameters()) {
    INFO(name);
    CHECK(max_abs_diff(p, resumed->get_parameter(name)) == 0.0);
  }
  TmpDir nothing;
  CHECK_THROWS_WITH_AS(run(nothing.path, true, 10), doctest::Contains("no checkpoint"), IoError);
}

TEST_CASE("the loss curve SVG has the train polyline and eval points") {
  LossCurve c{{{1, 3.0}, {2, 2.0}, {3, 1.5}}, {{3, 1.7}}, "t"};
  const std::string svg = render_loss_svg(c);
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(svg.find("<polyline") != std::string::npos);
  CHECK(svg.find("<circle") != std::string::npos);
  CHECK(svg.find("</svg>") != std::string::npos);
  CHECK(render_loss_svg(LossCurve{}).find("</svg>") != std::string::npos);  // empty is fine
}
