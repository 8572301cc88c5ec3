// Custom golden models from meta.json (see custom_models.h).
#include "peft/golden/custom_models.h"

#include <cctype>
#include <functional>

#include "nn/layers/activation.h"
#include "nn/layers/conv.h"
#include "nn/layers/embedding.h"
#include "nn/layers/linear.h"
#include "nn/layers/norm.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::peft {
namespace {

class Flatten : public nn::UnaryModule {
 public:
  std::string type_name() const override {
    return "Flatten";
  }
  Tensor forward(const Tensor& x) override {
    return x.flatten(1);
  }
};

std::int64_t get_int(const Json& spec, const char* key, const std::string& name) {
  const Json* j = spec.find(key);
  PEFTCPP_CHECK(
      j != nullptr && j->is_int(), "[golden] module '", name, "': missing integer '", key, "'");
  return j->as_int();
}

std::vector<std::int64_t> get_ints(
    const Json& spec, const char* key, std::vector<std::int64_t> def) {
  const Json* j = spec.find(key);
  if (j == nullptr)
    return def;
  if (j->is_int())
    return {j->as_int()};
  std::vector<std::int64_t> out;
  for (const Json& e : j->as_array()) out.push_back(e.as_int());
  return out;
}

bool get_bool(const Json& spec, const char* key, bool def) {
  const Json* j = spec.find(key);
  return j != nullptr && j->is_bool() ? j->as_bool() : def;
}

Tensor builtin(const std::string& fn, const Tensor& x) {
  if (fn == "relu")
    return relu(x);
  if (fn == "flatten")
    return x.flatten(1);
  if (fn == "gelu")
    return gelu(x);
  if (fn == "silu")
    return silu(x);
  if (fn == "tanh")
    return tanh(x);
  if (fn == "sigmoid")
    return sigmoid(x);
  throw ValueError(detail::concat(
      "[golden] forward uses '",
      fn,
      "', which is neither a module nor a builtin (relu, flatten, gelu, "
      "silu, tanh, sigmoid)"));
}

}  // namespace

std::shared_ptr<nn::UnaryModule> make_custom_module(const std::string& name, const Json& spec) {
  const Json* t = spec.find("type");
  PEFTCPP_CHECK(t != nullptr && t->is_string(), "[golden] module '", name, "' has no type");
  const std::string type = t->as_string();
  if (type == "Linear") {
    return std::make_shared<nn::Linear>(
        get_int(spec, "in_features", name),
        get_int(spec, "out_features", name),
        get_bool(spec, "bias", true));
  }
  if (type == "transformers.Conv1D") {
    return std::make_shared<nn::Conv1D>(
        get_int(spec, "out_features", name), get_int(spec, "in_features", name));
  }
  if (type == "Embedding") {
    std::optional<std::int64_t> pad;
    if (const Json* p = spec.find("padding_idx"); p != nullptr && p->is_int())
      pad = p->as_int();
    return std::make_shared<nn::Embedding>(
        get_int(spec, "num_embeddings", name), get_int(spec, "embedding_dim", name), pad);
  }
  if (type == "Conv2d") {
    nn::Conv2dOptions o;
    o.stride = get_ints(spec, "stride", {1});
    o.padding = nn::functional::ConvPadding(get_ints(spec, "padding", {0}));
    o.dilation = get_ints(spec, "dilation", {1});
    o.groups = get_ints(spec, "groups", {1}).front();
    o.bias = get_bool(spec, "bias", true);
    return std::make_shared<nn::Conv2d>(
        get_int(spec, "in_channels", name),
        get_int(spec, "out_channels", name),
        get_ints(spec, "kernel_size", {1}),
        o);
  }
  if (type == "Conv1d") {
    nn::Conv1dOptions o;
    o.stride = get_ints(spec, "stride", {1}).front();
    o.padding = nn::functional::ConvPadding(get_ints(spec, "padding", {0}));
    o.dilation = get_ints(spec, "dilation", {1}).front();
    o.groups = get_ints(spec, "groups", {1}).front();
    o.bias = get_bool(spec, "bias", true);
    return std::make_shared<nn::Conv1d>(
        get_int(spec, "in_channels", name),
        get_int(spec, "out_channels", name),
        get_ints(spec, "kernel_size", {1}).front(),
        o);
  }
  if (type == "LayerNorm") {
    const Json* eps = spec.find("eps");
    return std::make_shared<nn::LayerNorm>(
        Shape(get_ints(spec, "normalized_shape", {})),
        eps != nullptr && eps->is_number() ? eps->as_double() : 1e-5,
        get_bool(spec, "elementwise_affine", true),
        get_bool(spec, "bias", true));
  }
  if (type == "ReLU")
    return std::make_shared<nn::ReLU>();
  if (type == "Flatten")
    return std::make_shared<Flatten>();
  throw ValueError(
      detail::concat("[golden] module '", name, "' has the unsupported type '", type, "'"));
}

CustomModel::CustomModel(const Json& base_model) {
  const Json* modules = base_model.find("modules");
  PEFTCPP_CHECK(modules != nullptr && modules->is_object(), "[golden] base_model has no modules");
  for (const auto& [name, spec] : modules->as_object()) {
    slots_[name] = make_custom_module(name, spec);
    register_module(name, &slots_[name]);
  }
  const Json* fwd = base_model.find("forward");
  PEFTCPP_CHECK(
      fwd != nullptr && fwd->is_string(), "[golden] base_model has no forward expression");
  const std::string& text = fwd->as_string();
  std::size_t pos = text.find('=');
  pos = pos == std::string::npos ? 0 : pos + 1;
  auto skip = [&] {
    while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
  };
  std::function<std::unique_ptr<Call>()> parse = [&]() -> std::unique_ptr<Call> {
    skip();
    const std::size_t start = pos;
    while (pos < text.size() && (std::isalnum(static_cast<unsigned char>(text[pos])) ||
                                 text[pos] == '_' || text[pos] == '.')) {
      ++pos;
    }
    PEFTCPP_CHECK(
        pos > start, "[golden] cannot parse the forward expression '", text, "' at ", start);
    auto call = std::make_unique<Call>();
    const std::string ident = text.substr(start, pos - start);
    skip();
    if (pos < text.size() && text[pos] == '(') {
      ++pos;
      call->fn = ident;
      call->arg = parse();
      skip();
      PEFTCPP_CHECK(pos < text.size() && text[pos] == ')', "[golden] missing ')' in '", text, "'");
      ++pos;
    }
    return call;  // no call: the input variable
  };
  expr_ = parse();
}

Tensor CustomModel::eval(const Call& call, const Tensor& x) {
  if (call.fn.empty())
    return x;
  const Tensor in = eval(*call.arg, x);
  if (auto it = slots_.find(call.fn); it != slots_.end())
    return it->second->forward(in);
  return builtin(call.fn, in);
}

Tensor CustomModel::forward(const Tensor& x) {
  return eval(*expr_, x);
}

}  // namespace peftcpp::peft
