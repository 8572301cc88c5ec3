// A 100-step training loop: the loss falls and allocator live bytes return to the same value
// after every step (no leaked graph, state or gradient buffers).
#include <doctest/doctest.h>

#include "nn/nn.h"
#include "tensor/allocator.h"

using namespace peftcpp;
using namespace peftcpp::nn;

namespace {

class Mlp : public UnaryModule {
 public:
  explicit Mlp(Generator* g)
      : fc1(std::make_shared<Linear>(16, 64, true, FactoryOptions{.generator = g})),
        act(std::make_shared<SiLU>()),
        fc2(std::make_shared<Linear>(64, 4, true, FactoryOptions{.generator = g})) {
    register_module("fc1", &fc1);
    register_module("act", &act);
    register_module("fc2", &fc2);
  }
  Tensor forward(const Tensor& x) override {
    return fc2->forward(act->forward(fc1->forward(x)));
  }
  std::shared_ptr<UnaryModule> fc1, act, fc2;
};

}  // namespace

TEST_CASE(
    "100 training steps of an MLP: loss falls and live bytes are identical after every step") {
  Generator g(1);
  auto model = std::make_shared<Mlp>(&g);
  Tensor x = randn({32, 16}, kFloat32, &g);
  Tensor y = tensor<std::int64_t>(std::vector<std::int64_t>(32, 0), {32});
  for (std::int64_t i = 0; i < 32; ++i) y.data_ptr<std::int64_t>()[i] = i % 4;
  optim::AdamW opt(model->parameters(), {});
  opt.param_groups()[0].lr = 1e-2;
  optim::LambdaLR sched = optim::get_cosine_schedule_with_warmup(opt, 10, 100);
  Allocator& alloc = allocator_for(kCPU);
  double first_loss = 0, last_loss = 0;
  std::size_t live_after_first = 0;
  for (int step = 0; step < 100; ++step) {
    opt.zero_grad();
    Tensor loss = functional::cross_entropy(model->forward(x), y);
    loss.backward();
    clip_grad_norm_(model->parameters(), 1.0);
    opt.step();
    sched.step();
    const double l = loss.item<double>();
    loss = Tensor();
    if (step == 0)
      first_loss = l;
    last_loss = l;
    // from the second step on, grads and optimizer state exist: the footprint must stay fixed
    if (step == 1)
      live_after_first = alloc.stats().live_bytes;
    if (step > 1) {
      INFO("step " << step);
      CHECK(alloc.stats().live_bytes == live_after_first);
    }
  }
  CHECK(last_loss < 0.5 * first_loss);
}
