// Philox-4x32-10 counter-based generator (Salmon et al., SC'11). Element i of a draw uses counter
// (offset + i), so the stream does not depend on threads or on how the work is split.
#include <cmath>
#include <type_traits>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"
#include "tensor/cpu/reduce_plan.h"
#include "tensor/random/philox.h"

namespace peftcpp::cpu {

void CpuBackend::random(const TensorView& dst, int kind, double low, double high, std::uint64_t seed,
                        std::uint64_t offset) {
  const std::int64_t n = dst.numel();
  dispatch_floating(dst.dtype, "random", [&]<typename T>() {
    T* d = static_cast<T*>(dst.data);
    constexpr int digits = std::is_same_v<T, double> ? 53
                           : std::is_same_v<T, float> ? 24
                           : std::is_same_v<T, Half> ? 11
                                                      : 8;
#pragma omp parallel for schedule(static) if (n >= kParallelGrain)
    for (std::int64_t i = 0; i < n; ++i) {
      const double v = kind == 0 ? low + (high - low) * philox_uniform_digits(seed, offset + static_cast<std::uint64_t>(i), digits)
                                 : low + high * philox_normal(seed, offset + static_cast<std::uint64_t>(i));
      store(d + offset_of(i, dst.shape, dst.strides), static_cast<compute_t<T>>(v));
    }
  });
}

}  // namespace peftcpp::cpu
