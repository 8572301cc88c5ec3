// MonteCLoRA: Monte-Carlo averaged LoRA (port of peft/tuners/lora/monteclora.py and
// MontecloraLinearVariant in peft/tuners/lora/variants.py @5d602fd). Paper: Sengupta et al.
// 2024, "Robust and Efficient Fine-tuning of LLMs with Bayesian Reparameterization of Low-Rank
// Adaptation", arXiv:2411.04358.
//
// lora_monteclora_sampler.<adapter> keeps variational parameters std_prior [r] and
// expert_weights_prior [num_samples] and buffers gaussian_var_prior [r, r], expert_weights
// [num_samples]. In training mode lora_A's weight is replaced by an expert-weighted average of
// num_samples Gaussian perturbations of it (Wishart covariance, Dirichlet weights, drawn from the
// default generator); outside training the adapter is plain LoRA. Merging uses plain LoRA.
#include <cmath>

#include "autograd/grad_mode.h"
#include "nn/functional.h"
#include "peft/tuners/lora/layer.h"
#include "peft/tuners/lora/variants/variants.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::lora {
namespace {

class MontecloraSampler : public nn::Module {
 public:
  MontecloraSampler(std::int64_t in, std::int64_t out, const Json& cfg, DType dt)
      : in_features(in), out_features(out) {
    auto num = [&](const char* k, double d) {
      const Json* j = cfg.find(k);
      return j != nullptr && j->is_number() ? j->as_double() : d;
    };
    num_samples = static_cast<std::int64_t>(num("num_samples", 1));
    sample_scaler = num("sample_scaler", 3e-4);
    dirichlet_prior = num("dirichlet_prior", 1.0);
    kl_loss_weight = num("kl_loss_weight", 1e-5);
    const Json* e = cfg.find("use_entropy");
    use_entropy = e == nullptr || !e->is_bool() || e->as_bool();
    std_prior = rand({out}).to(dt);
    expert_weights_prior = rand({num_samples}).to(dt);
    gaussian_var_prior = eye(out, -1, dt);
    expert_weights = full({num_samples}, 1.0 / static_cast<double>(num_samples), dt);
    register_parameter("std_prior", &std_prior);
    register_parameter("expert_weights_prior", &expert_weights_prior);
    register_buffer("gaussian_var_prior", &gaussian_var_prior);
    register_buffer("expert_weights", &expert_weights);
  }
  std::string type_name() const override {
    return "MontecloraSampler";
  }

  // A Wishart(df = out, I) draw by Bartlett's decomposition (torch's _bartlett_sampling).
  Tensor wishart_sample() const {
    const std::int64_t p = out_features;
    Tensor a = tril(randn({p, p}), -1);
    std::vector<double> diag;
    for (std::int64_t i = 0; i < p; ++i) {
      const Tensor z = randn({p - i});
      diag.push_back(std::sqrt(std::max(sum(z * z).item<float>(), 1e-12f)));
    }
    a = a + peftcpp::diag(tensor_from_doubles(diag, {p}, kFloat32));
    return matmul(a, a.t());
  }

  /// (noise [num_samples, in, r], expert weights [num_samples]).
  std::pair<Tensor, Tensor> sample() {
    const DType dt = std_prior.dtype();
    const Tensor z_mvn = randn({num_samples, in_features, out_features}).to(dt);
    const Tensor z_dir = randn({num_samples}).to(dt);
    const Tensor z_wish = wishart_sample().to(dt);
    const Tensor std_m = peftcpp::diag(exp(std_prior));
    Tensor var = matmul(matmul(std_m, z_wish), std_m.t());
    var = peftcpp::diag(clamp_min(peftcpp::diag(var), 1e-3));
    {
      NoGradGuard g;
      gaussian_var_prior = var.detach().clone();
    }
    const Tensor l = cholesky(var.to(kFloat32)).to(dt);
    Tensor noise = matmul(z_mvn, l) * sample_scaler;  // einsum("eio,op->eip")
    noise = where(isnan(noise), full_like(noise, 1e-3), noise);
    // Dirichlet weights through a Gaussian in log space
    const Tensor alpha = clamp_min(exp(expert_weights_prior), 1e-6);
    const Tensor mu = log(alpha) - mean(log(alpha));
    const double n = static_cast<double>(num_samples);
    Tensor dterm = reciprocal(alpha) * (1.0 - 2.0 / n) + sum(reciprocal(alpha)) * (1.0 / (n * n));
    dterm = clamp_min(dterm, 1e-6);
    const Tensor sigma = peftcpp::diag(dterm) + eye(num_samples, -1, dt) * 1e-6;
    const Tensor ls = cholesky(sigma.to(kFloat32)).to(dt);
    const Tensor logits = matmul(ls, z_dir) + mu;
    const Tensor w = softmax(logits, -1);
    {
      NoGradGuard g;
      expert_weights = w.detach().clone();
    }
    return {noise, w};
  }

  std::int64_t in_features, out_features, num_samples = 1;
  double sample_scaler = 3e-4, dirichlet_prior = 1.0, kl_loss_weight = 1e-5;
  bool use_entropy = true;
  Tensor std_prior, expert_weights_prior, gaussian_var_prior, expert_weights;
};

nn::ModuleDict& samplers(LoraLayer& layer) {
  auto d = std::dynamic_pointer_cast<nn::ModuleDict>(layer.find_child("lora_monteclora_sampler"));
  PEFTCPP_CHECK(d != nullptr, "[lora] MonteCLoRA layer without lora_monteclora_sampler");
  return *d;
}

class MontecloraVariant : public LoraVariant {
 public:
  const char* name() const override {
    return "MonteCLoRA";
  }
  void init(
      LoraLayer& layer,
      const std::string& adapter,
      const LoraConfig& config,
      const std::string&) override {
    if (layer.find_child("lora_monteclora_sampler") == nullptr) {
      layer.register_module("lora_monteclora_sampler", std::make_shared<nn::ModuleDict>());
      layer.add_adapter_layer_name("lora_monteclora_sampler");
    }
    const Tensor& a = layer.A_weight(adapter);
    samplers(layer).insert(
        adapter,
        std::make_shared<MontecloraSampler>(
            layer.in_features, a.size(0), config.monteclora_config, a.dtype()));
  }
  Tensor merge_safe(LoraLayer& layer, const std::string& adapter, const Tensor& weight) override {
    return weight + layer.get_delta_weight(adapter).to(weight.dtype());
  }
  Tensor unmerge(LoraLayer& layer, const std::string& adapter, const Tensor& weight) override {
    return weight - layer.get_delta_weight(adapter).to(weight.dtype());
  }
  Tensor forward(
      LoraLayer& layer,
      const std::string& adapter,
      const Tensor& x_in,
      const Tensor& result) override {
    Tensor x = x_in.to(layer.A_weight(adapter).dtype());
    if (layer.is_training())
      x = layer.dropout(adapter)->forward(x);
    Tensor wa = layer.A_weight(adapter);
    if (layer.is_training()) {
      auto sampler = samplers(layer).at_as<MontecloraSampler>(adapter);
      const auto [noise, weights] = sampler->sample();
      const bool bad = any(isnan(noise)).item<bool>() || any(isnan(weights)).item<bool>();
      if (!bad) {
        const Tensor perturbed = wa.t().unsqueeze(0) + noise;                    // [N, in, r]
        const Tensor averaged = sum(perturbed * weights.view({-1, 1, 1}), {0});  // [in, r]
        wa = averaged.t();
      }
    }
    const Tensor out_a = nn::functional::linear(x, wa);
    return result + layer.B(adapter)->forward(out_a) * layer.scaling.at(adapter);
  }
};

}  // namespace

std::shared_ptr<LoraVariant> make_monteclora_variant() {
  return std::make_shared<MontecloraVariant>();
}

}  // namespace peftcpp::lora
