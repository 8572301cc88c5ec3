// Pinned, double-buffered host <-> device copies (see cuda/host_transfer.h).
#include "cuda/host_transfer.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "cuda/check.h"
#include "cuda/context.h"

namespace peftcpp::cuda {
namespace {

struct Staging {
  void* buf[2] = {nullptr, nullptr};
  cudaEvent_t done[2] = {nullptr, nullptr};  // the last copy out of / into buf[i] finished
  std::mutex mu;
};

// Allocated on first transfer, never freed (transfers may happen during static destruction).
Staging& staging() {
  static Staging* s = [] {
    auto* st = new Staging();
    for (int i = 0; i < 2; ++i) {
      PEFTCPP_CUDA_CHECK("pinned staging", cudaMallocHost(&st->buf[i], kStagingBytes));
      PEFTCPP_CUDA_CHECK("pinned staging", cudaEventCreateWithFlags(&st->done[i], cudaEventDisableTiming));
    }
    return st;
  }();
  return *s;
}

}  // namespace

void copy_host_to_device(const void* host_src, void* device_dst, std::size_t nbytes) {
  if (nbytes == 0) return;
  Staging& s = staging();
  std::lock_guard<std::mutex> lock(s.mu);
  cudaStream_t stream = current_stream();
  const auto* src = static_cast<const char*>(host_src);
  auto* dst = static_cast<char*>(device_dst);
  int b = 0;
  for (std::size_t pos = 0; pos < nbytes; pos += kStagingBytes, b ^= 1) {
    const std::size_t n = std::min(kStagingBytes, nbytes - pos);
    // buf[b] may still be read by the copy issued two chunks ago
    PEFTCPP_CUDA_CHECK("copy_from_host", cudaEventSynchronize(s.done[b]));
    std::memcpy(s.buf[b], src + pos, n);
    PEFTCPP_CUDA_CHECK("copy_from_host",
                       cudaMemcpyAsync(dst + pos, s.buf[b], n, cudaMemcpyHostToDevice, stream));
    PEFTCPP_CUDA_CHECK("copy_from_host", cudaEventRecord(s.done[b], stream));
  }
  PEFTCPP_CUDA_CHECK("copy_from_host", cudaStreamSynchronize(stream));
}

void copy_device_to_host(const void* device_src, void* host_dst, std::size_t nbytes) {
  if (nbytes == 0) return;
  Staging& s = staging();
  std::lock_guard<std::mutex> lock(s.mu);
  cudaStream_t stream = current_stream();
  const auto* src = static_cast<const char*>(device_src);
  auto* dst = static_cast<char*>(host_dst);
  auto enqueue = [&](std::size_t pos, int b) {
    const std::size_t n = std::min(kStagingBytes, nbytes - pos);
    PEFTCPP_CUDA_CHECK("copy_to_host",
                       cudaMemcpyAsync(s.buf[b], src + pos, n, cudaMemcpyDeviceToHost, stream));
    PEFTCPP_CUDA_CHECK("copy_to_host", cudaEventRecord(s.done[b], stream));
  };
  enqueue(0, 0);
  int b = 0;
  for (std::size_t pos = 0; pos < nbytes; pos += kStagingBytes, b ^= 1) {
    // the other buffer was drained by the previous iteration: start the next chunk into it
    if (pos + kStagingBytes < nbytes) enqueue(pos + kStagingBytes, b ^ 1);
    PEFTCPP_CUDA_CHECK("copy_to_host", cudaEventSynchronize(s.done[b]));
    std::memcpy(dst + pos, s.buf[b], std::min(kStagingBytes, nbytes - pos));
  }
}

}  // namespace peftcpp::cuda
