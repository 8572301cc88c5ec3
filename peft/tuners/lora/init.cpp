// LoRA weight initialisations (port of reset_lora_parameters, pissa_init, olora_init,
// orthogonal_init and mica_init of peft/tuners/lora/layer.py @5d602fd).
//   true:        A ~ kaiming_uniform(a=sqrt(5)) (nn.Linear's default), B = 0 (embeddings: A = 0,
//                B ~ N(0, 1)), so the adapter starts as the identity.
//   "gaussian":  A ~ N(0, 1/r), B = 0.
//   "pissa":     A, B from the r principal singular triplets of W (PiSSA, Meng et al. 2024,
//                arXiv:2404.02948); W keeps the residual. "pissa_niter_<n>": randomized SVD.
//   "olora":     B = Q[:, :r], A = R[:r] of W = QR (OLoRA, Büyükakyüz 2024, arXiv:2406.01775);
//                W keeps the residual.
//   "orthogonal": A, B built from the odd / even rows of a random orthogonal r x r matrix.
//   "mica":      B = the r minor left singular vectors of W, A = 0 (see variants/mica.cpp).
#include <cmath>

#include "autograd/grad_mode.h"
#include "peft/tuners/lora/layer.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::lora {
namespace {

void assign(Tensor& slot, const Tensor& value) {
  nn::set_data(slot, value.to(slot.dtype()).contiguous());
}

// torch.svd_lowrank(a, q, niter) for a [m, n]: (U [m, q], S [q], V [n, q]) with a ~ U diag(S) V^T.
std::tuple<Tensor, Tensor, Tensor> svd_lowrank(const Tensor& a, std::int64_t q, int niter) {
  Tensor x = matmul(a, randn({a.size(1), q}, a.dtype()));
  Tensor basis = qr(x).first;
  for (int i = 0; i < niter; ++i) {
    basis = qr(matmul(a.t(), basis)).first;
    basis = qr(matmul(a, basis)).first;
  }
  const Tensor b = matmul(basis.t(), a);
  auto [u, s, vh] = svd(b, false);
  return {matmul(basis, u), s, vh.t()};
}

}  // namespace

void LoraLayer::reset_lora_parameters(const std::string& adapter, const InitWeights& init) {
  if (init == false)
    return;
  NoGradGuard g;
  if (lora_A_->contains(adapter)) {
    Tensor& a = A_weight(adapter);
    if (init == true) {
      kaiming_uniform_(a, std::sqrt(5.0));
    } else if (init.is_string()) {
      std::string n = init.name();
      for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      PEFTCPP_CHECK(
          n == "gaussian", "[lora] unknown initialization init_lora_weights='", init.name(), "'");
      normal_(a, 0.0, 1.0 / r.at(adapter));
    }
    B_weight(adapter).zero_();
    if (lora_bias.count(adapter) && lora_bias.at(adapter)) {
      lora_B_->at(adapter)->get_parameter("bias").zero_();
    }
  }
  if (lora_embedding_A_->contains(adapter)) {
    lora_embedding_A_->at(adapter).zero_();
    normal_(lora_embedding_B_->at(adapter));
  }
}

void LoraLayer::pissa_init(const std::string& adapter, const std::string& init) {
  NoGradGuard g;
  Tensor& base = base_weight();
  const DType dtype = base.dtype();
  PEFTCPP_CHECK(
      dtype == kFloat32 || dtype == kFloat16 || dtype == kBFloat16 || dtype == kFloat64,
      "[lora] please initialize PiSSA under float32, float16, or bfloat16");
  const Tensor w = transpose_if(base.detach().to(kFloat32), fan_in_fan_out);
  const int rk = r.at(adapter);
  const double s = scaling.at(adapter);
  Tensor vr, sr, uhr;
  if (init == "pissa") {
    auto [v, sv, uh] = svd(w, false);
    vr = v.narrow(1, 0, rk);
    sr = sv.narrow(0, 0, rk) / s;
    uhr = uh.narrow(0, 0, rk);
  } else if (init.starts_with("pissa_niter_")) {
    const int niter = std::stoi(init.substr(12));
    auto [u, sv, v] = svd_lowrank(w, rk, niter);
    vr = u;
    sr = sv / s;
    uhr = v.t();
  } else {
    throw ValueError(detail::concat(
        "[lora] init_lora_weights should be 'pissa' or "
        "'pissa_niter_[number of iters]', got ",
        init,
        " instead"));
  }
  const Tensor root = sqrt(sr);
  const Tensor a = peftcpp::diag(root).matmul(uhr);
  const Tensor b = vr.matmul(peftcpp::diag(root));
  assign(A_weight(adapter), a);
  assign(B_weight(adapter), b);
  const Tensor residual = w - matmul(b, a) * s;
  assign(base, transpose_if(residual.to(dtype), fan_in_fan_out));
}

void LoraLayer::olora_init(const std::string& adapter) {
  NoGradGuard g;
  Tensor& base = base_weight();
  const DType dtype = base.dtype();
  const Tensor w = base.detach().to(kFloat32);
  const int rk = r.at(adapter);
  auto [q, rr] = qr(w);
  const Tensor b = q.narrow(1, 0, rk);
  const Tensor a = rr.narrow(0, 0, rk);
  assign(A_weight(adapter), a);
  assign(B_weight(adapter), b);
  assign(base, (w - matmul(b, a) * scaling.at(adapter)).to(dtype));
}

void LoraLayer::orthogonal_init(const std::string& adapter) {
  NoGradGuard g;
  const int rk = r.at(adapter);
  PEFTCPP_CHECK(
      rk % 2 == 0,
      "[lora] orthogonal initialization requires the LoRA rank to be even, "
      "got ",
      rk,
      " instead");
  const Tensor q = qr(randn({rk, rk})).first;
  const Tensor q_odd = q.slice(0, 0, rk, 2);
  const Tensor q_even = q.slice(0, 1, rk, 2);
  const Tensor a = matmul(randn({in_features, rk / 2}), q_odd).t() / 10.0;
  const Tensor b = matmul(randn({rk / 2, out_features}).t(), q_even) / 10.0;
  assign(A_weight(adapter), a);
  assign(B_weight(adapter), b);
}

void LoraLayer::mica_init(const std::string& adapter) {
  NoGradGuard g;
  const Tensor w = transpose_if(base_weight().detach().to(kFloat32), fan_in_fan_out);
  const int rk = r.at(adapter);
  const std::int64_t max_r = std::min(w.size(0), w.size(1));
  PEFTCPP_CHECK(
      rk <= max_r,
      "[lora] MiCA requires `r` <= min(in_features, out_features) but got r=",
      rk,
      " for a layer with weight shape [",
      w.size(0),
      ", ",
      w.size(1),
      "] (max usable r is ",
      max_r,
      ")");
  const Tensor u = std::get<0>(svd(w, false));
  assign(B_weight(adapter), u.narrow(1, u.size(1) - rk, rk));
  assign(A_weight(adapter), zeros({rk, w.size(1)}));
}

void Embedding::mica_init(const std::string& adapter) {
  NoGradGuard g;
  const Tensor w = base_weight().detach().to(kFloat32).t();  // [dim, num]
  const int rk = r.at(adapter);
  const std::int64_t max_r = std::min(w.size(0), w.size(1));
  PEFTCPP_CHECK(
      rk <= max_r,
      "[lora] MiCA requires `r` <= min(num_embeddings, embedding_dim) but "
      "got r=",
      rk,
      " (max usable r is ",
      max_r,
      ")");
  const Tensor u = std::get<0>(svd(w, false));
  Tensor& b = lora_embedding_B_->at(adapter);
  Tensor& a = lora_embedding_A_->at(adapter);
  nn::set_data(b, u.narrow(1, u.size(1) - rk, rk).to(b.dtype()).contiguous());
  nn::set_data(a, zeros({rk, w.size(1)}, a.dtype()));
}

}  // namespace peftcpp::lora
