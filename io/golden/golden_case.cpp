#include "io/golden/golden_case.h"

#include <cmath>
#include <sstream>

#include "tensor/ops.h"

namespace peftcpp::golden {

std::pair<double, double> tolerance(const Json& meta, const std::string& kind,
                                    std::pair<double, double> fallback) {
  const Json* tols = meta.find("tolerances");
  if (tols == nullptr || !tols->is_object()) return fallback;
  const Json* t = tols->find(kind);
  if (t == nullptr || !t->is_array() || t->as_array().size() != 2) return fallback;
  return {t->as_array()[0].as_double(), t->as_array()[1].as_double()};
}

namespace {
std::string shape_text(const Shape& s) {
  std::ostringstream o;
  o << '[';
  for (std::size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  o << ']';
  return o.str();
}
}  // namespace

namespace {
Device g_device = kCPU;
}  // namespace

Device device() {
  return g_device;
}
void set_device(Device d) {
  g_device = d;
}
Tensor on_device(const Tensor& t) {
  return t.defined() ? t.to(g_device) : t;
}

std::string compare_close(const std::string& key, const Tensor& actual, const Tensor& expected,
                          std::pair<double, double> tol) {
  if (!expected.defined()) return key + ": expected tensor missing";
  if (!actual.defined()) return key + ": not produced";
  if (actual.shape() != expected.shape()) {
    return key + ": shape " + shape_text(actual.shape()) + " != expected " +
           shape_text(expected.shape());
  }
  const Tensor a = actual.detach().to(kCPU).to(kFloat64).contiguous();
  const Tensor e = expected.detach().to(kCPU).to(kFloat64).contiguous();
  const double* pa = a.data_ptr<double>();
  const double* pe = e.data_ptr<double>();
  double worst_excess = 0, worst_diff = 0, worst_tol = 0;
  bool bad = false;
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    const double x = pa[i], y = pe[i];
    if (!std::isfinite(y) || !std::isfinite(x)) {
      const bool same = (std::isnan(x) && std::isnan(y)) || x == y;
      if (!same) return key + ": element " + std::to_string(i) + " is " + std::to_string(x) +
                        ", expected " + std::to_string(y);
      continue;
    }
    const double diff = std::fabs(x - y);
    const double t = tol.first + tol.second * std::fabs(y);
    if (diff > t && diff - t > worst_excess) {
      bad = true;
      worst_excess = diff - t;
      worst_diff = diff;
      worst_tol = t;
    }
  }
  if (!bad) return "";
  std::ostringstream o;
  o << key << " max|diff|=" << worst_diff << " > tol " << worst_tol;
  return o.str();
}

Json read_meta(const std::filesystem::path& case_dir) {
  return Json::parse_file(case_dir / "meta.json");
}

}  // namespace peftcpp::golden
