// Where a tensor's storage lives.
#pragma once

#include <cstdint>
#include <string>

namespace peftcpp {

enum class DeviceType : std::uint8_t { CPU, CUDA };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;

  constexpr Device() = default;
  constexpr Device(DeviceType t, int i = 0) : type(t), index(i) {}
  /// Parses "cpu", "cuda", "cuda:1".
  static Device parse(const std::string& text);

  constexpr bool is_cpu() const {
    return type == DeviceType::CPU;
  }
  constexpr bool is_cuda() const {
    return type == DeviceType::CUDA;
  }
  constexpr bool operator==(const Device& o) const {
    return type == o.type && (type == DeviceType::CPU || index == o.index);
  }
  std::string str() const;
};

inline constexpr Device kCPU{DeviceType::CPU, 0};
inline constexpr Device kCUDA{DeviceType::CUDA, 0};

}  // namespace peftcpp
