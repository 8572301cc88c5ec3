// Storage: a refcounted block of bytes on one device, shared by a tensor and all its views.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "tensor/device.h"

namespace peftcpp {

class Storage {
 public:
  /// Fresh memory from the device's allocator (uninitialised).
  static std::shared_ptr<Storage> allocate(std::size_t nbytes, Device device);
  /// Wraps memory owned elsewhere (e.g. a memory-mapped safetensors file). `keepalive` is held as
  /// long as the storage lives. Writes through a read-only storage throw.
  static std::shared_ptr<Storage> wrap(
      void* data,
      std::size_t nbytes,
      Device device,
      std::shared_ptr<const void> keepalive,
      bool read_only);

  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const {
    return data_;
  }
  std::size_t nbytes() const {
    return nbytes_;
  }
  Device device() const {
    return device_;
  }
  bool read_only() const {
    return read_only_;
  }
  /// Version counter shared by all views; bumped by every in-place write. Autograd compares it
  /// with the value seen when a tensor was saved for backward.
  std::uint64_t version() const {
    return version_.load(std::memory_order_relaxed);
  }
  void bump_version() {
    version_.fetch_add(1, std::memory_order_relaxed);
  }

 private:
  Storage() = default;
  void* data_ = nullptr;
  std::size_t nbytes_ = 0;
  Device device_{};
  bool owned_ = false;
  bool read_only_ = false;
  std::shared_ptr<const void> keepalive_;
  std::atomic<std::uint64_t> version_{0};
};

}  // namespace peftcpp
