// Conv1d / Conv2d against a direct (loop) convolution computed in the test, and gradchecks for
// stride, padding, dilation and groups.
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/gradcheck.h"
#include "nn/nn.h"

using namespace peftcpp;
using namespace peftcpp::nn;

namespace {

// Direct cross-correlation in double: x [N, C, H, W], w [O, C/G, KH, KW].
std::vector<double> direct_conv2d(
    const Tensor& x,
    const Tensor& w,
    const Tensor& b,
    std::int64_t sh,
    std::int64_t sw,
    std::int64_t ph,
    std::int64_t pw,
    std::int64_t dh,
    std::int64_t dw,
    std::int64_t g,
    Shape& out_shape) {
  const auto xv = x.to_vector<double>(), wv = w.to_vector<double>();
  const std::vector<double> bv = b.defined() ? b.to_vector<double>() : std::vector<double>();
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
  const std::int64_t o = w.size(0), cg = w.size(1), kh = w.size(2), kw = w.size(3), og = o / g;
  const std::int64_t oh = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1,
                     ow = (wd + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
  out_shape = {n, o, oh, ow};
  std::vector<double> out(static_cast<std::size_t>(n * o * oh * ow), 0.0);
  for (std::int64_t in = 0; in < n; ++in)
    for (std::int64_t io = 0; io < o; ++io)
      for (std::int64_t y = 0; y < oh; ++y)
        for (std::int64_t z = 0; z < ow; ++z) {
          double acc = bv.empty() ? 0.0 : bv[static_cast<std::size_t>(io)];
          const std::int64_t grp = io / og;
          for (std::int64_t ic = 0; ic < cg; ++ic)
            for (std::int64_t i = 0; i < kh; ++i)
              for (std::int64_t j = 0; j < kw; ++j) {
                const std::int64_t yy = y * sh - ph + i * dh, zz = z * sw - pw + j * dw;
                if (yy < 0 || yy >= h || zz < 0 || zz >= wd)
                  continue;
                const std::int64_t cc = grp * cg + ic;
                acc += xv[static_cast<std::size_t>(((in * c + cc) * h + yy) * wd + zz)] *
                       wv[static_cast<std::size_t>(((io * cg + ic) * kh + i) * kw + j)];
              }
          out[static_cast<std::size_t>(((in * o + io) * oh + y) * ow + z)] = acc;
        }
  return out;
}

}  // namespace

TEST_CASE("conv2d equals a direct convolution for stride, padding, dilation and groups") {
  struct P {
    std::int64_t c, o, k, s, p, d, g;
  };
  for (P p :
       {P{3, 4, 3, 1, 1, 1, 1},
        P{4, 6, 3, 2, 0, 1, 2},
        P{2, 2, 2, 1, 2, 2, 1},
        P{4, 4, 3, 2, 1, 2, 4}}) {
    CAPTURE(p.s);
    CAPTURE(p.g);
    Tensor x = randn({2, p.c, 7, 6}, kFloat64);
    Tensor w = randn({p.o, p.c / p.g, p.k, p.k}, kFloat64);
    Tensor b = randn({p.o}, kFloat64);
    Tensor y = functional::conv2d(x, w, b, {p.s}, p.p, {p.d}, p.g);
    Shape shape;
    std::vector<double> want = direct_conv2d(x, w, b, p.s, p.s, p.p, p.p, p.d, p.d, p.g, shape);
    CHECK(y.shape() == shape);
    CHECK(max_abs_diff(y, tensor<double>(want, shape)) < 1e-10);
  }
}

TEST_CASE("conv2d padding 'same' keeps the spatial size and 'valid' is no padding") {
  Tensor x = randn({1, 2, 5, 6}, kFloat64);
  Tensor w = randn({3, 2, 4, 3}, kFloat64);
  Tensor y = functional::conv2d(x, w, Tensor(), {1}, "same", {2});
  CHECK(y.shape() == Shape{1, 3, 5, 6});
  // torch pads (total // 2) before: kernel 4 dilation 2 -> total 6 -> 3 each side; kernel 3 -> 2, 1
  // + 1 each
  Tensor manual = functional::conv2d(x, w, Tensor(), {1}, std::vector<std::int64_t>{3, 2}, {2});
  CHECK(max_abs_diff(y, manual) < 1e-12);
  CHECK(functional::conv2d(x, w, Tensor(), {1}, "valid").shape() == Shape{1, 3, 2, 4});
  CHECK_THROWS_AS(functional::conv2d(x, w, Tensor(), {2}, "same"), ValueError);
  CHECK_THROWS_AS(functional::conv2d(x, randn({3, 3, 3, 3}, kFloat64)), ShapeError);
  CHECK_THROWS_AS(functional::conv2d(x, w.to(kFloat32)), DTypeError);
}

TEST_CASE("conv1d is conv2d over a height-1 image and accepts unbatched input") {
  Tensor x = randn({2, 4, 9}, kFloat64);
  Tensor w = randn({6, 2, 3}, kFloat64);
  Tensor b = randn({6}, kFloat64);
  Tensor y = functional::conv1d(x, w, b, 2, 1, 2, 2);
  Tensor ref = functional::conv2d(
      x.unsqueeze(2), w.unsqueeze(2), b, {1, 2}, std::vector<std::int64_t>{0, 1}, {1, 2}, 2);
  CHECK(max_abs_diff(y, ref.squeeze(2)) < 1e-12);
  Tensor y0 = functional::conv1d(x.select(0, 1), w, b, 2, 1, 2, 2);
  CHECK(max_abs_diff(y0, y.select(0, 1)) < 1e-12);
}

TEST_CASE("gradcheck conv2d with stride, padding, dilation and groups") {
  Tensor x = randn({2, 4, 5, 6}, kFloat64).requires_grad_();
  Tensor w = randn({4, 2, 3, 2}, kFloat64).requires_grad_();
  Tensor b = randn({4}, kFloat64).requires_grad_();
  auto r = gradcheck(
      [](const TensorList& in) {
        return functional::conv2d(
            in[0], in[1], in[2], {2, 1}, std::vector<std::int64_t>{1, 2}, {1, 2}, 2);
      },
      {x, w, b});
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("gradcheck conv1d with 'same' padding and dilation") {
  Tensor x = randn({2, 3, 7}, kFloat64).requires_grad_();
  Tensor w = randn({2, 3, 4}, kFloat64).requires_grad_();
  auto r = gradcheck(
      [](const TensorList& in) { return functional::conv1d(in[0], in[1], Tensor(), 1, "same", 2); },
      {x, w});
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("Conv2d and Conv1d modules: shapes, default init bound and bias flag") {
  Conv2d conv(3, 8, {3, 2}, {.stride = {2}, .padding = 1, .bias = false});
  CHECK(conv.weight.shape() == Shape{8, 3, 3, 2});
  CHECK_FALSE(conv.bias.defined());
  CHECK(amax(abs(conv.weight)).item<double>() <= 1.0 / std::sqrt(18.0));
  CHECK(conv.forward(randn({1, 3, 8, 8})).shape() == Shape{1, 8, 4, 5});
  Conv1d c1(4, 2, 3, {.groups = 2});
  CHECK(c1.weight.shape() == Shape{2, 2, 3});
  CHECK(c1.forward(randn({3, 4, 10})).shape() == Shape{3, 2, 8});
  CHECK_THROWS_AS(Conv2d(3, 4, {3}, {.padding_mode = "reflect"}), ValueError);
}
