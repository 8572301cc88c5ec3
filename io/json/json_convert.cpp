// Scalar Json conversions (see json_convert.h).
#include "io/json/json_convert.h"

#include <cmath>

#include "tensor/error.h"

namespace peftcpp {

void from_json(const Json& j, bool& out) {
  out = j.as_bool();
}

void from_json(const Json& j, std::int64_t& out) {
  if (j.is_float()) {
    const double d = j.as_double();
    // 2^63 is exactly representable; anything >= it does not fit.
    const bool integral = std::isfinite(d) && d == std::trunc(d) && d >= -9.2233720368547758e18 &&
                          d < 9.2233720368547758e18;
    PEFTCPP_CHECK(integral, "[json] expected int, got float ", Json(d).dump());
    out = static_cast<std::int64_t>(d);
    return;
  }
  out = j.as_int();
}

void from_json(const Json& j, int& out) {
  std::int64_t v = 0;
  from_json(j, v);
  PEFTCPP_CHECK(v >= std::numeric_limits<int>::min() && v <= std::numeric_limits<int>::max(),
                "[json] integer ", v, " does not fit in 32 bits");
  out = static_cast<int>(v);
}

void from_json(const Json& j, double& out) {
  out = j.as_double();
}

void from_json(const Json& j, std::string& out) {
  out = j.as_string();
}

}  // namespace peftcpp
