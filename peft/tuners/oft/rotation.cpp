// OFTRotationModule (port of OFTRotationModule in peft/tuners/oft/layer.py @5d602fd; see
// rotation.h for the maths and the conv layout).
#include "peft/tuners/oft/rotation.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "peft/tuners/oft/orthogonal.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::oft {

OFTRotationModule::OFTRotationModule(
    std::int64_t r_,
    std::int64_t n_elements_,
    std::int64_t block_size_,
    std::int64_t in_features_,
    bool coft_,
    double eps_,
    bool block_share_,
    std::vector<std::int64_t> kernel_size_,
    bool use_cayley_neumann_,
    int num_cayley_neumann_terms_)
    : r(r_),
      n_elements(n_elements_),
      block_size(block_size_),
      in_features(in_features_),
      coft(coft_),
      eps(eps_),
      block_share(block_share_),
      kernel_size(std::move(kernel_size_)),
      use_cayley_neumann(use_cayley_neumann_),
      num_cayley_neumann_terms(num_cayley_neumann_terms_) {
  PEFTCPP_CHECK(
      r > 0 && block_size > 0 && n_elements == block_size * (block_size - 1) / 2,
      "[oft] rotation with r=",
      r,
      ", block_size=",
      block_size,
      " needs n_elements = ",
      "block_size * (block_size - 1) / 2, got ",
      n_elements);
  PEFTCPP_CHECK(
      kernel_size.size() == 2, "[oft] kernel_size needs 2 values, got ", kernel_size.size());
  weight = empty({r, n_elements});
  register_parameter("weight", &weight);
  std::vector<std::int64_t> rr, cc, gather(static_cast<std::size_t>(block_size * block_size), 0);
  for (std::int64_t i = 0; i < block_size; ++i) {
    for (std::int64_t j = i + 1; j < block_size; ++j) {
      rr.push_back(i);
      cc.push_back(j);
      gather[static_cast<std::size_t>(i * block_size + j)] = static_cast<std::int64_t>(rr.size());
    }
  }
  std::vector<std::int64_t> flat(rr.size());
  for (std::size_t k = 0; k < rr.size(); ++k) flat[k] = rr[k] * block_size + cc[k];
  rows = tensor<std::int64_t>(rr, {n_elements});
  cols = tensor<std::int64_t>(cc, {n_elements});
  register_buffer("rows", &rows, false);
  register_buffer("cols", &cols, false);
  upper_gather_ = tensor<std::int64_t>(gather, {block_size * block_size});
  upper_flat_ = tensor<std::int64_t>(flat, {n_elements});
}

Tensor OFTRotationModule::skew_symmetric(const Tensor& vec) const {
  PEFTCPP_CHECK_SHAPE(
      vec.dim() == 2 && vec.size(1) == n_elements,
      "[oft] skew_symmetric expects [b, ",
      n_elements,
      "], got ",
      shape_str(vec.shape()));
  const std::int64_t b = vec.size(0);
  const Tensor padded = cat({zeros({b, 1}, vec.dtype(), vec.device()), vec}, 1);
  const Tensor upper = index_select(padded, 1, upper_gather_).view({b, block_size, block_size});
  return upper - upper.mT();
}

Tensor OFTRotationModule::skew_symmetric_inv(const Tensor& matrix) const {
  const std::int64_t b = matrix.size(0);
  return index_select(matrix.reshape({b, block_size * block_size}), 1, upper_flat_);
}

Tensor OFTRotationModule::cayley_batch(const Tensor& q) const {
  const Tensor skew = skew_symmetric(q);
  if (!use_cayley_neumann)
    return cayley_solve(skew);
  const std::int64_t b = q.size(0);
  Tensor r_mat = eye(block_size, block_size, q.dtype(), q.device())
                     .unsqueeze(0)
                     .expand({b, block_size, block_size});
  const int n = num_cayley_neumann_terms;
  if (n > 1) {
    r_mat = add(r_mat, skew, 2.0);
    if (n > 2) {
      const Tensor squared = matmul(skew, skew);
      r_mat = add(r_mat, squared, 2.0);
      Tensor power = squared;
      for (int i = 3; i < n - 1; ++i) {
        power = matmul(power, skew);
        r_mat = add(r_mat, power, 2.0);
      }
      power = matmul(power, skew);
      r_mat = r_mat + power;
    }
  }
  return r_mat.contiguous();
}

Tensor OFTRotationModule::project_batch(const Tensor& q, double eps_) const {
  const Tensor skew = skew_symmetric(q);
  const double radius = eps_ / std::sqrt(static_cast<double>(skew.size(0)));
  const Tensor norm = sqrt(sum(square(skew), {1, 2}, true));
  // outside the ball: radius * Q / |Q| (the division is not used where |Q| <= radius)
  const Tensor out = where(le(norm, radius), skew, (skew / norm) * radius);
  return skew_symmetric_inv(out);
}

void OFTRotationModule::maybe_project() {
  if (!coft)
    return;
  NoGradGuard no_grad;
  nn::set_data(weight, project_batch(weight.detach(), eps).contiguous());
}

Tensor OFTRotationModule::unfold(const Tensor& x) const {
  const std::int64_t kh = kernel_size[0], kw = kernel_size[1];
  PEFTCPP_CHECK_SHAPE(
      x.dim() == 4 && x.size(2) >= kh && x.size(3) >= kw && kh > 0 && kw > 0,
      "[oft] conv input [B, C, H, W] at least as large as the kernel (",
      kh,
      ", ",
      kw,
      ") expected, got ",
      shape_str(x.shape()));
  const std::int64_t bsz = x.size(0), c = x.size(1);
  const std::int64_t ho = x.size(2) - kh + 1, wo = x.size(3) - kw + 1;
  TensorList pieces;
  for (std::int64_t i = 0; i < kh; ++i) {
    for (std::int64_t j = 0; j < kw; ++j)
      pieces.push_back(x.slice(2, i, i + ho).slice(3, j, j + wo));
  }
  // [B, C, Ho, Wo, kh*kw] -> [B, Ho, Wo, C, kh*kw] -> [B*Ho*Wo, C*kh*kw]
  return stack(pieces, -1).permute({0, 2, 3, 1, 4}).reshape({bsz * ho * wo, c * kh * kw});
}

Tensor OFTRotationModule::fold(const Tensor& patches, const Shape& orig_shape) const {
  const std::int64_t kh = kernel_size[0], kw = kernel_size[1];
  const std::int64_t bsz = orig_shape[0], c = orig_shape[1], h = orig_shape[2], w = orig_shape[3];
  const std::int64_t ho = h - kh + 1, wo = w - kw + 1;
  // PEFT lays the patches out [B, C, Ho, Wo, kh, kw] and hands that memory to F.fold as
  // [B, C*kh*kw, Ho*Wo], i.e. reads it as [B, C, kh, kw, Ho, Wo].
  const Tensor z = patches.view({bsz, ho, wo, c, kh, kw})
                       .permute({0, 3, 1, 2, 4, 5})
                       .contiguous()
                       .view({bsz, c, kh, kw, ho, wo});
  Tensor out;
  for (std::int64_t i = 0; i < kh; ++i) {
    for (std::int64_t j = 0; j < kw; ++j) {
      const Tensor placed = pad(z.select(2, i).select(2, j), {j, w - wo - j, i, h - ho - i});
      out = out.defined() ? out + placed : placed;
    }
  }
  return out;
}

Tensor OFTRotationModule::forward(const Tensor& input) {
  const DType required = input.dtype();
  Tensor x = input.dtype() == weight.dtype() ? input : input.to(weight.dtype());
  maybe_project();
  const Tensor rot = cayley_batch(weight);
  const Shape orig_shape = x.shape();
  if (x.dim() == 4)
    x = unfold(x);
  const Shape folded_shape = x.shape();
  const std::int64_t rank = num_blocks();
  PEFTCPP_CHECK_SHAPE(
      x.dim() >= 1 && x.size(-1) == rank * block_size,
      "[oft] the input has ",
      x.dim() >= 1 ? x.size(-1) : 0,
      " features but the rotation covers ",
      rank * block_size,
      " (",
      rank,
      " blocks of ",
      block_size,
      ")");
  const std::int64_t m = x.numel() / (rank * block_size);
  Tensor y;
  if (block_share) {
    y = matmul(x.reshape({m * rank, block_size}), rot.select(0, 0));
  } else {
    // [..., rank, k] x [rank, k, c] -> [..., rank, c]
    y = matmul(x.reshape({m, rank, block_size}).transpose(0, 1), rot).transpose(0, 1);
  }
  y = y.reshape(folded_shape);
  if (orig_shape.size() == 4)
    y = fold(y, orig_shape);
  return y.dtype() == required ? y : y.to(required);
}

Tensor OFTRotationModule::blocks() {
  maybe_project();
  return cayley_batch(weight);
}

Tensor OFTRotationModule::get_weight() {
  const Tensor rot = blocks();
  const std::int64_t rank = num_blocks();
  return block_diagonal(rot.size(0) == 1 ? rot.expand({rank, block_size, block_size}) : rot);
}

}  // namespace peftcpp::oft
