// Linear algebra (tensor/ops/linalg.h): validation, batching over the leading dims, and autograd.
//
// The factorisations run on the CPU in float64 (tensor/cpu/linalg.h, Eigen); float32 inputs are
// widened and the results rounded back. A tensor on another device takes a host round trip: it is
// copied to the CPU, factorised there, and the results are copied back to its device.
//
// Backward formulas port PyTorch's (torch/csrc/autograd/FunctionsManual.cpp @002ca67:
// linalg_qr_backward, svd_backward, linalg_eig_backward with is_hermitian, cholesky_backward; the
// inverse and solve entries of derivatives.yaml). Gradients that do not reach an output arrive as
// zeros, so a zero gradient stands for PyTorch's undefined one. As in PyTorch, the gradients
// through singular vectors / eigenvectors assume distinct singular values / eigenvalues and a loss
// that does not depend on their signs; repeated values raise an error instead of returning inf/NaN.
#include "tensor/ops/linalg.h"

#include <algorithm>

#include "tensor/cpu/linalg.h"
#include "tensor/ops.h"
#include "tensor/ops/linalg_grad.h"
#include "tensor/ops/op_utils.h"

namespace peftcpp {
namespace {
using namespace ops_detail;

// A validated input and its contiguous float64 copy on the host.
struct HostInput {
  Tensor host;
  Shape batch;  // leading dims
  std::int64_t count = 1;
  std::int64_t m = 0, n = 0;
};

HostInput prepare(const Tensor& a, const char* op, bool square) {
  check_defined(a, op);
  PEFTCPP_CHECK_DTYPE(
      a.dtype() == kFloat32 || a.dtype() == kFloat64,
      "[",
      op,
      "] expects float32 or float64, got ",
      dtype_name(a.dtype()));
  PEFTCPP_CHECK_SHAPE(
      a.dim() >= 2,
      "[",
      op,
      "] expects a matrix or a batch of matrices (..., m, n), got ",
      shape_str(a.shape()));
  HostInput h;
  h.m = a.size(-2);
  h.n = a.size(-1);
  PEFTCPP_CHECK_SHAPE(
      !square || h.m == h.n, "[", op, "] expects square matrices, got ", shape_str(a.shape()));
  h.batch = Shape(a.shape().begin(), a.shape().end() - 2);
  h.count = shape_numel(h.batch);
  NoGradGuard ng;
  h.host = a.detach().to(kCPU).to(kFloat64).contiguous();
  return h;
}

Shape batched(const Shape& batch, std::initializer_list<std::int64_t> tail) {
  Shape s = batch;
  s.insert(s.end(), tail.begin(), tail.end());
  return s;
}

Tensor host_empty(const Shape& s) {
  return empty(s, kFloat64, kCPU);
}

double* ptr(const Tensor& t) {
  return t.data_ptr<double>();
}

// The host result in the dtype and on the device of `like`.
Tensor to_input_kind(const Tensor& host, const Tensor& like) {
  NoGradGuard ng;
  Tensor t = host.to(like.dtype());
  return like.device().is_cpu() ? t : t.to(like.device());
}

std::string batch_note(const HostInput& h, const cpu::LinalgStatus& st) {
  return h.batch.empty() ? std::string() : detail::concat(" (batch element ", st.batch, ")");
}

}  // namespace

std::pair<Tensor, Tensor> qr(const Tensor& a, bool reduced) {
  const HostInput h = prepare(a, "qr", false);
  const std::int64_t k = std::min(h.m, h.n), kq = reduced ? k : h.m;
  Tensor q = host_empty(batched(h.batch, {h.m, kq})), r = host_empty(batched(h.batch, {kq, h.n}));
  cpu::qr_kernel(ptr(h.host), ptr(q), ptr(r), h.count, h.m, h.n, !reduced);
  TensorList outs{to_input_kind(q, a), to_input_kind(r, a)};
  if (any_requires_grad({a})) {
    SavedTensor sq(outs[0]), sr(outs[1]);
    const std::int64_t m = h.m, n = h.n;
    record_function(
        "QrBackward", {a}, outs, [sq, sr, m, n, reduced](const TensorList& g) -> TensorList {
          PEFTCPP_CHECK(
              reduced || m <= n,
              "[qr] the complete QR of a matrix with more rows than columns (",
              m,
              " x ",
              n,
              ") is not differentiable; use reduced=true");
          return {linalg_grad::qr_backward(g[0], g[1], sq.get("qr"), sr.get("qr"))};
        });
  }
  return {outs[0], outs[1]};
}

std::tuple<Tensor, Tensor, Tensor> svd(const Tensor& a, bool full_matrices) {
  const HostInput h = prepare(a, "svd", false);
  const std::int64_t k = std::min(h.m, h.n);
  const std::int64_t ku = full_matrices ? h.m : k, kv = full_matrices ? h.n : k;
  Tensor u = host_empty(batched(h.batch, {h.m, ku})), s = host_empty(batched(h.batch, {k}));
  Tensor vh = host_empty(batched(h.batch, {kv, h.n}));
  cpu::svd_kernel(ptr(h.host), ptr(u), ptr(s), ptr(vh), h.count, h.m, h.n, full_matrices);
  TensorList outs{to_input_kind(u, a), to_input_kind(s, a), to_input_kind(vh, a)};
  if (any_requires_grad({a})) {
    SavedTensor su(outs[0]), ss(outs[1]), sv(outs[2]);
    record_function("SvdBackward", {a}, outs, [su, ss, sv, k](const TensorList& g) -> TensorList {
      // with full_matrices only the first k singular vectors take part (as PyTorch narrows them)
      const Tensor U = su.get("svd").narrow(-1, 0, k), Vh = sv.get("svd").narrow(-2, 0, k);
      return {linalg_grad::svd_backward(
          g[0].narrow(-1, 0, k), g[1], g[2].narrow(-2, 0, k), U, ss.get("svd"), Vh)};
    });
  }
  return {outs[0], outs[1], outs[2]};
}

Tensor solve(const Tensor& a, const Tensor& b) {
  check_defined(a, "solve");
  check_defined(b, "solve", "b");
  check_same_device(a, b, "solve");
  PEFTCPP_CHECK_SHAPE(
      a.dim() >= 2 && a.size(-1) == a.size(-2),
      "[solve] a must be a square matrix or a batch of them, got ",
      shape_str(a.shape()));
  PEFTCPP_CHECK_DTYPE(
      is_floating_point(b.dtype()),
      "[solve] b must be floating point, got ",
      dtype_name(b.dtype()));
  const DType rt = promote_types(a.dtype(), b.dtype());
  const Tensor ac = cast_if_needed(a, rt), bc = cast_if_needed(b, rt);
  const std::int64_t n = a.size(-1);
  // b is a (batch of) vector(s) when it has one dim less than a and matches a's leading dims
  const bool vector =
      b.dim() == 1 ||
      (b.dim() == a.dim() - 1 && Shape(b.shape()) == Shape(a.shape().begin(), a.shape().end() - 1));
  const Tensor bm = vector ? bc.unsqueeze(-1) : bc;
  PEFTCPP_CHECK_SHAPE(
      bm.dim() >= 2 && bm.size(-2) == n,
      "[solve] a of shape ",
      shape_str(a.shape()),
      " and b of shape ",
      shape_str(b.shape()),
      " do not fit (b needs ",
      n,
      " rows)");
  const std::int64_t k = bm.size(-1);
  const Shape bs = broadcast_shapes(
      Shape(a.shape().begin(), a.shape().end() - 2),
      Shape(bm.shape().begin(), bm.shape().end() - 2),
      "solve");
  const HostInput h = prepare(ac.detach().expand(batched(bs, {n, n})), "solve", true);
  const Tensor hb = bm.detach().expand(batched(bs, {n, k})).to(kCPU).to(kFloat64).contiguous();
  Tensor x = host_empty(batched(bs, {n, k}));
  const cpu::LinalgStatus st = cpu::solve_kernel(ptr(h.host), ptr(hb), ptr(x), h.count, n, k);
  PEFTCPP_CHECK(
      st.ok(),
      "[solve] a is singular",
      batch_note(h, st),
      ": U(",
      st.info,
      ",",
      st.info,
      ") of its LU factorisation is exactly zero");
  Tensor xm = to_input_kind(x, ac);
  TensorList outs{vector ? xm.squeeze(-1) : xm};
  if (any_requires_grad({ac, bc})) {
    SavedTensor sa(ac), sx(xm);
    const Shape a_shape = ac.shape(), b_shape = bc.shape(), bm_shape = bm.shape();
    record_function(
        "SolveBackward",
        {ac, bc},
        outs,
        [sa, sx, vector, a_shape, b_shape, bm_shape](const TensorList& g) -> TensorList {
          const Tensor gx = vector ? g[0].unsqueeze(-1) : g[0];
          const Tensor A = sa.get("solve");
          const Tensor gb = solve(A.mT(), gx);  // A^{-T} gX (batch dims broadcast)
          const Tensor ga = neg(matmul(gb, sx.get("solve").mT()));
          return {sum_to(ga, a_shape), sum_to(gb, bm_shape).reshape(b_shape)};
        });
  }
  return outs[0];
}

Tensor inverse(const Tensor& a) {
  const HostInput h = prepare(a, "inverse", true);
  Tensor x = host_empty(a.shape());
  const cpu::LinalgStatus st = cpu::solve_kernel(ptr(h.host), nullptr, ptr(x), h.count, h.n, h.n);
  PEFTCPP_CHECK(
      st.ok(),
      "[inverse] the matrix is singular",
      batch_note(h, st),
      ": U(",
      st.info,
      ",",
      st.info,
      ") of its LU factorisation is exactly zero");
  TensorList outs{to_input_kind(x, a)};
  if (any_requires_grad({a})) {
    SavedTensor sx(outs[0]);
    record_function("InverseBackward", {a}, outs, [sx](const TensorList& g) -> TensorList {
      const Tensor xt = sx.get("inverse").mT();
      return {neg(matmul(xt, matmul(g[0], xt)))};
    });
  }
  return outs[0];
}

Tensor cholesky(const Tensor& a) {
  const HostInput h = prepare(a, "cholesky", true);
  Tensor l = host_empty(a.shape());
  const cpu::LinalgStatus st = cpu::cholesky_kernel(ptr(h.host), ptr(l), h.count, h.n);
  PEFTCPP_CHECK(
      st.ok(),
      "[cholesky] the input is not positive definite",
      batch_note(h, st),
      ": the leading minor of order ",
      st.info,
      " is not positive definite");
  TensorList outs{to_input_kind(l, a)};
  if (any_requires_grad({a})) {
    SavedTensor sl(outs[0]);
    record_function("CholeskyBackward", {a}, outs, [sl](const TensorList& g) -> TensorList {
      return {linalg_grad::cholesky_backward(g[0], sl.get("cholesky"))};
    });
  }
  return outs[0];
}

std::pair<Tensor, Tensor> eigh(const Tensor& a) {
  const HostInput h = prepare(a, "eigh", true);
  Tensor w = host_empty(batched(h.batch, {h.n})), v = host_empty(a.shape());
  const cpu::LinalgStatus st = cpu::eigh_kernel(ptr(h.host), ptr(w), ptr(v), h.count, h.n);
  PEFTCPP_CHECK(
      st.ok(),
      "[eigh] the eigenvalue iteration did not converge",
      batch_note(h, st),
      " (is the input finite?)");
  TensorList outs{to_input_kind(w, a), to_input_kind(v, a)};
  if (any_requires_grad({a})) {
    SavedTensor sw(outs[0]), sv(outs[1]);
    record_function("EighBackward", {a}, outs, [sw, sv](const TensorList& g) -> TensorList {
      return {linalg_grad::eigh_backward(g[0], g[1], sw.get("eigh"), sv.get("eigh"))};
    });
  }
  return {outs[0], outs[1]};
}

}  // namespace peftcpp
