// conv1d / conv2d through im2col + GEMM.
//
// im2col is one autograd node: a strided window view of the zero-padded input, copied into
// cols [N, C, KH, KW, OH, OW] (a gather-like copy, no arithmetic). Its backward (col2im) adds each
// of the KH*KW kernel taps back into a strided view of the padded gradient. The arithmetic is
// a batched GEMM per group, weight [O/G, C/G*KH*KW] @ cols [C/G*KH*KW, OH*OW], whose backward is
// the matmul backward. conv1d is conv2d with H = 1.
#include <string>
#include <tuple>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "nn/functional.h"

namespace peftcpp::nn::functional {
namespace {

struct ConvGeom {
  std::int64_t kh = 1, kw = 1;                      // kernel
  std::int64_t sh = 1, sw = 1;                      // stride
  std::int64_t dh = 1, dw = 1;                      // dilation
  std::int64_t ph0 = 0, ph1 = 0, pw0 = 0, pw1 = 0;  // padding (low, high)
  std::int64_t oh = 0, ow = 0;                      // output size
};

std::pair<std::int64_t, std::int64_t> pick2(
    const std::vector<std::int64_t>& v, const char* what, const char* op) {
  PEFTCPP_CHECK(
      v.size() == 1 || v.size() == 2, "[", op, "] ", what, " needs 1 or 2 values, got ", v.size());
  return {v[0], v.size() == 2 ? v[1] : v[0]};
}

// Padded input + strided window view -> contiguous cols [N, C, KH, KW, OH, OW]: the output
// positions are innermost, so the copy runs along input rows and the GEMM output is already NCHW.
Tensor im2col(const Tensor& x, const ConvGeom& g) {
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const std::int64_t hp = h + g.ph0 + g.ph1, wp = w + g.pw0 + g.pw1;
  const bool padded = g.ph0 || g.ph1 || g.pw0 || g.pw1;
  Tensor cols;
  {
    NoGradGuard ng;
    Tensor xp = x.detach();
    if (padded) {
      xp = zeros({n, c, hp, wp}, x.dtype(), x.device());
      xp.narrow(2, g.ph0, h).narrow(3, g.pw0, w).copy_(x.detach());
    }
    const Strides& st = xp.strides();
    Tensor win = xp.as_strided(
        {n, c, g.kh, g.kw, g.oh, g.ow},
        {st[0], st[1], st[2] * g.dh, st[3] * g.dw, st[2] * g.sh, st[3] * g.sw},
        xp.storage_offset());
    cols = win.contiguous();
    if (cols.is_same(win))
      cols = win.clone();
  }
  if (!any_requires_grad({x}))
    return cols;
  const Shape x_shape = x.shape();
  TensorList outs{cols};
  record_function(
      "Im2colBackward",
      {x},
      outs,
      [g, x_shape, hp, wp, padded](const TensorList& go) -> TensorList {
        const Tensor& gc = go[0];  // [N, C, KH, KW, OH, OW]
        const std::int64_t n = x_shape[0], c = x_shape[1];
        Tensor gxp = zeros({n, c, hp, wp}, gc.dtype(), gc.device());
        const Strides st = gxp.strides();
        for (std::int64_t i = 0; i < g.kh; ++i) {
          for (std::int64_t j = 0; j < g.kw; ++j) {
            Tensor dst = gxp.as_strided(
                {n, c, g.oh, g.ow},
                {st[0], st[1], st[2] * g.sh, st[3] * g.sw},
                i * g.dh * st[2] + j * g.dw * st[3]);
            dst.add_(gc.select(3, j).select(2, i));
          }
        }
        if (!padded)
          return {gxp};
        return {gxp.narrow(2, g.ph0, x_shape[2]).narrow(3, g.pw0, x_shape[3])};
      });
  return outs[0];
}

void resolve_padding(const ConvPadding& p, ConvGeom& g, const char* op) {
  if (p.mode == "valid")
    return;
  if (p.mode == "same") {
    PEFTCPP_CHECK(
        g.sh == 1 && g.sw == 1,
        "[",
        op,
        "] padding='same' is not supported for strided convolutions");
    const std::int64_t th = g.dh * (g.kh - 1), tw = g.dw * (g.kw - 1);
    g.ph0 = th / 2;
    g.ph1 = th - g.ph0;
    g.pw0 = tw / 2;
    g.pw1 = tw - g.pw0;
    return;
  }
  PEFTCPP_CHECK(
      p.mode == "explicit",
      "[",
      op,
      "] padding must be sizes, 'same' or 'valid', got '",
      p.mode,
      "'");
  auto [ph, pw] = pick2(p.sizes, "padding", op);
  PEFTCPP_CHECK(ph >= 0 && pw >= 0, "[", op, "] padding must be non-negative, got ", ph, ", ", pw);
  g.ph0 = g.ph1 = ph;
  g.pw0 = g.pw1 = pw;
}

Tensor conv2d_impl(
    const Tensor& x_in,
    const Tensor& weight,
    const Tensor& bias,
    ConvGeom g,
    std::int64_t groups,
    const char* op) {
  const bool unbatched = x_in.dim() == 3;
  Tensor x = unbatched ? x_in.unsqueeze(0) : x_in;
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const std::int64_t o = weight.size(0);
  PEFTCPP_CHECK(groups >= 1, "[", op, "] groups must be positive, got ", groups);
  PEFTCPP_CHECK_DTYPE(
      x.dtype() == weight.dtype() && (!bias.defined() || bias.dtype() == weight.dtype()),
      "[",
      op,
      "] input, weight and bias dtypes differ: ",
      dtype_name(x.dtype()),
      ", ",
      dtype_name(weight.dtype()),
      bias.defined() ? std::string(", ") + dtype_name(bias.dtype()) : std::string());
  PEFTCPP_CHECK_SHAPE(
      c % groups == 0 && o % groups == 0 && weight.size(1) * groups == c,
      "[",
      op,
      "] input ",
      shape_str(x_in.shape()),
      " with ",
      c,
      " channels does not fit weight ",
      shape_str(weight.shape()),
      " and groups=",
      groups);
  PEFTCPP_CHECK_SHAPE(
      !bias.defined() || (bias.dim() == 1 && bias.size(0) == o),
      "[",
      op,
      "] bias ",
      shape_str(bias.shape()),
      " does not match ",
      o,
      " output channels");
  PEFTCPP_CHECK(
      g.sh >= 1 && g.sw >= 1 && g.dh >= 1 && g.dw >= 1,
      "[",
      op,
      "] stride and dilation must be positive");
  const std::int64_t hp = h + g.ph0 + g.ph1, wp = w + g.pw0 + g.pw1;
  const std::int64_t eh = g.dh * (g.kh - 1) + 1, ew = g.dw * (g.kw - 1) + 1;
  PEFTCPP_CHECK_SHAPE(
      hp >= eh && wp >= ew,
      "[",
      op,
      "] padded input ",
      hp,
      "x",
      wp,
      " is smaller than the dilated kernel ",
      eh,
      "x",
      ew,
      " (input ",
      shape_str(x_in.shape()),
      ")");
  g.oh = (hp - eh) / g.sh + 1;
  g.ow = (wp - ew) / g.sw + 1;
  const std::int64_t l = g.oh * g.ow, kg = (c / groups) * g.kh * g.kw;
  // [G, O/G, Kg] @ [N, G, Kg, L] -> [N, G, O/G, L] = [N, O, OH, OW]
  Tensor cols = im2col(x, g).view({n, groups, kg, l});
  Tensor y = matmul(weight.reshape({groups, o / groups, kg}), cols).view({n, o, g.oh, g.ow});
  if (bias.defined())
    y = add(y, bias.view({1, o, 1, 1}));
  return unbatched ? y.squeeze(0) : y;
}

void check_inputs(const Tensor& x, const Tensor& weight, std::int64_t spatial, const char* op) {
  PEFTCPP_CHECK(x.defined() && weight.defined(), "[", op, "] input and weight must be defined");
  PEFTCPP_CHECK_SHAPE(
      x.dim() == spatial + 1 || x.dim() == spatial + 2,
      "[",
      op,
      "] expects a ",
      spatial + 2,
      "-D (batched) or ",
      spatial + 1,
      "-D input, got ",
      shape_str(x.shape()));
  PEFTCPP_CHECK_SHAPE(
      weight.dim() == spatial + 2,
      "[",
      op,
      "] weight must be ",
      spatial + 2,
      "-D, got ",
      shape_str(weight.shape()));
}

}  // namespace

Tensor conv2d(
    const Tensor& x,
    const Tensor& weight,
    const Tensor& bias,
    const std::vector<std::int64_t>& stride,
    const ConvPadding& padding,
    const std::vector<std::int64_t>& dilation,
    std::int64_t groups) {
  check_inputs(x, weight, 2, "conv2d");
  ConvGeom g;
  g.kh = weight.size(2);
  g.kw = weight.size(3);
  std::tie(g.sh, g.sw) = pick2(stride, "stride", "conv2d");
  std::tie(g.dh, g.dw) = pick2(dilation, "dilation", "conv2d");
  resolve_padding(padding, g, "conv2d");
  return conv2d_impl(x, weight, bias, g, groups, "conv2d");
}

Tensor conv1d(
    const Tensor& x,
    const Tensor& weight,
    const Tensor& bias,
    std::int64_t stride,
    const ConvPadding& padding,
    std::int64_t dilation,
    std::int64_t groups) {
  check_inputs(x, weight, 1, "conv1d");
  ConvGeom g;
  g.kw = weight.size(2);
  g.sw = stride;
  g.dw = dilation;
  if (padding.mode == "explicit") {
    PEFTCPP_CHECK(
        padding.sizes.size() == 1, "[conv1d] padding needs one value, got ", padding.sizes.size());
    PEFTCPP_CHECK(
        padding.sizes[0] >= 0, "[conv1d] padding must be non-negative, got ", padding.sizes[0]);
    g.pw0 = g.pw1 = padding.sizes[0];
  } else {
    resolve_padding(padding, g, "conv1d");
    g.ph0 = g.ph1 = 0;
  }
  const std::int64_t sdim = x.dim() - 1;  // the length dim
  Tensor y = conv2d_impl(x.unsqueeze(sdim), weight.unsqueeze(2), bias, g, groups, "conv1d");
  return y.squeeze(y.dim() - 2);
}

}  // namespace peftcpp::nn::functional
