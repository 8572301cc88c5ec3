// Training-step benchmark: one line per workload with steps/s and ms/step.
//   mlp:  [64, 512] -> Linear 1024 -> GELU -> Linear 512 -> GELU -> Linear 10, cross entropy, AdamW
//   conv: [16, 16, 32, 32] -> Conv2d 32 3x3 pad 1 -> ReLU -> Conv2d 32 3x3 stride 2 -> mean^2, SGD
//   lm_head_ce: cross entropy forward + backward on [512, 32000] logits (the LM-head hot path)
// Usage: train_step [seconds per workload, default 2]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include "nn/nn.h"

using namespace peftcpp;
using namespace peftcpp::nn;

namespace {

void run(
    const std::string& name,
    const std::string& what,
    double seconds,
    const std::function<void()>& step) {
  for (int i = 0; i < 3; ++i) step();  // warm the allocator cache and the code
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  int n = 0;
  double elapsed = 0.0;
  while (elapsed < seconds || n < 5) {
    step();
    ++n;
    elapsed = std::chrono::duration<double>(clock::now() - t0).count();
  }
  std::printf(
      "train_step %-10s %-58s %8.2f steps/s %9.3f ms/step (%d steps)\n",
      name.c_str(),
      what.c_str(),
      n / elapsed,
      1e3 * elapsed / n,
      n);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
  Generator gen(0);
  const FactoryOptions fo{.generator = &gen};
  {
    auto model = std::make_shared<Sequential>(std::vector<std::shared_ptr<UnaryModule>>{
        std::make_shared<Linear>(512, 1024, true, fo),
        std::make_shared<GELU>(),
        std::make_shared<Linear>(1024, 512, true, fo),
        std::make_shared<GELU>(),
        std::make_shared<Linear>(512, 10, true, fo)});
    Tensor x = randn({64, 512}, kFloat32, &gen);
    Tensor y = randint(0, 10, {64}, &gen);
    optim::AdamW opt(model->parameters(), {});
    run("mlp", "B=64 512-1024-512-10 gelu, cross_entropy, AdamW", seconds, [&] {
      opt.zero_grad();
      functional::cross_entropy(model->forward(x), y).backward();
      opt.step();
    });
  }
  {
    auto c1 = std::make_shared<Conv2d>(
        16, 32, std::vector<std::int64_t>{3}, Conv2dOptions{.padding = 1}, fo);
    auto c2 = std::make_shared<Conv2d>(
        32, 32, std::vector<std::int64_t>{3}, Conv2dOptions{.stride = {2}}, fo);
    Tensor x = randn({16, 16, 32, 32}, kFloat32, &gen);
    TensorList params = c1->parameters();
    for (const Tensor& p : c2->parameters()) params.push_back(p);
    optim::SGD opt(params, {.lr = 1e-3, .momentum = 0.9});
    run("conv", "N=16 16x32x32 conv3x3(32,pad1)-relu-conv3x3(32,s2), SGD", seconds, [&] {
      opt.zero_grad();
      mean(square(c2->forward(relu(c1->forward(x))))).backward();
      opt.step();
    });
  }
  {
    Tensor logits = mul(randn({512, 32000}, kFloat32, &gen), 2.0).requires_grad_();
    Tensor t = randint(0, 32000, {512}, &gen);
    run("lm_head_ce", "cross_entropy fwd+bwd [512, 32000]", seconds, [&] {
      logits.set_grad(Tensor());
      functional::cross_entropy(logits, t).backward();
    });
  }
  return 0;
}
