// matmul / bmm / mm / linear / outer / kron. Transposed operands are passed to the GEMM as
// transpose flags (never copied) whenever their strides allow it.
#include "tensor/ops/matmul.h"

#include "tensor/ops.h"
#include "tensor/ops/op_utils.h"

namespace peftcpp {
namespace {
using namespace ops_detail;

// How a 2-D (or batched 3-D) operand can be fed to a row-major GEMM without copying.
struct GemmOperand {
  Tensor t;  // possibly a contiguous copy
  bool trans = false;
  std::int64_t ld = 0, batch_stride = 0;
};

GemmOperand as_gemm_operand(const Tensor& x) {
  // x: [..., r, c] with at most one batch dim
  const std::int64_t nd = x.dim();
  const std::int64_t r = x.size(-2), c = x.size(-1);
  const std::int64_t sr = x.stride(-2), sc = x.stride(-1);
  const std::int64_t sb = nd == 3 ? x.stride(0) : 0;
  const bool batch_ok = nd == 2 || x.size(0) == 1 || sb >= r * c || sb == 0;
  if (batch_ok && (sc == 1 || c == 1) && (sr >= std::max<std::int64_t>(c, 1) || r == 1)) {
    return {x, false, std::max<std::int64_t>(r == 1 ? c : sr, 1), sb};
  }
  if (batch_ok && (sr == 1 || r == 1) && (sc >= std::max<std::int64_t>(r, 1) || c == 1)) {
    return {x, true, std::max<std::int64_t>(c == 1 ? r : sc, 1), sb};
  }
  Tensor cc = x.contiguous();
  return {cc, false, std::max<std::int64_t>(c, 1), nd == 3 ? r * c : 0};
}

// out[B, m, n] (contiguous) = alpha * a[B, m, k] @ b[B, k, n] + beta * out. B may be absent.
void gemm_into(const Tensor& a, const Tensor& b, const Tensor& out, double alpha, double beta) {
  const std::int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  GemmOperand ga = as_gemm_operand(a), gb = as_gemm_operand(b);
  GemmArgs g;
  g.dtype = out.dtype();
  g.trans_a = ga.trans;
  g.trans_b = gb.trans;
  g.m = m;
  g.n = n;
  g.k = k;
  g.alpha = alpha;
  g.beta = beta;
  g.a = ga.t.raw_data();
  g.lda = ga.ld;
  g.stride_a = ga.batch_stride;
  g.b = gb.t.raw_data();
  g.ldb = gb.ld;
  g.stride_b = gb.batch_stride;
  g.c = out.raw_data();
  g.ldc = std::max<std::int64_t>(n, 1);
  g.stride_c = m * n;
  g.batch = out.dim() == 3 ? out.size(0) : 1;
  if (m == 0 || n == 0) return;
  backend_of(out).gemm(g);
}

void check_float_pair(const Tensor& a, const Tensor& b, const char* op) {
  check_defined(a, op);
  check_defined(b, op);
  check_same_device(a, b, op);
  PEFTCPP_CHECK_DTYPE(a.dtype() == b.dtype(), "[", op, "] dtypes differ: ", dtype_name(a.dtype()), " and ",
                      dtype_name(b.dtype()));
  PEFTCPP_CHECK_DTYPE(is_floating_point(a.dtype()), "[", op, "] expects floating-point tensors, got ",
                      dtype_name(a.dtype()));
}

// Raw batched product with 16-bit floats computed in float32 on the CPU.
Tensor bmm_raw(const Tensor& a, const Tensor& b) {
  const DType dt = a.dtype();
  const bool widen = a.device().is_cpu() && (dt == kFloat16 || dt == kBFloat16);
  Tensor aa = widen ? a.to(kFloat32) : a, bb = widen ? b.to(kFloat32) : b;
  Shape out_shape = {a.size(-2), b.size(-1)};
  if (a.dim() == 3) out_shape.insert(out_shape.begin(), a.size(0));
  Tensor out = empty(out_shape, aa.dtype(), a.device());
  gemm_into(aa, bb, out, 1.0, 0.0);
  return widen ? out.to(dt) : out;
}

Tensor mm_impl(const Tensor& a, const Tensor& b, const char* op) {
  Tensor out = bmm_raw(a.detach(), b.detach());
  if (!any_requires_grad({a, b})) return out;
  SavedTensor sa(b.requires_grad() ? a : Tensor()), sb(a.requires_grad() ? b : Tensor());
  TensorList outs{out};
  record_function(op == std::string("bmm") ? "BmmBackward" : "MmBackward", {a, b}, outs,
                  [sa, sb](const TensorList& g) -> TensorList {
                    Tensor ga, gb;
                    if (sb.defined()) ga = bmm_raw(g[0], sb.get("matmul").mT());
                    if (sa.defined()) gb = bmm_raw(sa.get("matmul").mT(), g[0]);
                    return {ga, gb};
                  });
  return outs[0];
}

}  // namespace

Tensor mm(const Tensor& a, const Tensor& b) {
  check_float_pair(a, b, "mm");
  PEFTCPP_CHECK_SHAPE(a.dim() == 2 && b.dim() == 2, "[mm] expects 2-D tensors, got ", shape_str(a.shape()), " and ",
                      shape_str(b.shape()));
  PEFTCPP_CHECK_SHAPE(a.size(1) == b.size(0), "[mm] inner dimensions differ: ", shape_str(a.shape()), " @ ",
                      shape_str(b.shape()));
  return mm_impl(a, b, "mm");
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  check_float_pair(a, b, "bmm");
  PEFTCPP_CHECK_SHAPE(a.dim() == 3 && b.dim() == 3, "[bmm] expects 3-D tensors, got ", shape_str(a.shape()), " and ",
                      shape_str(b.shape()));
  PEFTCPP_CHECK_SHAPE(a.size(0) == b.size(0) && a.size(2) == b.size(1), "[bmm] shapes do not fit: ",
                      shape_str(a.shape()), " @ ", shape_str(b.shape()));
  return mm_impl(a, b, "bmm");
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_float_pair(a, b, "matmul");
  PEFTCPP_CHECK_SHAPE(a.dim() >= 1 && b.dim() >= 1, "[matmul] both arguments need at least 1 dim, got ",
                      shape_str(a.shape()), " and ", shape_str(b.shape()));
  if (a.dim() == 1 && b.dim() == 1) {
    PEFTCPP_CHECK_SHAPE(a.size(0) == b.size(0), "[matmul] vector sizes differ: ", shape_str(a.shape()), " and ",
                        shape_str(b.shape()));
    return mm(a.unsqueeze(0), b.unsqueeze(1)).reshape({});
  }
  if (a.dim() == 1) return matmul(a.unsqueeze(0), b).squeeze(-2);
  if (b.dim() == 1) return matmul(a, b.unsqueeze(1)).squeeze(-1);
  const std::int64_t m = a.size(-2), k = a.size(-1), k2 = b.size(-2), n = b.size(-1);
  PEFTCPP_CHECK_SHAPE(k == k2, "[matmul] inner dimensions differ: ", shape_str(a.shape()), " @ ", shape_str(b.shape()));
  if (a.dim() == 2 && b.dim() == 2) return mm(a, b);
  if (b.dim() == 2) {
    // fold a's batch dims into rows: one large GEMM
    Shape out_shape(a.shape().begin(), a.shape().end() - 1);
    out_shape.push_back(n);
    return mm(a.reshape({-1, k}), b).reshape(out_shape);
  }
  const Shape batch_a(a.shape().begin(), a.shape().end() - 2), batch_b(b.shape().begin(), b.shape().end() - 2);
  const Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
  Shape ea = batch, eb = batch;
  ea.insert(ea.end(), {m, k});
  eb.insert(eb.end(), {k, n});
  const std::int64_t nb = shape_numel(batch);
  Tensor out = bmm(a.expand(ea).reshape({nb, m, k}), b.expand(eb).reshape({nb, k, n}));
  Shape out_shape = batch;
  out_shape.insert(out_shape.end(), {m, n});
  return out.reshape(out_shape);
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_float_pair(x, weight, "linear");
  PEFTCPP_CHECK_SHAPE(weight.dim() == 2, "[linear] weight must be 2-D [out, in], got ", shape_str(weight.shape()));
  PEFTCPP_CHECK_SHAPE(x.dim() >= 1 && x.size(-1) == weight.size(1), "[linear] input ", shape_str(x.shape()),
                      " does not match weight ", shape_str(weight.shape()), " (expected last dim ", weight.size(1), ")");
  if (bias.defined()) {
    PEFTCPP_CHECK_SHAPE(bias.dim() == 1 && bias.size(0) == weight.size(0), "[linear] bias ", shape_str(bias.shape()),
                        " does not match weight ", shape_str(weight.shape()));
  }
  const std::int64_t in = weight.size(1), out_features = weight.size(0);
  Shape out_shape(x.shape().begin(), x.shape().end() - 1);
  out_shape.push_back(out_features);
  // Batch dims folded into rows: one GEMM y = x W^T (the transpose is a GEMM flag).
  const Tensor x2 = x.reshape({-1, in});
  Tensor y = bmm_raw(x2.detach(), weight.detach().t());
  if (any_requires_grad({x2, weight})) {
    // dW = g^T x comes out of one GEMM already in W's [out, in] layout; going through
    // matmul(x, W.t()) would produce d(W^T) and cost a transposed copy of every weight gradient.
    SavedTensor sx(weight.requires_grad() ? x2 : Tensor()), sw(x2.requires_grad() ? weight : Tensor());
    TensorList outs{y};
    record_function("LinearBackward", {x2, weight}, outs, [sx, sw](const TensorList& g) -> TensorList {
      Tensor gx, gw;
      if (sw.defined()) gx = bmm_raw(g[0], sw.get("linear"));
      if (sx.defined()) gw = bmm_raw(g[0].mT(), sx.get("linear"));
      return {gx, gw};
    });
    y = outs[0];
  }
  y = y.reshape(out_shape);
  return bias.defined() ? add(y, bias) : y;
}

Tensor lora_linear(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& x_a, const Tensor& lora_a,
                   const Tensor& lora_b, double scale) {
  check_float_pair(x, weight, "lora_linear");
  check_float_pair(x_a, lora_a, "lora_linear");
  check_float_pair(lora_a, lora_b, "lora_linear");
  check_float_pair(x, x_a, "lora_linear");
  PEFTCPP_CHECK_SHAPE(weight.dim() == 2 && lora_a.dim() == 2 && lora_b.dim() == 2, "[lora_linear] weight, A and B must be 2-D, got ",
                      shape_str(weight.shape()), ", ", shape_str(lora_a.shape()), ", ", shape_str(lora_b.shape()));
  const std::int64_t in = weight.size(1), out_features = weight.size(0), r = lora_a.size(0);
  PEFTCPP_CHECK_SHAPE(lora_a.size(1) == in && lora_b.size(0) == out_features && lora_b.size(1) == r,
                      "[lora_linear] A ", shape_str(lora_a.shape()), " and B ", shape_str(lora_b.shape()),
                      " do not fit weight ", shape_str(weight.shape()));
  PEFTCPP_CHECK_SHAPE(x.dim() >= 1 && x.size(-1) == in && x_a.shape() == x.shape(), "[lora_linear] input ",
                      shape_str(x.shape()), " (adapter input ", shape_str(x_a.shape()), ") does not match weight ",
                      shape_str(weight.shape()));
  if (bias.defined()) {
    PEFTCPP_CHECK_SHAPE(bias.dim() == 1 && bias.size(0) == out_features, "[lora_linear] bias ",
                        shape_str(bias.shape()), " does not match weight ", shape_str(weight.shape()));
  }
  const DType dt = x.dtype();
  if (x.device().is_cpu() && dt != kFloat32 && dt != kFloat64) {
    // the CPU GEMM computes 16-bit products in float32 through copies: no accumulation in place
    return add(linear(x, weight, bias), mul(linear(linear(x_a, lora_a), lora_b), scale));
  }
  Shape out_shape(x.shape().begin(), x.shape().end() - 1);
  out_shape.push_back(out_features);
  const bool shared_input = x_a.is_same(x);
  const Tensor x2 = x.reshape({-1, in}), xa2 = shared_input ? x2 : x_a.reshape({-1, in});
  const std::int64_t rows = x2.size(0);
  // y = x W^T, then y += scale * (x_a A^T) B^T: one [rows, r] intermediate, no [rows, out] one
  Tensor y = empty({rows, out_features}, dt, x.device());
  gemm_into(x2.detach(), weight.detach().t(), y, 1.0, 0.0);
  Tensor t = empty({rows, r}, dt, x.device());
  gemm_into(xa2.detach(), lora_a.detach().t(), t, 1.0, 0.0);
  gemm_into(t, lora_b.detach().t(), y, scale, 1.0);
  TensorList ins = shared_input ? TensorList{x2, weight, lora_a, lora_b} : TensorList{x2, weight, lora_a, lora_b, xa2};
  if (any_requires_grad(ins)) {
    const bool want_x = x2.requires_grad(), want_w = weight.requires_grad(), want_a = lora_a.requires_grad(),
               want_b = lora_b.requires_grad(), want_xa = !shared_input && xa2.requires_grad();
    SavedTensor sx(want_w ? x2 : Tensor()), sxa(want_a ? xa2 : Tensor()), sw(want_x ? weight : Tensor()),
        sa(want_x || want_xa ? lora_a : Tensor()), sb(want_x || want_xa || want_a ? lora_b : Tensor());
    const Tensor st = want_b ? t : Tensor();  // x_a A^T, read by dB only
    TensorList outs{y};
    record_function("LoraLinearBackward", ins, outs,
                    [sx, sxa, sw, sa, sb, st, want_x, want_w, want_a, want_b, want_xa, shared_input, scale, rows, in,
                     r, out_features, dt](const TensorList& g) -> TensorList {
                      const Tensor& gy = g[0];
                      Tensor u;  // gy B: [rows, r]
                      if (want_a || want_x || want_xa) u = bmm_raw(gy, sb.get("lora_linear"));
                      Tensor gx, gw, ga, gb, gxa;
                      if (want_x) {
                        gx = bmm_raw(gy, sw.get("lora_linear"));
                        if (shared_input) gemm_into(u, sa.get("lora_linear"), gx, scale, 1.0);
                      }
                      if (want_xa) {
                        gxa = empty({rows, in}, dt, gy.device());
                        gemm_into(u, sa.get("lora_linear"), gxa, scale, 0.0);
                      }
                      if (want_w) gw = bmm_raw(gy.mT(), sx.get("lora_linear"));
                      if (want_a) {
                        ga = empty({r, in}, dt, gy.device());
                        gemm_into(u.mT(), sxa.get("lora_linear"), ga, scale, 0.0);
                      }
                      if (want_b) {
                        gb = empty({out_features, r}, dt, gy.device());
                        gemm_into(gy.mT(), st, gb, scale, 0.0);
                      }
                      TensorList grads{gx, gw, ga, gb};
                      if (!shared_input) grads.push_back(gxa);
                      return grads;
                    });
    y = outs[0];
  }
  y = y.reshape(out_shape);
  return bias.defined() ? add(y, bias) : y;
}

Tensor outer(const Tensor& a, const Tensor& b) {
  PEFTCPP_CHECK_SHAPE(a.dim() == 1 && b.dim() == 1, "[outer] expects 1-D tensors, got ", shape_str(a.shape()), " and ",
                      shape_str(b.shape()));
  return mul(a.unsqueeze(1), b.unsqueeze(0));
}

Tensor kron(const Tensor& a, const Tensor& b) {
  check_defined(a, "kron");
  check_defined(b, "kron");
  const std::int64_t nd = std::max(a.dim(), b.dim());
  Shape sa = a.shape(), sb = b.shape();
  sa.insert(sa.begin(), static_cast<std::size_t>(nd - a.dim()), 1);
  sb.insert(sb.begin(), static_cast<std::size_t>(nd - b.dim()), 1);
  // interleave: a -> [a0, 1, a1, 1, ...], b -> [1, b0, 1, b1, ...]
  Shape ia, ib, out;
  for (std::int64_t i = 0; i < nd; ++i) {
    ia.insert(ia.end(), {sa[static_cast<std::size_t>(i)], 1});
    ib.insert(ib.end(), {1, sb[static_cast<std::size_t>(i)]});
    out.push_back(sa[static_cast<std::size_t>(i)] * sb[static_cast<std::size_t>(i)]);
  }
  return mul(a.reshape(ia), b.reshape(ib)).reshape(out);
}

}  // namespace peftcpp
