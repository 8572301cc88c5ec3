// The CUDA caching allocator and the backend's registration: statistics, reuse of freed blocks,
// empty_cache, errors for devices that cannot be used.
#include <doctest/doctest.h>

#include "cuda/cuda.h"
#include "tensor/allocator.h"
#include "tests/cuda/cuda_test_util.h"

using namespace peftcpp;
using namespace peftcpp::cuda_test;

TEST_CASE("cuda allocator: live/peak/cached statistics and block reuse") {
  PEFTCPP_SKIP_WITHOUT_CUDA();
  Allocator& alloc = allocator_for(dev());
  alloc.empty_cache();
  const AllocatorStats s0 = alloc.stats();
  CHECK(s0.cached_bytes == 0);
  {
    Tensor t = empty({1 << 20}, kFloat32, dev());  // 4 MiB: its own size class
    CHECK(alloc.stats().live_bytes == s0.live_bytes + (4u << 20));
    CHECK(alloc.stats().peak_live_bytes >= s0.live_bytes + (4u << 20));
  }
  const AllocatorStats s1 = alloc.stats();
  CHECK(s1.live_bytes == s0.live_bytes);
  CHECK(s1.cached_bytes == (4u << 20));
  {
    Tensor again = empty({1 << 20}, kFloat32, dev());
    CHECK(alloc.stats().num_cache_hits == s1.num_cache_hits + 1);
    CHECK(alloc.stats().cached_bytes == 0);
  }
  alloc.reset_peak();
  CHECK(alloc.stats().peak_live_bytes == alloc.stats().live_bytes);
  alloc.empty_cache();
  CHECK(alloc.stats().cached_bytes == 0);
  // zero-byte tensors still get a valid, distinct pointer
  const Tensor e1 = empty({0}, kFloat32, dev()), e2 = empty({0}, kFloat32, dev());
  CHECK(e1.storage()->data() != e2.storage()->data());
}

TEST_CASE("cuda devices beyond cuda:0 are refused with a DeviceError naming the device") {
  PEFTCPP_SKIP_WITHOUT_CUDA();
  PEFTCPP_SKIP_IN_DRY_RUN();
  CHECK_THROWS_AS(zeros({2}, kFloat32, Device(DeviceType::CUDA, 1)), DeviceError);
}
