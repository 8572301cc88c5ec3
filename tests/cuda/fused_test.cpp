// The fused training kernels on CUDA (rms_norm, rotary, silu_mul, cross_entropy, Adam/AdamW):
// forward values and input gradients equal the CPU's fused kernels, and the composed path on
// CUDA (FusedKernelsDisabled), in float64 to rounding and float32 within float tolerance.
#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <optional>

#include "nn/nn.h"
#include "nn/optim/adam.h"
#include "tests/cuda/cuda_test_util.h"

using namespace peftcpp;
using namespace peftcpp::cuda_test;
namespace F = peftcpp::nn::functional;

namespace {

using Fn = std::function<Tensor(const TensorList&)>;

struct Run {
  Tensor out;
  TensorList grads;
};

// Output and input gradients (for a fixed output weighting) of fn at leaf copies on `device`.
Run run(const Fn& fn, const TensorList& inputs, Device device, bool fused) {
  std::optional<FusedKernelsDisabled> off;
  if (!fused) off.emplace();
  TensorList leaves;
  for (const Tensor& t : inputs) {
    Tensor c = t.detach().to(device).clone();
    if (t.requires_grad()) c.requires_grad_();
    leaves.push_back(c);
  }
  Run r;
  r.out = fn(leaves);
  Generator g(7);
  const Tensor w = randn(r.out.shape(), r.out.dtype(), &g).to(device);
  sum(mul(r.out, w)).backward();
  for (const Tensor& t : leaves) r.grads.push_back(t.requires_grad() ? t.grad() : Tensor());
  return r;
}

void check_cuda(const Fn& fn, const TensorList& inputs, double tol, const std::string& what) {
  const Run cpu = run(fn, inputs, kCPU, true);
  const Run gpu = run(fn, inputs, dev(), true);
  const Run composed = run(fn, inputs, dev(), false);
  check_close(cpu.out, gpu.out, tol, tol, what + ": CUDA fused vs CPU fused");
  check_close(composed.out.to(kCPU), gpu.out, tol, tol, what + ": CUDA fused vs CUDA composed");
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].requires_grad()) continue;
    REQUIRE(gpu.grads[i].defined());
    check_close(cpu.grads[i], gpu.grads[i], tol, tol, what + ": gradient of input " + std::to_string(i));
    check_close(composed.grads[i].to(kCPU), gpu.grads[i], tol, tol,
                what + ": gradient of input " + std::to_string(i) + " vs composed");
  }
}

Tensor leaf(const Shape& s, DType dt, std::uint64_t seed) {
  return random_cpu(s, dt, seed).requires_grad_();
}

double tol_for(DType dt) {
  return dt == kFloat64 ? 1e-11 : 2e-5;
}

}  // namespace

TEST_CASE("cuda fused rms_norm and silu_mul match the CPU kernels and the composed path") {
  PEFTCPP_SKIP_WITHOUT_CUDA();
  for (DType dt : {kFloat64, kFloat32}) {
    const std::string d = dtype_name(dt);
    const Fn with_w = [](const TensorList& in) { return F::rms_norm(in[0], in[1], 1e-6); };
    const Fn no_w = [](const TensorList& in) { return F::rms_norm(in[0], Tensor(), 1e-5); };
    check_cuda(with_w, {leaf({7, 13, 33}, dt, 1), leaf({33}, dt, 2)}, tol_for(dt), "rms_norm " + d);
    check_cuda(no_w, {leaf({5, 3000}, dt, 3)}, tol_for(dt), "rms_norm long rows " + d);
    const Fn silu = [](const TensorList& in) { return F::silu_mul(in[0], in[1]); };
    check_cuda(silu, {leaf({7, 13, 5}, dt, 4), leaf({7, 13, 5}, dt, 5)}, tol_for(dt), "silu_mul " + d);
    check_cuda(silu, {random_cpu({3, 301}, dt, 6, 6.0), leaf({3, 301}, dt, 7)}, tol_for(dt), "silu_mul up only " + d);
  }
}

TEST_CASE("cuda fused rotary matches the CPU kernel for [B, T, H, D] projections and broadcast tables") {
  PEFTCPP_SKIP_WITHOUT_CUDA();
  const std::int64_t B = 2, T = 7, H = 3, D = 10;
  for (DType dt : {kFloat64, kFloat32}) {
    for (const std::int64_t cb : {std::int64_t{1}, B}) {
      const Tensor cos = random_cpu({cb, T, D}, dt, 11).to(dev()), sin = random_cpu({cb, T, D}, dt, 12).to(dev());
      const Tensor cos_c = cos.to(kCPU), sin_c = sin.to(kCPU);
      const Fn fn = [&](const TensorList& in) {
        const bool gpu = in[0].device() == dev();
        Tensor q = in[0].transpose(1, 2);  // [B, T, H, D] viewed [B, H, T, D]
        auto [qe, ke] = F::apply_rotary_pos_emb(q, in[1], gpu ? cos : cos_c, gpu ? sin : sin_c);
        return add(qe, mul(ke, 0.5));
      };
      check_cuda(fn, {leaf({B, T, H, D}, dt, 13), leaf({B, H, T, D}, dt, 14)}, tol_for(dt),
                 std::string("rotary ") + dtype_name(dt) + " cos batch " + std::to_string(cb));
    }
  }
}

TEST_CASE("cuda fused cross_entropy matches the CPU for every reduction, ignored rows, long rows") {
  PEFTCPP_SKIP_WITHOUT_CUDA();
  const Tensor target = tensor<std::int64_t>({3, -100, 0, 6, 2, -100, 6}, {7});
  for (DType dt : {kFloat64, kFloat32}) {
    for (const char* red : {"mean", "sum", "none"}) {
      const Fn fn = [&](const TensorList& in) {
        return F::cross_entropy(in[0], target.to(in[0].device()), Tensor(), -100, red);
      };
      const std::string what = std::string("cross_entropy ") + dtype_name(dt) + " " + red;
      check_cuda(fn, {leaf({7, 7}, dt, 21)}, tol_for(dt), what);
      check_cuda(fn, {leaf({7, 3001}, dt, 22)}, tol_for(dt), what + " long rows");
    }
  }
}

TEST_CASE("cuda fused Adam and AdamW steps match the CPU steps for every option") {
  PEFTCPP_SKIP_WITHOUT_CUDA();
  struct Case {
    bool decoupled, amsgrad, maximize;
    double wd;
  };
  for (const Case c : {Case{true, false, false, 0.01}, Case{true, true, false, 0.1}, Case{false, false, true, 0.05},
                       Case{false, true, false, 0.0}}) {
    for (const DType dt : {kFloat64, kFloat32}) {
      TensorList result;
      for (const Device dev : {kCPU, dev()}) {
        Tensor p = random_cpu({37, 3}, dt, 31).to(dev).requires_grad_();
        nn::optim::AdamOptions o;
        o.lr = 0.05;
        o.weight_decay = c.wd;
        o.amsgrad = c.amsgrad;
        o.maximize = c.maximize;
        std::unique_ptr<nn::optim::Optimizer> opt;
        if (c.decoupled) {
          nn::optim::AdamWOptions w;
          static_cast<nn::optim::AdamOptions&>(w) = o;
          opt = std::make_unique<nn::optim::AdamW>(TensorList{p}, w);
        } else {
          opt = std::make_unique<nn::optim::Adam>(TensorList{p}, o);
        }
        for (int step = 0; step < 4; ++step) {
          sum(mul(square(p), 1.0 / (1.0 + step))).backward();
          opt->step();
          opt->zero_grad();
        }
        result.push_back(p.detach());
      }
      check_close(result[0], result[1], dt == kFloat64 ? 1e-13 : 1e-6, dt == kFloat64 ? 1e-13 : 1e-6,
                  std::string("Adam steps ") + dtype_name(dt) + (c.decoupled ? " AdamW" : " Adam") +
                      (c.amsgrad ? " amsgrad" : "") + (c.maximize ? " maximize" : ""));
    }
  }
}
