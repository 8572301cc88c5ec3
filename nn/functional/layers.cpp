// functional linear, embedding, layer_norm, rms_norm, dropout.
#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "nn/functional.h"
#include "nn/functional/fused.h"
#include "tensor/ops/op_utils.h"

namespace peftcpp::nn::functional {
namespace {

bool is_16bit(DType d) {
  return d == kFloat16 || d == kBFloat16;
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  return peftcpp::linear(x, weight, bias);
}

Tensor embedding(const Tensor& ids, const Tensor& weight, std::optional<std::int64_t> padding_idx) {
  PEFTCPP_CHECK(ids.defined() && weight.defined(), "[embedding] ids and weight must be defined");
  PEFTCPP_CHECK_DTYPE(
      ids.dtype() == kInt64 || ids.dtype() == kInt32,
      "[embedding] ids must be int64 or int32, got ",
      dtype_name(ids.dtype()));
  PEFTCPP_CHECK_SHAPE(
      weight.dim() == 2,
      "[embedding] weight must be 2-D [num_embeddings, dim], got ",
      shape_str(weight.shape()));
  const std::int64_t num = weight.size(0), dim = weight.size(1);
  std::int64_t pad = -1;
  if (padding_idx) {
    pad = *padding_idx < 0 ? *padding_idx + num : *padding_idx;
    PEFTCPP_CHECK_INDEX(
        pad >= 0 && pad < num,
        "[embedding] padding_idx ",
        *padding_idx,
        " is out of range for ",
        num,
        " embeddings");
  }
  Tensor flat = ids.reshape({-1});
  Tensor rows = index_select(weight.detach(), 0, flat);  // bounds-checked, names the range
  Shape out_shape = ids.shape();
  out_shape.push_back(dim);
  Tensor out = rows.reshape(out_shape);
  if (!any_requires_grad({weight}))
    return out;
  Tensor ix = flat.dtype() == kInt64 ? flat : flat.to(kInt64);
  const Shape w_shape = weight.shape();
  TensorList outs{out};
  record_function(
      "EmbeddingBackward",
      {weight},
      outs,
      [ix, w_shape, pad, dim](const TensorList& g) -> TensorList {
        Tensor gw = zeros(w_shape, g[0].dtype(), g[0].device());
        gw = index_add(gw, 0, ix, g[0].reshape({-1, dim}));
        if (pad >= 0)
          gw.select(0, pad).zero_();
        return {gw};
      });
  return outs[0];
}

Tensor layer_norm(
    const Tensor& x,
    const Shape& normalized_shape,
    const Tensor& weight,
    const Tensor& bias,
    double eps) {
  PEFTCPP_CHECK(x.defined(), "[layer_norm] input is undefined");
  const auto k = static_cast<std::int64_t>(normalized_shape.size());
  PEFTCPP_CHECK_SHAPE(
      k >= 1 && x.dim() >= k,
      "[layer_norm] normalized_shape ",
      shape_str(normalized_shape),
      " does not fit input ",
      shape_str(x.shape()));
  const Shape tail(x.shape().end() - k, x.shape().end());
  PEFTCPP_CHECK_SHAPE(
      tail == normalized_shape,
      "[layer_norm] input ",
      shape_str(x.shape()),
      " does not end with normalized_shape ",
      shape_str(normalized_shape));
  for (const Tensor* p : {&weight, &bias}) {
    PEFTCPP_CHECK_SHAPE(
        !p->defined() || p->shape() == normalized_shape,
        "[layer_norm] weight/bias shape ",
        shape_str(p->shape()),
        " differs from normalized_shape ",
        shape_str(normalized_shape));
  }
  Dims dims;
  for (std::int64_t i = x.dim() - k; i < x.dim(); ++i) dims.push_back(i);
  const DType dt = x.dtype();
  const DType ct = is_16bit(dt) ? kFloat32 : dt;
  Tensor xf = ops_detail::cast_if_needed(x, ct);
  Tensor xc = sub(xf, mean(xf, dims, true));
  Tensor var = mean(square(xc), dims, true);
  Tensor y = mul(xc, rsqrt(add(var, eps)));
  if (weight.defined())
    y = mul(y, ops_detail::cast_if_needed(weight, ct));
  if (bias.defined())
    y = add(y, ops_detail::cast_if_needed(bias, ct));
  return ops_detail::cast_if_needed(y, dt);
}

Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps) {
  PEFTCPP_CHECK(
      x.defined() && x.dim() >= 1, "[rms_norm] input must be defined with at least 1 dim");
  PEFTCPP_CHECK_SHAPE(
      !weight.defined() || (weight.dim() == 1 && weight.size(0) == x.size(-1)),
      "[rms_norm] weight ",
      shape_str(weight.shape()),
      " does not match the last dim of input ",
      shape_str(x.shape()));
  const DType dt = x.dtype();
  if (Backend& be = ops_detail::backend_of(x);
      use_fused(be, FusedOp::RmsNorm, dt) && (!weight.defined() || weight.dtype() == dt) &&
      (!weight.defined() || weight.device() == x.device()))
    return fused::fused_rms_norm(x, weight, eps);
  // HF LlamaRMSNorm: float32 statistics (float64 stays float64), cast back before the weight.
  Tensor xf = ops_detail::cast_if_needed(x, dt == kFloat64 ? kFloat64 : kFloat32);
  Tensor var = mean(square(xf), {-1}, true);
  Tensor y = ops_detail::cast_if_needed(mul(xf, rsqrt(add(var, eps))), dt);
  if (!weight.defined())
    return y;
  return mul(weight, y);
}

Tensor silu_mul(const Tensor& gate, const Tensor& up) {
  PEFTCPP_CHECK(gate.defined() && up.defined(), "[silu_mul] gate and up must be defined");
  if (gate.shape() == up.shape() && gate.dtype() == up.dtype() && gate.device() == up.device() &&
      use_fused(ops_detail::backend_of(gate), FusedOp::SiluMul, gate.dtype()))
    return fused::fused_silu_mul(gate, up);
  return mul(silu(gate), up);
}

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  PEFTCPP_CHECK(p >= 0.0 && p <= 1.0, "[dropout] probability must be in [0, 1], got ", p);
  PEFTCPP_CHECK(x.defined(), "[dropout] input is undefined");
  if (!training || p == 0.0)
    return x;
  if (p == 1.0)
    return mul(x, 0.0);
  Tensor mask;
  {
    NoGradGuard ng;
    Tensor u = rand(x.shape(), kFloat32, gen, x.device());
    mask = mul(lt(u, full({}, 1.0 - p, kFloat32, x.device())).to(x.dtype()), 1.0 / (1.0 - p));
  }
  return mul(x, mask);
}

}  // namespace peftcpp::nn::functional
