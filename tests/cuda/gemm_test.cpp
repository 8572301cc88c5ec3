// GEMM through cuBLAS against the CPU: mm/bmm/matmul/linear in float32, float64, bfloat16 and
// float16, transposed operands passed as flags (views, not copies), batched and folded products,
// alpha/beta accumulation, the TF32 switch, and the DeviceError for integer dtypes.
#include <doctest/doctest.h>

#include "tests/cuda/cuda_test_util.h"

using namespace peftcpp;
using namespace peftcpp::cuda_test;

namespace {

// The CPU multiplies 16-bit floats in float32 and rounds once; cuBLAS accumulates in float32 too
// but in another order. Tolerances scale with sqrt(k) units of the product magnitude.
double gemm_tol(DType d) {
  switch (d) {
    case DType::Float64: return 1e-11;
    case DType::Float32: return 2e-5;
    case DType::Float16: return 4e-3;
    default: return 2e-2;
  }
}

}  // namespace

TEST_CASE("cuda matmul equals the CPU for every float dtype, odd shapes and transposed views") {
  PEFTCPP_SKIP_WITHOUT_CUDA();
  for (DType d : float_dtypes()) {
    const double tol = gemm_tol(d);
    const Tensor a = random_cpu({7, 13}, d, 61), b = random_cpu({13, 5}, d, 62);
    const Tensor ag = a.to(dev()), bg = b.to(dev());
    const std::string dt = dtype_name(d);
    check_close(mm(a, b), mm(ag, bg), tol, tol, "mm " + dt);
    // transposed operands: stored [13, 7] and [5, 13], viewed through .t()
    const Tensor at = a.t().contiguous(), bt = b.t().contiguous();
    check_close(mm(at.t(), bt.t()), mm(at.to(dev()).t(), bt.to(dev()).t()), tol, tol, "mm transposed " + dt);
    check_close(mm(at.t(), b), mm(at.to(dev()).t(), bg), tol, tol, "mm A^T " + dt);
    // batched, and a batched LHS with a 2-D RHS (folded into one GEMM)
    const Tensor x = random_cpu({3, 7, 13}, d, 63), y = random_cpu({3, 13, 5}, d, 64);
    check_close(bmm(x, y), bmm(x.to(dev()), y.to(dev())), tol, tol, "bmm " + dt);
    check_close(matmul(x, b), matmul(x.to(dev()), bg), tol, tol, "matmul folded " + dt);
    check_close(bmm(x, y.transpose(1, 2).contiguous().transpose(1, 2)),
                bmm(x.to(dev()), y.to(dev()).transpose(1, 2).contiguous().transpose(1, 2)), tol, tol,
                "bmm transposed rhs " + dt);
    const Tensor w = random_cpu({11, 13}, d, 65), bias = random_cpu({11}, d, 66);
    check_close(linear(x, w, bias), linear(x.to(dev()), w.to(dev()), bias.to(dev())), tol, tol, "linear " + dt);
    // empty inner dimension: zeros
    check_close(mm(zeros({4, 0}, d), zeros({0, 3}, d)), mm(zeros({4, 0}, d, dev()), zeros({0, 3}, d, dev())), 0.0,
                0.0, "k = 0 " + dt);
  }
}

TEST_CASE("cuda gemm: alpha/beta through the backend, TF32 off by default, integers refused") {
  PEFTCPP_SKIP_WITHOUT_CUDA();
  CHECK_FALSE(cuda::allow_tf32());
  const Tensor a = random_cpu({33, 17}, kFloat32, 71), b = random_cpu({17, 9}, kFloat32, 72);
  const Tensor c0 = random_cpu({33, 9}, kFloat32, 73);
  auto run = [&](Device dev) {
    Tensor c = c0.to(dev).clone();
    const Tensor ad = a.to(dev), bd = b.to(dev);
    GemmArgs g;
    g.dtype = kFloat32;
    g.m = 33;
    g.n = 9;
    g.k = 17;
    g.alpha = 0.5;
    g.beta = -2.0;
    g.a = ad.raw_data();
    g.lda = 17;
    g.b = bd.raw_data();
    g.ldb = 9;
    g.c = c.raw_data();
    g.ldc = 9;
    backend_for(dev).gemm(g);
    return c;
  };
  check_close(run(kCPU), run(dev()), 2e-5, 2e-5, "alpha 0.5, beta -2");
  cuda::set_allow_tf32(true);
  // TF32 keeps 10 mantissa bits of the inputs: close, not equal
  check_close(mm(a, b), mm(a.to(dev()), b.to(dev())), 5e-3, 5e-3, "TF32 on");
  cuda::set_allow_tf32(false);
  Tensor ci = zeros({2, 2}, kInt32, dev());
  const Tensor ai = zeros({2, 2}, kInt32, dev());
  GemmArgs gi;
  gi.dtype = kInt32;
  gi.m = gi.n = gi.k = 2;
  gi.a = gi.b = ai.raw_data();
  gi.c = ci.raw_data();
  gi.lda = gi.ldb = gi.ldc = 2;
  if (!dry_run_on_cpu()) CHECK_THROWS_AS(backend_for(dev()).gemm(gi), DeviceError);  // the CPU: DTypeError
}
