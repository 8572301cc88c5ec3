// The device backend interface: one virtual per op family, parameterised by kind enums
// (tensor/backend/kinds.def). Kernels write into caller-allocated outputs described by
// TensorView; they know nothing of autograd. Validation happens before a call reaches a backend:
// backends may assume shapes and dtypes fit.
//
// Installed so that out-of-tree backends can be written; it includes no SDK header.
#pragma once

#include <cstdint>
#include <vector>

#include "tensor/device.h"
#include "tensor/dtype.h"
#include "tensor/shape.h"

namespace peftcpp {

class Tensor;

enum class UnaryOp : std::uint8_t {
#define PEFTCPP_UNARY_OP(name) name,
#include "tensor/backend/kinds.def"
};
enum class BinaryOp : std::uint8_t {
#define PEFTCPP_BINARY_OP(name) name,
#include "tensor/backend/kinds.def"
};
enum class ReduceOp : std::uint8_t {
#define PEFTCPP_REDUCE_OP(name) name,
#include "tensor/backend/kinds.def"
};
const char* op_name(UnaryOp op);
const char* op_name(BinaryOp op);
const char* op_name(ReduceOp op);

/// A strided window on device memory (strides in elements, may be 0 for broadcast dims).
struct TensorView {
  void* data = nullptr;
  DType dtype = DType::Float32;
  Shape shape;
  Strides strides;

  std::int64_t ndim() const {
    return static_cast<std::int64_t>(shape.size());
  }
  std::int64_t numel() const;
  bool is_contiguous() const;
};
/// The view of a tensor's elements (data pointer already offset).
TensorView view_of(const Tensor& t);

/// Parameters of a (batched) row-major GEMM: C = alpha op(A) op(B) + beta C.
struct GemmArgs {
  DType dtype = DType::Float32;
  bool trans_a = false, trans_b = false;
  std::int64_t m = 0, n = 0, k = 0;
  double alpha = 1.0, beta = 0.0;
  const void* a = nullptr;
  std::int64_t lda = 0, stride_a = 0;
  const void* b = nullptr;
  std::int64_t ldb = 0, stride_b = 0;
  void* c = nullptr;
  std::int64_t ldc = 0, stride_c = 0;
  std::int64_t batch = 1;
};

/// The fused training kernels a backend may provide (Backend::has_fused).
enum class FusedOp : std::uint8_t { RmsNorm, Rotary, SiluMul, CrossEntropy, AdamStep };

/// Hyper-parameters of one Adam/AdamW step (torch.optim semantics, `step` already incremented).
struct AdamStepArgs {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  double step = 1;
  bool decoupled = true;  // AdamW: param *= 1 - lr * wd; Adam: grad += wd * param
  bool amsgrad = false, maximize = false;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;

  // ---- copies and fills ----
  /// dst = cast(src); same shape, any strides, any dtypes.
  virtual void copy(const TensorView& src, const TensorView& dst) = 0;
  virtual void fill(const TensorView& dst, double value) = 0;
  /// Copies between host and this device (contiguous bytes).
  virtual void copy_to_host(const void* src, void* dst, std::size_t nbytes) = 0;
  virtual void copy_from_host(const void* src, void* dst, std::size_t nbytes) = 0;

  // ---- element-wise ----
  /// dst = op(src) with scalar params p0, p1; dst dtype is the op's result dtype.
  virtual void unary(UnaryOp op, const TensorView& src, const TensorView& dst, double p0, double p1) = 0;
  /// dst = op(a, b); a and b are already broadcast to dst's shape (stride-0 dims) and share a dtype.
  virtual void binary(BinaryOp op, const TensorView& a, const TensorView& b, const TensorView& dst, double p0) = 0;
  /// dst = cond ? a : b; all broadcast to dst's shape; cond is Bool.
  virtual void where(const TensorView& cond, const TensorView& a, const TensorView& b, const TensorView& dst) = 0;

  // ---- reductions ----
  /// dst has src's rank with reduced dims of size 1 (keepdim layout); accumulation in
  /// float32 for 16-bit floats, float64 for float64, int64 for integers.
  virtual void reduce(ReduceOp op, const TensorView& src, const TensorView& dst) = 0;
  /// Max/min along `dim`: values and int64 indices in keepdim layout (first index on ties; NaN wins).
  virtual void arg_reduce(bool is_max, const TensorView& src, std::int64_t dim, const TensorView& values,
                          const TensorView& indices) = 0;
  virtual void cumsum(const TensorView& src, const TensorView& dst, std::int64_t dim) = 0;
  /// Softmax or log-softmax along `dim`.
  virtual void softmax(const TensorView& src, const TensorView& dst, std::int64_t dim, bool log) = 0;

  // ---- matrix products ----
  virtual void gemm(const GemmArgs& args) = 0;

  // ---- indexing (index tensors are int64, already bounds-checked by the caller) ----
  virtual void index_select(const TensorView& src, std::int64_t dim, const TensorView& index, const TensorView& dst) = 0;
  virtual void gather(const TensorView& src, std::int64_t dim, const TensorView& index, const TensorView& dst) = 0;
  /// dst[... index[i] ...] (=|+=) src[i] along dim; dst already holds the base values.
  virtual void scatter(const TensorView& dst, std::int64_t dim, const TensorView& index, const TensorView& src, bool accumulate) = 0;
  /// dst.index(dim, index[i]) += alpha * src.index(dim, i).
  virtual void index_add(const TensorView& dst, std::int64_t dim, const TensorView& index, const TensorView& src, double alpha) = 0;

  // ---- random (Philox counter-based; element i uses counter offset + i) ----
  /// kind 0: uniform [low, high); 1: normal(mean=low, std=high).
  virtual void random(const TensorView& dst, int kind, double low, double high, std::uint64_t seed, std::uint64_t offset) = 0;

  // ---- fused training kernels ----
  // One pass where the composed ops would make several. The op layer calls them only when
  // has_fused(op, dtype) says so and the inputs are contiguous; otherwise it composes the same
  // math from the ops above (which is also the reference the fused kernels are tested against).
  // The base class provides none.
  virtual bool has_fused(FusedOp op, DType dtype) const;
  /// y = x * rstd * w per row of n = x.shape.back(), rstd = 1 / sqrt(mean(x^2) + eps) (saved,
  /// float32 for 16-bit x); w.data null means no weight.
  virtual void rms_norm(const TensorView& x, const TensorView& w, double eps, const TensorView& y, const TensorView& rstd);
  /// With u = g * w: gx = rstd * u - x * rstd^3 * mean(u * x) per row (the exact gradient);
  /// gw (data may be null) = sum over rows of g * x * rstd.
  virtual void rms_norm_backward(const TensorView& g, const TensorView& x, const TensorView& w, const TensorView& rstd,
                                 const TensorView& gx, const TensorView& gw);
  /// Rotary embedding on x [B, H, T, D] (any strides): out = x * cos + rotate_half(x) * sin with
  /// cos, sin [B or 1, T, D] (any strides) and out contiguous. `transpose` applies the transposed
  /// map (the gradient): out = x * cos + rotate_half^T(x * sin).
  virtual void rotary(const TensorView& x, const TensorView& cos, const TensorView& sin, const TensorView& out,
                      bool transpose);
  /// out = silu(gate) * up, all contiguous and of one shape.
  virtual void silu_mul(const TensorView& gate, const TensorView& up, const TensorView& out);
  virtual void silu_mul_backward(const TensorView& g, const TensorView& gate, const TensorView& up,
                                 const TensorView& d_gate, const TensorView& d_up);
  /// Rows of logits [M, C] (contiguous) against int64 targets [M]: lse[r] = logsumexp(x[r]),
  /// loss[r] = lse[r] - x[r, t[r]], both 0 where t[r] == ignore_index (targets in range otherwise).
  virtual void cross_entropy(const TensorView& logits, const TensorView& target, std::int64_t ignore_index,
                             const TensorView& loss, const TensorView& lse);
  /// grad[r] = scale[r] * (softmax(x[r]) - onehot(t[r])), 0 for ignored rows; scale [M] or [1].
  virtual void cross_entropy_backward(const TensorView& logits, const TensorView& target, std::int64_t ignore_index,
                                      const TensorView& lse, const TensorView& scale, const TensorView& grad);
  /// One Adam(W) step in place on a contiguous parameter and its states (max_exp_avg_sq.data
  /// null unless amsgrad).
  virtual void adam_step(const TensorView& param, const TensorView& grad, const TensorView& exp_avg,
                         const TensorView& exp_avg_sq, const TensorView& max_exp_avg_sq, const AdamStepArgs& args);
};

/// True when the op layer may call `op`'s fused kernel for `dtype` on `backend`: the backend has
/// it and no FusedKernelsDisabled guard is alive.
bool use_fused(const Backend& backend, FusedOp op, DType dtype);
/// While alive (on any thread), ops take their composed path instead of the fused kernels: for
/// tests that check one against the other, and for benchmarks that measure the difference.
class FusedKernelsDisabled {
 public:
  FusedKernelsDisabled();
  ~FusedKernelsDisabled();
  FusedKernelsDisabled(const FusedKernelsDisabled&) = delete;
  FusedKernelsDisabled& operator=(const FusedKernelsDisabled&) = delete;
};

/// The backend for a device (throws DeviceError if it is not built in or not available).
Backend& backend_for(Device device);
/// Used by the CUDA backend to plug itself in.
void register_backend(DeviceType type, Backend* backend);

}  // namespace peftcpp
