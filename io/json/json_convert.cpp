// Scalar Json conversions (see json_convert.h).
#include "io/json/json_convert.h"

#include <charconv>
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
  PEFTCPP_CHECK(
      v >= std::numeric_limits<int>::min() && v <= std::numeric_limits<int>::max(),
      "[json] integer ",
      v,
      " does not fit in 32 bits");
  out = static_cast<int>(v);
}

void from_json(const Json& j, double& out) {
  out = j.as_double();
}

void from_json(const Json& j, std::string& out) {
  out = j.as_string();
}

void from_json(const Json& j, std::vector<std::pair<std::int64_t, std::string>>& out) {
  std::vector<std::pair<std::int64_t, std::string>> result;
  for (const auto& [key, value] : j.as_object()) {
    std::int64_t id = 0;
    auto [p, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
    PEFTCPP_CHECK(
        ec == std::errc() && p == key.data() + key.size() && !key.empty(),
        "[json] expected integer keys, got '",
        key,
        "'");
    result.emplace_back(id, value.as_string());
  }
  out = std::move(result);
}

Json to_json(const std::vector<std::pair<std::int64_t, std::string>>& v) {
  JsonObject o;
  for (const auto& [id, name] : v) {
    o.set(std::to_string(id), Json(name));
  }
  o.set_int_keys(true);
  return Json(std::move(o));
}

}  // namespace peftcpp
