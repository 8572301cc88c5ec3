// Autograd through CUDA tensors: a small MLP (embedding, linear, GELU, RMSNorm, softmax,
// cross-entropy, MSE) gives the same loss and gradients on CUDA as on the CPU, and AdamW steps on
// modules moved with Module::to(kCUDA) track the CPU run; lora_linear (GEMMs accumulating with
// beta = 1) matches the CPU forward and backward.
#include <doctest/doctest.h>

#include <memory>

#include "autograd/grad_mode.h"
#include "nn/functional.h"
#include "nn/layers/linear.h"
#include "nn/optim/adam.h"
#include "tests/cuda/cuda_test_util.h"

using namespace peftcpp;
using namespace peftcpp::cuda_test;
namespace F = peftcpp::nn::functional;

namespace {

struct Mlp {
  Tensor emb, w1, b1, norm, w2, b2;

  Mlp to(Device d) const {
    auto leaf = [d](const Tensor& t) { return t.detach().to(d).requires_grad_(); };
    return {leaf(emb), leaf(w1), leaf(b1), leaf(norm), leaf(w2), leaf(b2)};
  }
  TensorList params() const {
    return {emb, w1, b1, norm, w2, b2};
  }
  // ids [B, T] -> scalar loss
  Tensor loss(const Tensor& ids, const Tensor& targets, const Tensor& dense_target) const {
    const Tensor x = F::embedding(ids, emb);                       // [B, T, 13]
    const Tensor h = gelu(F::linear(x, w1, b1));                   // [B, T, 32]
    const Tensor n = F::rms_norm(h, norm);                         // [B, T, 32]
    const Tensor logits = F::linear(n, w2, b2);                    // [B, T, 11]
    const Tensor ce = F::cross_entropy(logits.reshape({-1, 11}), targets.reshape({-1}));
    const Tensor probs = softmax(logits, -1);
    return add(ce, F::mse_loss(probs.narrow(-1, 0, 3), dense_target));
  }
};

}  // namespace

TEST_CASE("cuda autograd: MLP loss and every gradient equal the CPU's (float32, float64)") {
  PEFTCPP_SKIP_WITHOUT_CUDA();
  for (DType d : {kFloat32, kFloat64}) {
    Generator g(2024);
    const Mlp cpu = Mlp{randn({17, 13}, d, &g), mul(randn({32, 13}, d, &g), 0.3), randn({32}, d, &g),
                        add(mul(randn({32}, d, &g), 0.1), 1.0), mul(randn({11, 32}, d, &g), 0.2), randn({11}, d, &g)}
                        .to(kCPU);
    const Mlp gpu = cpu.to(dev());
    const Tensor ids = randint(0, 17, {3, 7}, &g), targets = randint(0, 11, {3, 7}, &g);
    const Tensor dense = rand({3, 7, 3}, d, &g);
    Tensor lc = cpu.loss(ids, targets, dense);
    Tensor lg = gpu.loss(ids.to(dev()), targets.to(dev()), dense.to(dev()));
    const double tol = d == kFloat32 ? 2e-5 : 1e-11;
    check_close(lc, lg, tol, tol, std::string("loss ") + dtype_name(d));
    lc.backward();
    lg.backward();
    const TensorList pc = cpu.params(), pg = gpu.params();
    const char* names[] = {"embedding", "w1", "b1", "norm", "w2", "b2"};
    for (std::size_t i = 0; i < pc.size(); ++i) {
      REQUIRE(pg[i].grad().defined());
      CHECK(pg[i].grad().device() == dev());
      check_close(pc[i].grad(), pg[i].grad(), tol, tol, std::string("grad ") + names[i] + " " + dtype_name(d));
    }
  }
}

TEST_CASE("cuda autograd: nn::Linear moved to CUDA trains like the CPU copy under AdamW") {
  PEFTCPP_SKIP_WITHOUT_CUDA();
  Generator g(7);
  nn::FactoryOptions opts;
  opts.generator = &g;
  auto cpu = std::make_shared<nn::Linear>(13, 5, true, opts);
  auto gpu = std::make_shared<nn::Linear>(13, 5, true, opts);
  for (std::size_t i = 0; i < 2; ++i) {
    NoGradGuard ng;
    gpu->parameters()[i].copy_(cpu->parameters()[i]);
  }
  gpu->to(dev());
  CHECK(gpu->weight.device() == dev());
  nn::optim::AdamWOptions o;
  o.lr = 1e-2;
  nn::optim::AdamW opt_c(cpu->parameters(), o), opt_g(gpu->parameters(), o);
  const Tensor x = randn({9, 13}, kFloat32, &g), y = randn({9, 5}, kFloat32, &g);
  const Tensor xg = x.to(dev()), yg = y.to(dev());
  for (int step = 0; step < 5; ++step) {
    Tensor lc = F::mse_loss(cpu->forward(x), y), lg = F::mse_loss(gpu->forward(xg), yg);
    check_close(lc, lg, 1e-5, 1e-6, "loss at step " + std::to_string(step));
    lc.backward();
    lg.backward();
    opt_c.step();
    opt_g.step();
    opt_c.zero_grad();
    opt_g.zero_grad();
  }
  check_close(cpu->weight.detach(), gpu->weight.detach(), 1e-5, 1e-6, "weight after 5 AdamW steps");
  check_close(cpu->bias.detach(), gpu->bias.detach(), 1e-5, 1e-6, "bias after 5 AdamW steps");
}

TEST_CASE("cuda lora_linear (accumulating GEMMs, beta = 1) equals the CPU forward and backward") {
  PEFTCPP_SKIP_WITHOUT_CUDA();
  for (DType d : {kFloat32, kFloat64}) {
    const double tol = d == kFloat32 ? 2e-5 : 1e-11;
    // x [3, 7, 13], W [11, 13], bias [11], A [4, 13], B [11, 4]; x_a is x itself
    const TensorList host{random_cpu({3, 7, 13}, d, 1), random_cpu({11, 13}, d, 2), random_cpu({11}, d, 3),
                          random_cpu({4, 13}, d, 4), random_cpu({11, 4}, d, 5)};
    const Tensor weights = random_cpu({3, 7, 11}, d, 6);
    TensorList grads[2];
    Tensor outs[2];
    for (int k = 0; k < 2; ++k) {
      const Device device = k == 0 ? kCPU : dev();
      TensorList in;
      for (const Tensor& t : host) in.push_back(t.to(device).detach().requires_grad_());
      outs[k] = lora_linear(in[0], in[1], in[2], in[0], in[3], in[4], 0.5);
      sum(mul(outs[k], weights.to(device))).backward();
      for (const Tensor& t : in) grads[k].push_back(t.grad());
    }
    const std::string dt = dtype_name(d);
    check_close(outs[0], outs[1], tol, tol, "lora_linear output " + dt);
    const char* names[] = {"x", "W", "bias", "A", "B"};
    for (std::size_t i = 0; i < host.size(); ++i) {
      check_close(grads[0][i], grads[1][i], tol, tol, std::string("lora_linear grad ") + names[i] + " " + dt);
    }
  }
}
