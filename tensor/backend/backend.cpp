#include "tensor/backend/backend.h"

#include <atomic>

#include "cuda/registration.h"
#include "tensor/cpu/cpu_backend.h"
#include "tensor/error.h"
#include "tensor/tensor.h"

namespace peftcpp {

const char* op_name(UnaryOp op) {
  static const char* names[] = {
#define PEFTCPP_UNARY_OP(name) #name,
#include "tensor/backend/kinds.def"
  };
  return names[static_cast<int>(op)];
}
const char* op_name(BinaryOp op) {
  static const char* names[] = {
#define PEFTCPP_BINARY_OP(name) #name,
#include "tensor/backend/kinds.def"
  };
  return names[static_cast<int>(op)];
}
const char* op_name(ReduceOp op) {
  static const char* names[] = {
#define PEFTCPP_REDUCE_OP(name) #name,
#include "tensor/backend/kinds.def"
  };
  return names[static_cast<int>(op)];
}

std::int64_t TensorView::numel() const {
  std::int64_t n = 1;
  for (std::int64_t s : shape) n *= s;
  return n;
}

bool TensorView::is_contiguous() const {
  std::int64_t expected = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    if (shape[i] == 1) continue;
    if (strides[i] != expected) return false;
    expected *= shape[i];
  }
  return true;
}

TensorView view_of(const Tensor& t) {
  return TensorView{t.raw_data(), t.dtype(), t.shape(), t.strides()};
}

bool Backend::has_fused(FusedOp, DType) const {
  return false;
}

namespace {
std::atomic<int> g_fused_disabled{0};
}  // namespace

bool use_fused(const Backend& backend, FusedOp op, DType dtype) {
  return g_fused_disabled.load(std::memory_order_relaxed) == 0 && backend.has_fused(op, dtype);
}
FusedKernelsDisabled::FusedKernelsDisabled() {
  g_fused_disabled.fetch_add(1, std::memory_order_relaxed);
}
FusedKernelsDisabled::~FusedKernelsDisabled() {
  g_fused_disabled.fetch_sub(1, std::memory_order_relaxed);
}

namespace {
[[noreturn]] void no_fused(const Backend& b, const char* op) {
  throw DeviceError(std::string("[") + op + "] no fused kernel on " + b.device().str() +
                    " (callers must check has_fused first)");
}
}  // namespace

void Backend::rms_norm(const TensorView&, const TensorView&, double, const TensorView&, const TensorView&) {
  no_fused(*this, "rms_norm");
}
void Backend::rms_norm_backward(const TensorView&, const TensorView&, const TensorView&, const TensorView&,
                                const TensorView&, const TensorView&) {
  no_fused(*this, "rms_norm_backward");
}
void Backend::rotary(const TensorView&, const TensorView&, const TensorView&, const TensorView&, bool) {
  no_fused(*this, "rotary");
}
void Backend::silu_mul(const TensorView&, const TensorView&, const TensorView&) {
  no_fused(*this, "silu_mul");
}
void Backend::silu_mul_backward(const TensorView&, const TensorView&, const TensorView&, const TensorView&,
                                const TensorView&) {
  no_fused(*this, "silu_mul_backward");
}
void Backend::cross_entropy(const TensorView&, const TensorView&, std::int64_t, const TensorView&, const TensorView&) {
  no_fused(*this, "cross_entropy");
}
void Backend::cross_entropy_backward(const TensorView&, const TensorView&, std::int64_t, const TensorView&,
                                     const TensorView&, const TensorView&) {
  no_fused(*this, "cross_entropy_backward");
}
void Backend::adam_step(const TensorView&, const TensorView&, const TensorView&, const TensorView&,
                        const TensorView&, const AdamStepArgs&) {
  no_fused(*this, "adam_step");
}

namespace {
Backend* g_backends[2] = {nullptr, nullptr};
}

Backend& backend_for(Device device) {
  if (device.is_cpu()) {
    static cpu::CpuBackend cpu_backend;
    return cpu_backend;
  }
  if (device.is_cuda()) cuda::detail::ensure_device(device.index);
  Backend* b = g_backends[static_cast<int>(device.type)];
  if (b == nullptr) {
    throw DeviceError("[backend] device " + device.str() +
                      " is not available: peftcpp was built without CUDA or no GPU is visible");
  }
  return *b;
}

void register_backend(DeviceType type, Backend* backend) {
  g_backends[static_cast<int>(type)] = backend;
}

std::string Device::str() const {
  return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index);
}

Device Device::parse(const std::string& text) {
  if (text == "cpu") return kCPU;
  if (text == "cuda") return kCUDA;
  if (text.rfind("cuda:", 0) == 0) {
    try {
      std::size_t used = 0;
      const int idx = std::stoi(text.substr(5), &used);
      if (used == text.size() - 5 && idx >= 0) return Device(DeviceType::CUDA, idx);
    } catch (const std::exception&) {
    }
  }
  throw DeviceError("[device] cannot parse device '" + text + "' (expected cpu, cuda or cuda:N)");
}

}  // namespace peftcpp
