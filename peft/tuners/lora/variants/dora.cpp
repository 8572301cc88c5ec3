// DoRA: weight-decomposed LoRA (port of peft/tuners/lora/dora.py and the Dora*Variant classes
// of peft/tuners/lora/variants.py @5d602fd). Paper: Liu et al. 2024, arXiv:2402.09353.
//
// The adapted weight is m * (W + s * B A) / ||W + s * B A||_c with a trainable magnitude m
// (lora_magnitude_vector.<adapter>.weight, one value per output channel). The column norm is
// detached from the graph (section 4.3 of the paper), so forward computes
//   result + (m / n - 1) * base(x) + (m / n) * s * B(A(x))      (n = the detached norm).
// Norms are taken per output row of W (dim 1 of [out, in]); embeddings use W^T [dim, num];
// convolutions use every dim but the output channel and keep [1, out, 1, ...] magnitudes.
#include <cmath>

#include "autograd/grad_mode.h"
#include "nn/functional.h"
#include "nn/layers/activation.h"
#include "nn/layers/linear.h"
#include "peft/tuners/lora/layer.h"
#include "peft/tuners/lora/variants/variants.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::lora {
namespace {

// The magnitude vector: PEFT's DoraLinearLayer / DoraEmbeddingLayer / DoraConvNdLayer module,
// whose only tensor is `weight`.
class DoraMagnitude : public nn::Module {
 public:
  DoraMagnitude(std::string type, Tensor w) : type_(std::move(type)), weight(std::move(w)) {
    register_parameter("weight", &weight);
  }
  std::string type_name() const override {
    return type_;
  }
  std::string type_;
  Tensor weight;
};

Tensor& magnitude(LoraLayer& layer, const std::string& adapter) {
  return layer.lora_magnitude_vector().at(adapter)->get_parameter("weight");
}

// ||transpose_if(W) + s * lora_weight|| over dim 1 ([out]).
Tensor linear_weight_norm(const Tensor& weight, const Tensor& lora_weight, double s, bool fifo) {
  const Tensor w = transpose_if(weight, fifo) + lora_weight * s;
  return norm(w, 2.0, {1});
}

// Conv: norm over all dims but 0, keepdim, transposed to [1, out, 1, ...].
Tensor conv_weight_norm(const Tensor& weight, const Tensor& lora_weight, double s) {
  const Tensor w = weight + lora_weight * s;
  Dims dims;
  for (std::int64_t d = 1; d < w.dim(); ++d) dims.push_back(d);
  return norm(w, 2.0, dims, true).transpose(1, 0);
}

bool uses_base_result(LoraLayer& layer, const std::string& adapter) {
  return dynamic_cast<nn::Identity*>(layer.dropout(adapter).get()) != nullptr ||
         !layer.is_training();
}

// ---- Linear (and transformers Conv1D) ---------------------------------------------------------

class DoraLinearVariant : public LoraVariant {
 public:
  const char* name() const override {
    return "DoRA";
  }
  void init(LoraLayer& layer, const std::string& adapter, const LoraConfig&, const std::string&)
      override {
    NoGradGuard g;
    const Tensor lw = matmul(layer.B_weight(adapter), layer.A_weight(adapter));
    const Tensor base = layer.base_weight().detach().to(lw.dtype());
    const Tensor m = linear_weight_norm(base, lw, layer.scaling.at(adapter), layer.fan_in_fan_out);
    layer.lora_magnitude_vector().insert(
        adapter, std::make_shared<DoraMagnitude>("lora.dora.DoraLinearLayer", m.contiguous()));
  }
  Tensor merge_safe(LoraLayer& layer, const std::string& adapter, const Tensor& weight) override {
    NoGradGuard g;
    const Tensor delta = layer.get_delta_weight(adapter);
    const Tensor wn = linear_weight_norm(
        weight, transpose_if(delta, layer.fan_in_fan_out), 1.0, layer.fan_in_fan_out);
    layer.cache[adapter + "-weight_norm"] = wn;
    const Tensor factor =
        transpose_if((magnitude(layer, adapter).detach() / wn).view({-1, 1}), layer.fan_in_fan_out);
    return (factor * (weight + delta)).to(weight.dtype());
  }
  Tensor unmerge(LoraLayer& layer, const std::string& adapter, const Tensor& weight) override {
    NoGradGuard g;
    const Tensor delta = layer.get_delta_weight(adapter);
    auto it = layer.cache.find(adapter + "-weight_norm");
    PEFTCPP_CHECK(
        it != layer.cache.end(),
        "[lora] DoRA unmerge of '",
        adapter,
        "' without a preceding merge");
    const Tensor wn = it->second;
    layer.cache.erase(it);
    const Tensor factor =
        transpose_if((magnitude(layer, adapter).detach() / wn).view({-1, 1}), layer.fan_in_fan_out);
    return (weight / factor - delta).to(weight.dtype());
  }
  Tensor forward(
      LoraLayer& layer,
      const std::string& adapter,
      const Tensor& x_in,
      const Tensor& result) override {
    const double s = layer.scaling.at(adapter);
    Tensor x = x_in;
    Tensor base_result;
    if (uses_base_result(layer, adapter)) {
      base_result = result;
    } else {
      x = layer.dropout(adapter)->forward(x);
    }
    const Tensor lora_weight =
        matmul(layer.B_weight(adapter), layer.A_weight(adapter)).to(x.dtype());
    const Tensor weight = layer.base_weight().to(x.dtype());
    const Tensor wn =
        linear_weight_norm(weight, lora_weight.detach(), s, layer.fan_in_fan_out).detach();
    const Tensor scale = (magnitude(layer, adapter) / wn).view({1, -1});
    const Tensor lora_result = layer.B(adapter)->forward(layer.A(adapter)->forward(x));
    if (base_result.defined()) {
      if (Tensor bias = layer.base_bias(); bias.defined())
        base_result = base_result - bias;
    } else {
      base_result = nn::functional::linear(x, transpose_if(weight, layer.fan_in_fan_out));
    }
    return result + (scale - 1.0) * base_result + scale * lora_result * s;
  }
};

// ---- Embedding ----------------------------------------------------------------------------------

class DoraEmbeddingVariant : public LoraVariant {
 public:
  const char* name() const override {
    return "DoRA";
  }
  void init(LoraLayer& layer, const std::string& adapter, const LoraConfig&, const std::string&)
      override {
    NoGradGuard g;
    const Tensor lw =
        matmul(layer.lora_embedding_B().at(adapter), layer.lora_embedding_A().at(adapter));
    const Tensor base = layer.base_weight().detach().to(lw.dtype());
    const Tensor m = linear_weight_norm(base, lw, layer.scaling.at(adapter), true);
    layer.lora_magnitude_vector().insert(
        adapter, std::make_shared<DoraMagnitude>("lora.dora.DoraEmbeddingLayer", m.contiguous()));
  }
  Tensor merge_safe(LoraLayer& layer, const std::string& adapter, const Tensor& weight) override {
    NoGradGuard g;
    const Tensor delta = layer.get_delta_weight(adapter);
    const Tensor wn = linear_weight_norm(weight, delta.t(), 1.0, true);
    layer.cache[adapter + "-weight_norm"] = wn;
    const Tensor factor = (magnitude(layer, adapter).detach() / wn).view({1, -1});
    return (factor * (weight + delta)).to(weight.dtype());
  }
  Tensor unmerge(LoraLayer& layer, const std::string& adapter, const Tensor& weight) override {
    NoGradGuard g;
    const Tensor delta = layer.get_delta_weight(adapter);
    auto it = layer.cache.find(adapter + "-weight_norm");
    PEFTCPP_CHECK(
        it != layer.cache.end(),
        "[lora] DoRA unmerge of '",
        adapter,
        "' without a preceding merge");
    const Tensor factor = (magnitude(layer, adapter).detach() / it->second).view({1, -1});
    layer.cache.erase(it);
    return (weight / factor - delta).to(weight.dtype());
  }
  Tensor forward(
      LoraLayer& layer,
      const std::string& adapter,
      const Tensor& x,
      const Tensor& result) override {
    auto& emb = static_cast<Embedding&>(layer);
    const double s = layer.scaling.at(adapter);
    const Tensor a = layer.lora_embedding_A().at(adapter).t();  // [num, r]
    const Tensor b = layer.lora_embedding_B().at(adapter).t();  // [r, dim]
    const Tensor lora_weight = matmul(a, b).t();                // [dim, num]
    const Tensor wn =
        linear_weight_norm(layer.base_weight(), lora_weight.detach(), s, true).detach();
    const Tensor scale = magnitude(layer, adapter) / wn;
    const Tensor dora = scale * matmul(emb.embed(x, a), b) * s;
    return scale * result + dora;
  }
};

// ---- Conv1d / Conv2d
// ------------------------------------------------------------------------------

class DoraConvVariant : public LoraVariant {
 public:
  const char* name() const override {
    return "DoRA";
  }
  static Tensor lora_weight(LoraLayer& layer, const std::string& adapter) {
    const Tensor& a = layer.A_weight(adapter);
    const Tensor& b = layer.B_weight(adapter);
    const std::int64_t r = a.size(0);
    return matmul(b.reshape({-1, r}), a.reshape({r, -1})).reshape(layer.base_weight().shape());
  }
  static Shape factor_view(const Tensor& weight) {
    Shape s(static_cast<std::size_t>(weight.dim()), 1);
    s[0] = -1;
    return s;
  }
  void init(LoraLayer& layer, const std::string& adapter, const LoraConfig&, const std::string&)
      override {
    NoGradGuard g;
    const Tensor lw = lora_weight(layer, adapter);
    const Tensor m = conv_weight_norm(
        layer.base_weight().detach().to(lw.dtype()), lw, layer.scaling.at(adapter));
    layer.lora_magnitude_vector().insert(
        adapter, std::make_shared<DoraMagnitude>("lora.dora.DoraConvNdLayer", m.contiguous()));
  }
  Tensor merge_safe(LoraLayer& layer, const std::string& adapter, const Tensor& weight) override {
    NoGradGuard g;
    const Tensor delta = layer.get_delta_weight(adapter);
    const Tensor wn = conv_weight_norm(weight, delta, 1.0);
    layer.cache[adapter + "-weight_norm"] = wn;
    const Tensor factor = (magnitude(layer, adapter).detach() / wn).reshape(factor_view(weight));
    return (factor * (weight + delta)).to(weight.dtype());
  }
  Tensor unmerge(LoraLayer& layer, const std::string& adapter, const Tensor& weight) override {
    NoGradGuard g;
    const Tensor delta = layer.get_delta_weight(adapter);
    auto it = layer.cache.find(adapter + "-weight_norm");
    PEFTCPP_CHECK(
        it != layer.cache.end(),
        "[lora] DoRA unmerge of '",
        adapter,
        "' without a preceding merge");
    const Tensor factor =
        (magnitude(layer, adapter).detach() / it->second).reshape(factor_view(weight));
    layer.cache.erase(it);
    return (weight / factor - delta).to(weight.dtype());
  }
  Tensor forward(
      LoraLayer& layer,
      const std::string& adapter,
      const Tensor& x_in,
      const Tensor& result) override {
    auto& conv = static_cast<ConvNd&>(layer);
    const double s = layer.scaling.at(adapter);
    Tensor x = x_in;
    Tensor base_result;
    if (uses_base_result(layer, adapter)) {
      base_result = result;
    } else {
      x = layer.dropout(adapter)->forward(x);
    }
    const Tensor& weight = layer.base_weight();
    const Tensor wn = conv_weight_norm(weight, lora_weight(layer, adapter).detach(), s).detach();
    const Tensor scale = magnitude(layer, adapter) / wn;
    if (base_result.defined()) {
      if (Tensor bias = layer.base_bias(); bias.defined()) {
        Shape bs(static_cast<std::size_t>(base_result.dim()), 1);
        bs[1] = -1;
        base_result = base_result - bias.reshape(bs);
      }
    } else {
      base_result = conv.base_conv(x, weight);
    }
    const Tensor lora_result = layer.B(adapter)->forward(layer.A(adapter)->forward(x));
    return result + (scale - 1.0) * base_result + scale * lora_result * s;
  }
};

}  // namespace

std::shared_ptr<LoraVariant> make_dora_linear_variant() {
  return std::make_shared<DoraLinearVariant>();
}
std::shared_ptr<LoraVariant> make_dora_embedding_variant() {
  return std::make_shared<DoraEmbeddingVariant>();
}
std::shared_ptr<LoraVariant> make_dora_conv_variant() {
  return std::make_shared<DoraConvVariant>();
}

}  // namespace peftcpp::lora
