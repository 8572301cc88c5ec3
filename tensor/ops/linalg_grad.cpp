// Backward formulas of qr / svd / cholesky / eigh, ported from PyTorch's
// torch/csrc/autograd/FunctionsManual.cpp @002ca67 (linalg_qr_backward, svd_backward,
// cholesky_backward, linalg_eig_backward with is_hermitian=true), real case only.
//
// The engine hands zeros for outputs that received no gradient; where PyTorch branches on an
// undefined gradient, the branch is taken for an all-zero one (same value, and it avoids 0/0 for
// repeated singular values or eigenvalues when only those are used).
#include "tensor/ops/linalg_grad.h"

#include "tensor/ops.h"

namespace peftcpp::linalg_grad {
namespace {

bool all_zero(const Tensor& g) {
  return g.numel() == 0 || !any(ne(g, 0.0)).item<bool>();
}

Tensor eye_for(const Tensor& like, std::int64_t n) {
  return eye(n, n, like.dtype(), like.device());
}

// (..., k) -> (..., k, k) with v on the diagonal.
Tensor diag_embed(const Tensor& v) {
  return mul(v.unsqueeze(-1), eye_for(v, v.size(-1)));
}

// Y with Y R^T = X, i.e. X R^{-T} (R square, invertible).
Tensor solve_right_transposed(const Tensor& x, const Tensor& r) {
  return solve(r, x.mT()).mT();
}

// E_ij = v_j - v_i off the diagonal, 1 on it; throws when two values coincide, since the
// gradient through the vectors is then undefined (PyTorch returns inf/NaN there).
Tensor gaps(const Tensor& v, const Tensor& values, const char* op, const char* what) {
  const std::int64_t k = v.size(-1);
  Tensor e = add(sub(v.unsqueeze(-2), v.unsqueeze(-1)), eye_for(v, k));
  PEFTCPP_CHECK(
      k == 0 || !any(eq(e, 0.0)).item<bool>(),
      "[",
      op,
      "] backward through the ",
      what,
      " is undefined: the input has repeated ",
      op[0] == 's' ? "singular values " : "eigenvalues ",
      values,
      "; use a loss that depends only on the values, or perturb the input");
  return e;
}

}  // namespace

Tensor qr_backward(const Tensor& gQ, const Tensor& gR, const Tensor& Q, const Tensor& R) {
  const std::int64_t m = Q.size(-2), n = R.size(-1);
  // gA_ = gR R^T - Q^T gQ  (k x k)
  const Tensor g = sub(matmul(gR, R.mT()), matmul(Q.mT(), gQ));
  if (m >= n) {
    // gA = (gQ + Q syminvadj(triu(g))) R^{-T}; syminvadj(triu(g)) = triu(g) + triu(g, 1)^T
    const Tensor sym = add(triu(g), triu(g, 1).mT());
    return solve_right_transposed(add(matmul(Q, sym), gQ), R);
  }
  // m < n: gA = [Q tril(g^T - g) R_1^{-T}, 0] + Q gR, with R_1 the leading m x m block of R
  const Tensor lead = solve_right_transposed(matmul(Q, tril(sub(g.mT(), g))), R.narrow(-1, 0, m));
  return add(pad(lead, {0, n - m}), matmul(Q, gR));
}

Tensor svd_backward(
    const Tensor& gU,
    const Tensor& gS,
    const Tensor& gVh,
    const Tensor& U,
    const Tensor& S,
    const Tensor& Vh) {
  const std::int64_t m = U.size(-2), n = Vh.size(-1);
  const bool use_u = !all_zero(gU), use_v = !all_zero(gVh);
  if (!use_u && !use_v) {
    // only the singular values are used: gA = U diag(gS) Vh
    return m >= n ? matmul(U, mul(gS.unsqueeze(-1), Vh)) : matmul(mul(U, gS.unsqueeze(-2)), Vh);
  }
  const Tensor E = gaps(mul(S, S), S, "svd", "singular vectors");  // E_jk = S_k^2 - S_j^2
  if ((m > n && use_u) || (m < n && use_v)) {
    PEFTCPP_CHECK(
        !any(eq(S, 0.0)).item<bool>(),
        "[svd] backward through the singular vectors of a non-square matrix needs it to have full "
        "rank; singular values: ",
        S);
  }
  const auto skew = [](const Tensor& x) { return sub(x, x.mT()); };
  const Tensor s_row = S.unsqueeze(-2), s_col = S.unsqueeze(-1);
  Tensor ret;
  if (use_u && use_v) {
    const Tensor uhgu = skew(matmul(U.mT(), gU)), vhgv = skew(matmul(Vh, gVh.mT()));
    ret = div(add(mul(uhgu, s_row), mul(s_col, vhgv)), E);
  } else if (use_u) {
    ret = mul(div(skew(matmul(U.mT(), gU)), E), s_row);
  } else {
    ret = mul(s_col, div(skew(matmul(Vh, gVh.mT())), E));
  }
  ret = add(ret, diag_embed(gS));
  if (m > n && use_u) {
    // gA = [U ret + (I - U U^T) gU S^{-1}] Vh
    const Tensor gus = div(gU, s_row);
    Tensor ga = sub(add(matmul(U, ret), gus), matmul(U, matmul(U.mT(), gus)));
    return matmul(ga, Vh);
  }
  if (m < n && use_v) {
    // gA = U [ret Vh + S^{-1} gVh (I - V Vh)]
    const Tensor sgv = div(gVh, s_col);
    Tensor ga = sub(add(matmul(ret, Vh), sgv), matmul(matmul(sgv, Vh.mT()), Vh));
    return matmul(U, ga);
  }
  return m >= n ? matmul(U, matmul(ret, Vh)) : matmul(matmul(U, ret), Vh);
}

Tensor cholesky_backward(const Tensor& gL, const Tensor& L) {
  // phi = tril(L^T gL) with its diagonal halved, symmetrised; gA = L^{-T} phi L^{-1}
  Tensor phi = tril(matmul(L.mT(), gL));
  phi = mul(add(phi, tril(phi, -1).mT()), 0.5);
  const Tensor lt = L.mT();
  const Tensor p = solve(lt, phi);  // L^{-T} phi
  return solve(lt, p.mT()).mT();    // p L^{-1}
}

Tensor eigh_backward(const Tensor& gL, const Tensor& gV, const Tensor& L, const Tensor& V) {
  if (all_zero(gV)) {
    // only the eigenvalues are used: gA = V diag(gL) V^T
    return matmul(mul(V, gL.unsqueeze(-2)), V.mT());
  }
  Tensor vhgv = matmul(V.mT(), gV);
  vhgv = mul(sub(vhgv, vhgv.mT()), 0.5);                // projection onto skew-symmetric matrices
  const Tensor E = gaps(L, L, "eigh", "eigenvectors");  // E_ij = L_j - L_i
  const Tensor inner = add(div(vhgv, E), diag_embed(gL));  // vhgv has a zero diagonal
  return matmul(V, matmul(inner, V.mT()));
}

}  // namespace peftcpp::linalg_grad
