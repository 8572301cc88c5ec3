// BD-LoRA: block-diagonal LoRA factors (port of BlockDiagonalLinear and BdLoraLinearVariant in
// peft/tuners/lora/variants.py @5d602fd). Paper: "Block-Diagonal LoRA for Eliminating
// Communication Overhead in Tensor Parallel LoRA Serving", arXiv:2510.23346.
//
// For targets whose name contains a pattern of use_bdlora.target_modules_bd_a (resp. _bd_b), A
// (resp. B) becomes nblocks independent blocks: weight [out, in / nblocks], block i maps input
// slice i to output slice i. As a dense matrix it is block_diag(chunk(weight, nblocks, 0)).
#include "autograd/grad_mode.h"
#include "peft/tuners/lora/layer.h"
#include "peft/tuners/lora/variants/variants.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::lora {
namespace {

class BlockDiagonalLinear : public nn::UnaryModule {
 public:
  BlockDiagonalLinear(
      std::int64_t in, std::int64_t out, std::int64_t nblocks, bool init_zero, DType dt)
      : in_features(in), out_features(out), nblocks(nblocks) {
    PEFTCPP_CHECK(
        nblocks > 0 && in % nblocks == 0 && out % nblocks == 0,
        "[lora] BD-LoRA: in_features=",
        in,
        " or out_features=",
        out,
        " not divisible by nblocks=",
        nblocks);
    weight = zeros({out, in / nblocks});
    if (!init_zero)
      kaiming_uniform_(weight);
    weight = weight.to(dt);
    register_parameter("weight", &weight);
  }
  std::string type_name() const override {
    return "BlockDiagonalLinear";
  }
  Tensor forward(const Tensor& x) override {
    Shape first(x.shape().begin(), x.shape().end() - 1);
    const Tensor x2 = x.reshape({-1, x.size(-1)});
    const std::int64_t b = x2.size(0), m = in_features / nblocks, n = out_features / nblocks;
    const Tensor xb = x2.reshape({b, nblocks, m}).transpose(0, 1);   // [nb, B, m]
    const Tensor wb = weight.view({nblocks, n, m}).transpose(1, 2);  // [nb, m, n]
    const Tensor out = matmul(xb, wb).transpose(0, 1).reshape({b, out_features});
    first.push_back(out_features);
    return out.reshape(first);
  }
  /// The dense [out, in] matrix with the blocks on the diagonal.
  Tensor dense() const {
    const std::int64_t m = in_features / nblocks, n = out_features / nblocks;
    TensorList rows;
    for (std::int64_t i = 0; i < nblocks; ++i) {
      TensorList parts;
      if (i > 0)
        parts.push_back(zeros({n, m * i}, weight.dtype()));
      parts.push_back(weight.narrow(0, i * n, n));
      if (i < nblocks - 1)
        parts.push_back(zeros({n, m * (nblocks - i - 1)}, weight.dtype()));
      rows.push_back(cat(parts, 1));
    }
    return cat(rows, 0);
  }
  std::int64_t in_features, out_features, nblocks;
  Tensor weight;
};

Tensor dense_weight(const nn::ModulePtr& m) {
  if (auto* bd = dynamic_cast<BlockDiagonalLinear*>(m.get()))
    return bd->dense();
  return m->get_parameter("weight");
}

bool any_in(const Json& patterns, const std::string& name) {
  if (!patterns.is_array())
    return false;
  for (const Json& p : patterns.as_array()) {
    if (p.is_string() && name.find(p.as_string()) != std::string::npos)
      return true;
  }
  return false;
}

class BdLoraVariant : public LoraVariant {
 public:
  const char* name() const override {
    return "BD-LoRA";
  }
  void init(
      LoraLayer& layer,
      const std::string& adapter,
      const LoraConfig& config,
      const std::string& target_name) override {
    const Json& bd = config.use_bdlora;
    const Json* a_pat = bd.find("target_modules_bd_a");
    const Json* b_pat = bd.find("target_modules_bd_b");
    const Json* nb_j = bd.find("nblocks");
    const Json* strict_j = bd.find("match_strict");
    const std::int64_t nb = nb_j != nullptr && nb_j->is_int() ? nb_j->as_int() : 1;
    const bool strict = strict_j == nullptr || !strict_j->is_bool() || strict_j->as_bool();
    const bool has_a = a_pat != nullptr && any_in(*a_pat, target_name);
    const bool has_b = b_pat != nullptr && any_in(*b_pat, target_name);
    PEFTCPP_CHECK(
        !(has_a && has_b),
        "[lora] BD-LoRA: target ",
        target_name,
        " matches both A and B block-diagonal patterns");
    PEFTCPP_CHECK(
        !strict || has_a || has_b,
        "[lora] BD-LoRA: target ",
        target_name,
        " matches neither A nor B block-diagonal patterns. If this is intentional, set "
        "match_strict=false in use_bdlora.");
    const DType dt = layer.A_weight(adapter).dtype();
    const std::int64_t r = layer.r.at(adapter);
    if (has_a) {
      layer.lora_A().insert(
          adapter, std::make_shared<BlockDiagonalLinear>(layer.in_features, r, nb, false, dt));
    } else if (has_b) {
      layer.lora_B().insert(
          adapter, std::make_shared<BlockDiagonalLinear>(r, layer.out_features, nb, true, dt));
    }
  }
  static Tensor delta(LoraLayer& layer, const std::string& adapter, DType dt) {
    const Tensor d =
        matmul(dense_weight(layer.lora_B().at(adapter)), dense_weight(layer.lora_A().at(adapter)));
    return (transpose_if(d, layer.fan_in_fan_out) * layer.scaling.at(adapter)).to(dt);
  }
  Tensor merge_safe(LoraLayer& layer, const std::string& adapter, const Tensor& weight) override {
    NoGradGuard g;
    return weight + delta(layer, adapter, weight.dtype());
  }
  Tensor unmerge(LoraLayer& layer, const std::string& adapter, const Tensor& weight) override {
    NoGradGuard g;
    return weight - delta(layer, adapter, weight.dtype());
  }
  Tensor forward(
      LoraLayer& layer,
      const std::string& adapter,
      const Tensor& x,
      const Tensor& result) override {
    const Tensor xd = layer.dropout(adapter)->forward(x);
    return result +
           layer.B(adapter)->forward(layer.A(adapter)->forward(xd)) * layer.scaling.at(adapter);
  }
};

}  // namespace

std::shared_ptr<LoraVariant> make_bdlora_variant() {
  return std::make_shared<BdLoraVariant>();
}

}  // namespace peftcpp::lora
