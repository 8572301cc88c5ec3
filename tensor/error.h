// Exceptions thrown by every layer of peftcpp.
//
// Messages start with the op or component in brackets and name the offending values:
//   "[matmul] inner dimensions differ: [2, 3] @ [4, 5]"
// Nothing in peftcpp calls exit() or asserts on user input; bad input becomes one of these.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace peftcpp {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

/// Shapes that do not fit together (broadcasting, matmul, views, state dicts).
class ShapeError : public Error {
  using Error::Error;
};
/// An unsupported or mismatched dtype.
class DTypeError : public Error {
  using Error::Error;
};
/// Tensors on different devices, or a device that is not available.
class DeviceError : public Error {
  using Error::Error;
};
/// An index or dimension out of range.
class IndexError : public Error {
  using Error::Error;
};
/// A file that cannot be read or written, or whose content is malformed.
class IoError : public Error {
  using Error::Error;
};
/// A configuration value (config.json, adapter_config.json, CLI flag) that is invalid.
class ConfigError : public Error {
  using Error::Error;
};
/// A value that is invalid for reasons other than shape/dtype/device/index.
class ValueError : public Error {
  using Error::Error;
};
/// A feature this build does not include (e.g. CUDA in a CPU-only build).
class NotCompiledError : public Error {
  using Error::Error;
};

namespace detail {
template <typename... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}
}  // namespace detail

}  // namespace peftcpp

/// Throws `ErrorType` with the streamed message when `cond` is false.
#define PEFTCPP_CHECK_T(ErrorType, cond, ...)                         \
  do {                                                                \
    if (!(cond)) {                                                    \
      throw ErrorType(::peftcpp::detail::concat(__VA_ARGS__));        \
    }                                                                 \
  } while (0)

#define PEFTCPP_CHECK(cond, ...) PEFTCPP_CHECK_T(::peftcpp::ValueError, cond, __VA_ARGS__)
#define PEFTCPP_CHECK_SHAPE(cond, ...) PEFTCPP_CHECK_T(::peftcpp::ShapeError, cond, __VA_ARGS__)
#define PEFTCPP_CHECK_DTYPE(cond, ...) PEFTCPP_CHECK_T(::peftcpp::DTypeError, cond, __VA_ARGS__)
#define PEFTCPP_CHECK_INDEX(cond, ...) PEFTCPP_CHECK_T(::peftcpp::IndexError, cond, __VA_ARGS__)
