// Reductions, arg-reductions, cumsum and softmax on CUDA against the CPU backend: every dtype,
// sets of dims, keepdim, strided inputs, and the three reduction layouts (block per output,
// split long rows, one thread per column).
#include <doctest/doctest.h>

#include <algorithm>
#include <limits>

#include "tests/cuda/cuda_test_util.h"

using namespace peftcpp;
using namespace peftcpp::cuda_test;

namespace {

const Shape kShape{7, 13, 5};

// Sums of many float32 terms are accumulated in double on both devices, but rounded in a
// different order: allow a few float32 ulps of the magnitude.
double reduce_tol(DType d) {
  return d == kFloat32 ? 1e-5 : rtol_for(d);
}

}  // namespace

TEST_CASE("cuda sum/prod/amax/amin/all/any over sets of dims in every dtype") {
  PEFTCPP_SKIP_WITHOUT_CUDA();
  const std::vector<Dims> dim_sets{{}, {0}, {1}, {2}, {0, 2}, {1, 2}, {0, 1, 2}, {-1}};
  for (DType d : all_dtypes()) {
    const Tensor x = random_cpu(kShape, d, 21);
    // products of values near 1 stay finite
    const Tensor xp = is_floating_point(d) ? add(mul(x, 0.05), 1.0).to(d) : d == kBool ? x : clamp(x, -2.0, 2.0).to(d);
    for (const Tensor* src : {&x, &xp}) {
      const Tensor nc = non_contiguous(*src);
      const Tensor g = src->to(dev()), ncg = non_contiguous(g);
      for (const Dims& dims : dim_sets) {
        for (bool keepdim : {false, true}) {
          const std::string what = std::string(dtype_name(d)) + " dims " + std::to_string(dims.size()) +
                                   (keepdim ? " keepdim" : "");
          const double tol = reduce_tol(d);
          if (src == &x) {
            if (d != kBool) {
              check_close(sum(*src, dims, keepdim), sum(g, dims, keepdim), tol, tol, "sum " + what);
              check_close(sum(nc, dims, keepdim), sum(ncg, dims, keepdim), tol, tol, "sum strided " + what);
              check_close(amax(*src, dims, keepdim), amax(g, dims, keepdim), 0.0, 0.0, "amax " + what);
              check_close(amin(nc, dims, keepdim), amin(ncg, dims, keepdim), 0.0, 0.0, "amin strided " + what);
            }
            check_close(all(*src, dims, keepdim), all(g, dims, keepdim), 0.0, 0.0, "all " + what);
            check_close(any(nc, dims, keepdim), any(ncg, dims, keepdim), 0.0, 0.0, "any strided " + what);
          } else if (d != kBool) {
            check_close(prod(*src, dims, keepdim), prod(g, dims, keepdim), tol, tol, "prod " + what);
          }
        }
      }
    }
  }
}

TEST_CASE("cuda reductions: long rows split over blocks, column sums, NaN propagation") {
  PEFTCPP_SKIP_WITHOUT_CUDA();
  Generator gen(3);
  for (DType d : float_dtypes()) {
    const Tensor rows = randn({3, 300001}, kFloat32, &gen).to(d);  // few outputs: split kernel
    // both accumulate in double; the result's own rounding may differ by one unit
    const double tol = std::max(1e-5, rtol_for(d));
    check_close(sum(rows, {1}), sum(rows.to(dev()), {1}), tol, 1e-4, std::string("long rows ") + dtype_name(d));
    check_close(sum(rows), sum(rows.to(dev())), tol, 1e-3, std::string("total ") + dtype_name(d));
    const Tensor cols = randn({67, 8195}, kFloat32, &gen).to(d);  // many stride-1 outputs: column kernel
    check_close(sum(cols, {0}), sum(cols.to(dev()), {0}), tol, 1e-5, std::string("columns ") + dtype_name(d));
    check_close(amax(cols, {0}), amax(cols.to(dev()), {0}), 0.0, 0.0, std::string("column max ") + dtype_name(d));
    const Tensor tall = randn({1000, 4099}, kFloat32, &gen).to(d);  // columns split over row shares
    check_close(sum(tall, {0}), sum(tall.to(dev()), {0}), tol, 1e-4, std::string("tall columns ") + dtype_name(d));
    check_close(amin(tall, {0}), amin(tall.to(dev()), {0}), 0.0, 0.0, std::string("tall column min ") + dtype_name(d));
  }
  Tensor x = randn({4, 9}, kFloat32, &gen);
  x = where(gt(x, 1.2), full({}, std::nan("")), x);
  check_close(amax(x, {1}), amax(x.to(dev()), {1}), 0.0, 0.0, "amax with NaN");
  check_close(amin(x, {0}), amin(x.to(dev()), {0}), 0.0, 0.0, "amin with NaN");
  check_close(sum(zeros({0, 3}), {0}), sum(zeros({0, 3}, kFloat32, dev()), {0}), 0.0, 0.0, "sum of empty dim");
}

TEST_CASE("cuda argmax/argmin: first index on ties, NaN wins, every dtype and dim") {
  PEFTCPP_SKIP_WITHOUT_CUDA();
  for (DType d : all_dtypes()) {
    if (d == kBool) continue;
    // coarse values make ties common
    const Tensor x = is_floating_point(d) ? floor(mul(random_cpu(kShape, kFloat64, 31), 2.0)).to(d)
                                          : clamp(random_cpu(kShape, d, 31), -2.0, 2.0).to(d);
    const Tensor g = x.to(dev());
    for (std::int64_t dim = 0; dim < 3; ++dim) {
      const std::string what = std::string(dtype_name(d)) + " dim " + std::to_string(dim);
      check_close(argmax(x, dim), argmax(g, dim), 0.0, 0.0, "argmax " + what);
      check_close(argmin(non_contiguous(x), dim, true), argmin(non_contiguous(g), dim, true), 0.0, 0.0,
                  "argmin strided " + what);
      const auto [v_cpu, i_cpu] = max(x, dim, true);
      const auto [v_gpu, i_gpu] = max(g, dim, true);
      check_close(v_cpu, v_gpu, 0.0, 0.0, "max values " + what);
      check_close(i_cpu, i_gpu, 0.0, 0.0, "max indices " + what);
    }
  }
  Generator gen(4);
  Tensor x = randn({5, 3000}, kFloat32, &gen);  // long rows: the whole block takes part
  x = where(gt(x, 3.0), full({}, std::nan("")), x);
  check_close(argmax(x, 1), argmax(x.to(dev()), 1), 0.0, 0.0, "argmax long rows with NaN");
  check_close(argmin(x, 1), argmin(x.to(dev()), 1), 0.0, 0.0, "argmin long rows with NaN");
}

TEST_CASE("cuda cumsum along each dim in every dtype") {
  PEFTCPP_SKIP_WITHOUT_CUDA();
  for (DType d : all_dtypes()) {
    const Tensor x = random_cpu(kShape, d, 41);
    for (std::int64_t dim = 0; dim < 3; ++dim) {
      const std::string what = std::string(dtype_name(d)) + " dim " + std::to_string(dim);
      check_close(cumsum(x, dim), cumsum(x.to(dev()), dim), 0.0, 0.0, "cumsum " + what);
      check_close(cumsum(non_contiguous(x), dim), cumsum(non_contiguous(x.to(dev())), dim), 0.0, 0.0,
                  "cumsum strided " + what);
    }
  }
}

TEST_CASE("cuda softmax and log_softmax along each dim, short and long rows, -inf rows") {
  PEFTCPP_SKIP_WITHOUT_CUDA();
  for (DType d : float_dtypes()) {
    const Tensor x = random_cpu(kShape, d, 51, 3.0);
    const double tol = d == kFloat32 ? 1e-5 : rtol_for(d);
    for (std::int64_t dim = 0; dim < 3; ++dim) {
      const std::string what = std::string(dtype_name(d)) + " dim " + std::to_string(dim);
      check_close(softmax(x, dim), softmax(x.to(dev()), dim), tol, tol, "softmax " + what);
      check_close(log_softmax(non_contiguous(x), dim), log_softmax(non_contiguous(x.to(dev())), dim), tol, tol,
                  "log_softmax strided " + what);
    }
    const Tensor wide = random_cpu({3, 5000}, d, 52, 4.0);  // 1024-thread blocks
    check_close(softmax(wide, 1), softmax(wide.to(dev()), 1), tol, tol, std::string("wide ") + dtype_name(d));
    check_close(log_softmax(wide, 1), log_softmax(wide.to(dev()), 1), tol, tol,
                std::string("wide log ") + dtype_name(d));
  }
  const Tensor inf_rows = full({2, 6}, -std::numeric_limits<double>::infinity());
  check_close(softmax(inf_rows, 1), softmax(inf_rows.to(dev()), 1), 0.0, 0.0, "all -inf rows give NaN");
}
