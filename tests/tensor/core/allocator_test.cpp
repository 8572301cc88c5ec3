// The CPU caching allocator: statistics, caching, and that a training step frees its graph.
#include "tensor/allocator.h"

#include <doctest/doctest.h>

#include <cstdint>

#include "autograd/grad_mode.h"
#include "cuda/cuda.h"
#include "tensor/ops.h"

using namespace peftcpp;

TEST_CASE("allocations are 64-byte aligned, including empty ones") {
  for (std::int64_t n : {0, 1, 3, 1000, 100000}) {
    Tensor t = empty({n});
    CHECK(reinterpret_cast<std::uintptr_t>(t.raw_data()) % 64 == 0);
  }
  Tensor a = empty({0}), b = empty({0});
  CHECK(a.raw_data() != b.raw_data());
}

TEST_CASE("live, cached and peak bytes; large blocks are reused from the cache") {
  Allocator& alloc = allocator_for(kCPU);
  alloc.empty_cache();
  const AllocatorStats s0 = alloc.stats();
  CHECK(s0.cached_bytes == 0);
  {
    Tensor big = empty({1 << 18});  // 1 MiB
    CHECK(alloc.stats().live_bytes >= s0.live_bytes + (1 << 20));
  }
  const AllocatorStats s1 = alloc.stats();
  CHECK(s1.live_bytes == s0.live_bytes);
  CHECK(s1.cached_bytes >= (1 << 20));
  {
    Tensor again = empty({1 << 18});
    CHECK(alloc.stats().num_cache_hits == s1.num_cache_hits + 1);
    CHECK(alloc.stats().cached_bytes == s1.cached_bytes - (1 << 20));
  }
  alloc.reset_peak();
  const std::size_t before = alloc.stats().live_bytes;
  { Tensor t = empty({1 << 20}); }
  CHECK(alloc.stats().peak_live_bytes >= before + (4 << 20));
  alloc.reset_peak();
  CHECK(alloc.stats().peak_live_bytes == alloc.stats().live_bytes);
  alloc.empty_cache();
  CHECK(alloc.stats().cached_bytes == 0);
  // without a usable GPU the CUDA allocator is refused with a DeviceError (tests/cuda covers it otherwise)
  if (!cuda::is_available()) CHECK_THROWS_AS(allocator_for(kCUDA), DeviceError);
}

TEST_CASE("100 forward+backward steps leave live bytes unchanged after every step") {
  Allocator& alloc = allocator_for(kCPU);
  Generator g(1);
  Tensor w1 = mul(randn({256, 128}, kFloat32, &g), 0.05).requires_grad_();
  Tensor b1 = zeros({256}).requires_grad_();
  Tensor w2 = mul(randn({10, 256}, kFloat32, &g), 0.05).requires_grad_();
  Tensor x = randn({64, 128}, kFloat32, &g);
  Tensor labels = randint(0, 10, {64}, &g);
  auto step = [&](bool retain) {
    Tensor h = gelu(linear(x, w1, b1));
    h.retain_grad();
    Tensor logits = linear(h.narrow(0, 0, 64), w2);
    Tensor logp = log_softmax(logits, -1);
    Tensor picked = gather(logp, 1, labels.unsqueeze(1));
    auto [mx, idx] = max(logits, 1);
    Tensor loss = add(neg(mean(picked)), mul(mean(mx), 1e-3));
    loss = add(loss, mul(sum(where(gt(h, 0.0), h, zeros_like(h))), 1e-6));
    loss.backward(Tensor(), retain);
    NoGradGuard ng;
    for (Tensor* p : {&w1, &b1, &w2}) {
      p->add_(p->grad(), -0.1);
      p->grad().zero_();
    }
  };
  step(false);  // creates the .grad buffers
  const std::size_t base = alloc.stats().live_bytes;
  int mismatches = 0;
  for (int i = 0; i < 100; ++i) {
    step(i % 10 == 3);  // a retained graph must be freed too once its tensors go away
    if (alloc.stats().live_bytes != base)
      ++mismatches;
  }
  CHECK(mismatches == 0);
  CHECK(alloc.stats().live_bytes == base);
}
