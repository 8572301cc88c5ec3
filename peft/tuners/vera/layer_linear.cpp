// vera.Linear: VeRA on nn::Linear and transformers' Conv1D (port of Linear in
// peft/tuners/vera/layer.py @5d602fd).
#include "autograd/grad_mode.h"
#include "nn/functional.h"
#include "peft/tuners/vera/layer.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::vera {

Linear::Linear(
    std::shared_ptr<nn::UnaryModule> base_layer,
    const std::shared_ptr<BufferDict>& vera_A,
    const std::shared_ptr<BufferDict>& vera_B,
    const std::string& adapter,
    const VeraConfig& config,
    int rank,
    bool is_conv_1d)
    : VeraLayer(std::move(base_layer), adapter), is_target_conv_1d_layer(is_conv_1d) {
  fan_in_fan_out = config.fan_in_fan_out;
  update_layer(adapter, vera_A, vera_B, rank, config);
}

Tensor Linear::get_delta_weight(const std::string& adapter) const {
  Tensor a = sliced_A(adapter);
  Tensor b = sliced_B(adapter);
  Tensor lambda_d = vera_lambda_d_->at(adapter);
  Tensor lambda_b = vera_lambda_b_->at(adapter);
  const DType dtype = b.dtype();
  // 16-bit matmuls are computed in float32 and cast back, as PEFT does on CPU
  const bool upcast = dtype == kFloat16 || dtype == kBFloat16;
  if (upcast) {
    a = a.to(kFloat32);
    b = b.to(kFloat32);
    lambda_d = lambda_d.to(kFloat32);
    lambda_b = lambda_b.to(kFloat32);
  }
  // [out, r] @ [r, in]
  Tensor out = matmul(lambda_b.unsqueeze(-1) * b, lambda_d.unsqueeze(-1) * a);
  if (fan_in_fan_out)
    out = out.t();
  return upcast ? out.to(dtype) : out;
}

void Linear::merge_adapter(const std::string& adapter, bool safe_merge) {
  NoGradGuard g;
  Tensor& weight = base_weight();
  const Tensor merged = weight.detach() + get_delta_weight(adapter).to(weight.dtype());
  if (safe_merge)
    check_finite_merge(merged, adapter);
  nn::set_data(weight, merged.contiguous());
}

void Linear::unmerge_adapter(const std::string& adapter) {
  NoGradGuard g;
  Tensor& weight = base_weight();
  nn::set_data(
      weight, (weight.detach() - get_delta_weight(adapter).to(weight.dtype())).contiguous());
}

Tensor Linear::forward(const Tensor& x) {
  if (disable_adapters_) {
    if (merged())
      unmerge();
    return base_layer_->forward(x);
  }
  if (merged())
    return base_layer_->forward(x);
  Tensor result = base_layer_->forward(x);
  const DType result_dtype = result.dtype();
  Tensor xa = x;
  for (const std::string& a : active_adapters_) {
    if (!vera_lambda_d_->contains(a))
      continue;
    const Tensor& lambda_d = vera_lambda_d_->at(a);
    const Tensor& lambda_b = vera_lambda_b_->at(a);
    if (is_floating_point(xa.dtype()))
      xa = xa.to(lambda_d.dtype());
    const Tensor sa = sliced_A(a).to(lambda_d.dtype());
    const Tensor sb = sliced_B(a).to(lambda_d.dtype());
    // x: (..., in) -> (..., r) -> (..., out)
    const Tensor dropped = vera_dropout_->at_as<nn::UnaryModule>(a)->forward(xa);
    const Tensor h = lambda_d * nn::functional::linear(dropped, sa);
    result = result + lambda_b * nn::functional::linear(h, sb);
  }
  return result.dtype() == result_dtype ? result : result.to(result_dtype);
}

}  // namespace peftcpp::vera
