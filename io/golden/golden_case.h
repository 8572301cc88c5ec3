// Shared pieces of the golden checker's groups (layout: shared/golden/README.md): a case's
// verdict, its tolerances from meta.json, and the elementwise comparison every group uses.
#pragma once

#include <filesystem>
#include <string>
#include <utility>

#include "io/json/json.h"
#include "io/safetensors/tensor_io.h"

namespace peftcpp::golden {

struct Verdict {
  enum class Status { Pass, Fail, Skip };
  Status status = Status::Pass;
  /// FAIL: the first mismatch ("<key> max|diff|=<x> > tol <y>"); SKIP: "<what> not implemented".
  std::string message;

  static Verdict pass() {
    return {};
  }
  static Verdict fail(std::string m) {
    return {Status::Fail, std::move(m)};
  }
  static Verdict skip(std::string m) {
    return {Status::Skip, std::move(m)};
  }
};

/// (atol, rtol) of `meta["tolerances"][kind]`, else `fallback`.
std::pair<double, double> tolerance(const Json& meta, const std::string& kind,
                                    std::pair<double, double> fallback = {1e-5, 1e-4});

/// "" when |actual - expected| <= atol + rtol * |expected| everywhere (compared in float64, on
/// CPU) and the shapes agree; else "<key> max|diff|=<x> > tol <y>" at the worst element, or a
/// shape/definedness mismatch naming `key`. NaN/inf must match exactly.
std::string compare_close(const std::string& key, const Tensor& actual, const Tensor& expected,
                          std::pair<double, double> tol);

/// The device the checks run on (models, adapters and inputs are moved there; results come back
/// to the CPU for comparison). CPU unless the checker's --device says otherwise.
Device device();
void set_device(Device device);
/// `t` on device() (undefined stays undefined).
Tensor on_device(const Tensor& t);

/// `dir/meta.json` parsed.
Json read_meta(const std::filesystem::path& case_dir);

}  // namespace peftcpp::golden
