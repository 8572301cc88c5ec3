// Block-diagonal matrices and the exact Cayley transform (see orthogonal.h).
#include "peft/tuners/oft/orthogonal.h"

#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::oft {

Tensor block_diagonal(const Tensor& blocks) {
  PEFTCPP_CHECK_SHAPE(
      blocks.dim() >= 3 && blocks.size(-1) == blocks.size(-2),
      "[oft] block_diagonal expects blocks [..., D, H, H], got ",
      shape_str(blocks.shape()));
  const std::int64_t d = blocks.size(-3);
  const std::int64_t h = blocks.size(-1);
  // out[..., a, i, b, j] = (a == b) * blocks[..., a, i, j], then [..., D*H, D*H]
  const Tensor mask = eye(d, d, blocks.dtype(), blocks.device()).view({d, 1, d, 1});
  const Tensor spread = blocks.unsqueeze(-2) * mask;
  Shape out(blocks.shape().begin(), blocks.shape().end() - 3);
  out.push_back(d * h);
  out.push_back(d * h);
  return spread.reshape(out);
}

Tensor solve_right(const Tensor& a, const Tensor& b) {
  // x a = b  <=>  a^T x^T = b^T
  return solve(a.mT(), b.mT()).mT();
}

Tensor cayley_solve(const Tensor& skew) {
  PEFTCPP_CHECK_SHAPE(
      skew.dim() == 3 && skew.size(1) == skew.size(2),
      "[oft] the Cayley transform expects [B, H, H] matrices, got ",
      shape_str(skew.shape()));
  const Tensor id = eye(skew.size(1), skew.size(1), skew.dtype(), skew.device()).unsqueeze(0);
  return solve_right(id + skew, id - skew);
}

}  // namespace peftcpp::oft
