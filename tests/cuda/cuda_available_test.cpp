// CUDA availability: on machines without a GPU the backend reports why and every device test
// skips; with a GPU the probe kernel must run.
#include <doctest/doctest.h>

#include <cstdlib>

#include "cuda/cuda.h"
#include "tensor/error.h"
#include "tensor/ops.h"

using namespace peftcpp;

TEST_CASE("cuda availability is reported consistently (runs without a GPU)") {
  if (!cuda::is_available()) {
    MESSAGE("CUDA tests skipped: " << cuda::unavailable_reason());
    CHECK(!cuda::unavailable_reason().empty());
    // allocating on an unavailable device is a clear DeviceError, never a crash
    CHECK_THROWS_AS(zeros({2}, kFloat32, kCUDA), DeviceError);
    return;
  }
  CHECK(cuda::device_count() > 0);
  CHECK(cuda::is_compiled());
}
