// Indexing and random kernels on CUDA against the CPU: index_select/gather/scatter/scatter_add/
// index_add in every dtype with strided operands, and Philox draws that reproduce the CPU's
// sequence for the same seed and offset.
#include <doctest/doctest.h>

#include "tests/cuda/cuda_test_util.h"

using namespace peftcpp;
using namespace peftcpp::cuda_test;

TEST_CASE("cuda index_select and gather in every dtype, strided sources") {
  PEFTCPP_SKIP_WITHOUT_CUDA();
  const Tensor idx = tensor_from_doubles({4, 0, 3, 4, 2}, {5}, kInt64);  // < 5: valid along every dim of [7, 13, 5]
  Generator g(81);
  const Tensor gidx = randint(0, 13, {7, 6, 5}, &g);  // gather along dim 1 of [7, 13, 5]
  for (DType d : all_dtypes()) {
    const Tensor x = random_cpu({7, 13, 5}, d, 82);
    const Tensor xg = x.to(dev());
    const std::string dt = dtype_name(d);
    for (std::int64_t dim = 0; dim < 3; ++dim) {
      check_close(index_select(x, dim, idx), index_select(xg, dim, idx.to(dev())), 0.0, 0.0,
                  "index_select dim " + std::to_string(dim) + " " + dt);
      check_close(index_select(non_contiguous(x), dim, idx), index_select(non_contiguous(xg), dim, idx.to(dev())),
                  0.0, 0.0, "index_select strided dim " + std::to_string(dim) + " " + dt);
    }
    check_close(gather(x, 1, gidx), gather(xg, 1, gidx.to(dev())), 0.0, 0.0, "gather " + dt);
    check_close(gather(non_contiguous(x), 1, non_contiguous(gidx)),
                gather(non_contiguous(xg), 1, non_contiguous(gidx.to(dev()))), 0.0, 0.0, "gather strided " + dt);
  }
}

TEST_CASE("cuda scatter, scatter_add and index_add in every dtype") {
  PEFTCPP_SKIP_WITHOUT_CUDA();
  // a permutation per column: scatter has no duplicate targets, so the result is unique
  Generator g(91);
  std::vector<double> perm_rows;
  for (int c = 0; c < 5; ++c) {
    const std::vector<std::int64_t> p = randperm(7, &g).to_vector<std::int64_t>();
    for (std::int64_t v : p) perm_rows.push_back(static_cast<double>(v));
  }
  const Tensor perm = tensor_from_doubles(perm_rows, {5, 7}, kInt64).t();  // [7, 5], strided
  const Tensor dup = randint(0, 7, {9, 5}, &g);  // duplicates: accumulation order matters
  const Tensor rows = tensor_from_doubles({3, 0, 3, 6, 1, 3}, {6}, kInt64);
  for (DType d : all_dtypes()) {
    const std::string dt = dtype_name(d);
    const Tensor base = random_cpu({7, 5}, d, 92), src = random_cpu({9, 5}, d, 93);
    const Tensor baseg = base.to(dev()), srcg = src.to(dev());
    check_close(scatter(base, 0, perm, src.narrow(0, 0, 7)),
                scatter(baseg, 0, perm.to(dev()), srcg.narrow(0, 0, 7)), 0.0, 0.0, "scatter " + dt);
    const double tol = rtol_for(d) * 4;  // atomics add in another order
    if (d != kBool) {
      check_close(scatter_add(base, 0, dup, src), scatter_add(baseg, 0, dup.to(dev()), srcg), tol, tol,
                  "scatter_add " + dt);
      const Tensor s6 = random_cpu({6, 5}, d, 94);
      check_close(index_add(base, 0, rows, s6), index_add(baseg, 0, rows.to(dev()), s6.to(dev())), tol, tol,
                  "index_add " + dt);
      const Tensor s7 = random_cpu({5, 6}, d, 95);  // [5, 7] target, 6 indices along dim 1
      check_close(index_add(base.t().contiguous(), 1, rows, s7, is_floating_point(d) ? 0.5 : 2.0),
                  index_add(baseg.t().contiguous(), 1, rows.to(dev()), s7.to(dev()), is_floating_point(d) ? 0.5 : 2.0),
                  tol, tol, "index_add dim 1 alpha " + dt);
    }
  }
}

TEST_CASE("cuda random draws reproduce the CPU sequence for the same seed") {
  PEFTCPP_SKIP_WITHOUT_CUDA();
  for (DType d : float_dtypes()) {
    const std::string dt = dtype_name(d);
    Generator gc(1234), gg(1234);
    // uniform draws are computed in integer arithmetic: bit-identical
    check_close(rand({7, 13, 5}, d, &gc), rand({7, 13, 5}, d, &gg, dev()), 0.0, 0.0, "rand " + dt);
    // normal draws go through log/cos/sqrt in double: equal up to the last bit of the double
    check_close(randn({1001}, d, &gc), randn({1001}, d, &gg, dev()), 1e-14, 1e-14, "randn " + dt);
    // offsets advance the same way, and strided targets number elements row-major
    Tensor tc = zeros({13, 7}, d), tg = zeros({13, 7}, d, dev());
    Tensor vc = tc.t(), vg = tg.t();
    uniform_(vc, -2.0, 3.0, &gc);
    uniform_(vg, -2.0, 3.0, &gg);
    check_close(tc, tg, 0.0, 0.0, "uniform_ into a transposed view " + dt);
    normal_(vc, 1.0, 0.5, &gc);
    normal_(vg, 1.0, 0.5, &gg);
    check_close(tc, tg, 1e-14, 1e-14, "normal_ into a transposed view " + dt);
  }
}
