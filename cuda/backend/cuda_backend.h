// The CUDA implementation of Backend (internal). Every virtual enqueues on the current stream of
// cuda:0 (cuda/context.h) and returns without waiting, except the host copies, which return when
// the bytes have arrived. Kernels live in cuda/kernels (one family per file), GEMM in gemm.cpp.
#pragma once

#include "tensor/backend/backend.h"

namespace peftcpp::cuda {

class CudaBackend final : public Backend {
 public:
  Device device() const override {
    return kCUDA;
  }
  void copy(const TensorView& src, const TensorView& dst) override;
  void fill(const TensorView& dst, double value) override;
  void copy_to_host(const void* src, void* dst, std::size_t nbytes) override;
  void copy_from_host(const void* src, void* dst, std::size_t nbytes) override;
  void unary(UnaryOp op, const TensorView& src, const TensorView& dst, double p0, double p1) override;
  void binary(BinaryOp op, const TensorView& a, const TensorView& b, const TensorView& dst, double p0) override;
  void where(const TensorView& cond, const TensorView& a, const TensorView& b, const TensorView& dst) override;
  void reduce(ReduceOp op, const TensorView& src, const TensorView& dst) override;
  void arg_reduce(bool is_max, const TensorView& src, std::int64_t dim, const TensorView& values,
                  const TensorView& indices) override;
  void cumsum(const TensorView& src, const TensorView& dst, std::int64_t dim) override;
  void softmax(const TensorView& src, const TensorView& dst, std::int64_t dim, bool log) override;
  void gemm(const GemmArgs& args) override;
  void index_select(const TensorView& src, std::int64_t dim, const TensorView& index, const TensorView& dst) override;
  void gather(const TensorView& src, std::int64_t dim, const TensorView& index, const TensorView& dst) override;
  void scatter(const TensorView& dst, std::int64_t dim, const TensorView& index, const TensorView& src,
               bool accumulate) override;
  void index_add(const TensorView& dst, std::int64_t dim, const TensorView& index, const TensorView& src,
                 double alpha) override;
  void random(const TensorView& dst, int kind, double low, double high, std::uint64_t seed,
              std::uint64_t offset) override;

  // fused training kernels (cuda_backend_fused.cpp): float32 and float64, as on the CPU
  bool has_fused(FusedOp op, DType dtype) const override;
  void rms_norm(const TensorView& x, const TensorView& w, double eps, const TensorView& y,
                const TensorView& rstd) override;
  void rms_norm_backward(const TensorView& g, const TensorView& x, const TensorView& w, const TensorView& rstd,
                         const TensorView& gx, const TensorView& gw) override;
  void rotary(const TensorView& x, const TensorView& cos, const TensorView& sin, const TensorView& out,
              bool transpose) override;
  void silu_mul(const TensorView& gate, const TensorView& up, const TensorView& out) override;
  void silu_mul_backward(const TensorView& g, const TensorView& gate, const TensorView& up, const TensorView& d_gate,
                         const TensorView& d_up) override;
  void cross_entropy(const TensorView& logits, const TensorView& target, std::int64_t ignore_index,
                     const TensorView& loss, const TensorView& lse) override;
  void cross_entropy_backward(const TensorView& logits, const TensorView& target, std::int64_t ignore_index,
                              const TensorView& lse, const TensorView& scale, const TensorView& grad) override;
  void adam_step(const TensorView& param, const TensorView& grad, const TensorView& exp_avg,
                 const TensorView& exp_avg_sq, const TensorView& max_exp_avg_sq, const AdamStepArgs& args) override;
};

/// The backend registered for DeviceType::CUDA (created on first call; never destroyed).
CudaBackend& cuda_backend();

}  // namespace peftcpp::cuda
