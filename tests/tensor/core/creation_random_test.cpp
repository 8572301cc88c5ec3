// Factories (values, dtypes, errors) and the Philox generator: known answers, independence from
// the thread count, determinism per seed, distribution sanity, init bounds.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>

#include "tensor/ops.h"
#include "tensor/random/philox.h"
#include "test_helpers.h"

using namespace peftcpp;
using peftcpp::testing::values;

TEST_CASE("zeros, ones, full, scalar_tensor and *_like") {
  CHECK(values(zeros({2, 2})) == std::vector<double>{0, 0, 0, 0});
  CHECK(ones({3}, kInt32).dtype() == kInt32);
  CHECK(values(ones({3}, kInt32)) == std::vector<double>{1, 1, 1});
  CHECK(values(full({2}, 2.5, kBFloat16)) == std::vector<double>{2.5, 2.5});
  CHECK(full({2}, 7, kBool).to_vector<bool>() == std::vector<bool>{true, true});
  Tensor s = scalar_tensor(4.0, kInt64);
  CHECK(s.dim() == 0);
  CHECK(s.item<std::int64_t>() == 4);
  Tensor base = ones({2, 3}, kFloat64);
  CHECK(zeros_like(base).dtype() == kFloat64);
  CHECK(values(full_like(base, -1)) == std::vector<double>(6, -1.0));
  CHECK(ones_like(base).shape() == Shape{2, 3});
  CHECK(empty_like(base).shape() == Shape{2, 3});
  CHECK(zeros({0, 4}).numel() == 0);
  CHECK_THROWS_WITH_PARTS(ShapeError, zeros({2, -1}), "[shape]", "negative", "[2, -1]");
  CHECK_THROWS_WITH_PARTS(ShapeError, zeros({1LL << 40, 1LL << 40}), "overflows");
}

TEST_CASE("eye, arange and linspace") {
  CHECK(values(eye(3)) == std::vector<double>{1, 0, 0, 0, 1, 0, 0, 0, 1});
  CHECK(values(eye(2, 3)) == std::vector<double>{1, 0, 0, 0, 1, 0});
  CHECK(values(eye(3, 2)) == std::vector<double>{1, 0, 0, 1, 0, 0});
  CHECK(eye(0).shape() == Shape{0, 0});
  CHECK_THROWS_WITH_PARTS(ShapeError, eye(-1), "[eye]", "-1");
  CHECK(arange(5).dtype() == kInt64);
  CHECK(values(arange(5)) == std::vector<double>{0, 1, 2, 3, 4});
  CHECK(values(arange(1.0, 2.0, 0.25, kFloat32)) == std::vector<double>{1, 1.25, 1.5, 1.75});
  CHECK(values(arange(5.0, 0.0, -2.0)) == std::vector<double>{5, 3, 1});
  CHECK(arange(3.0, 3.0).numel() == 0);
  CHECK(arange(3.0, 1.0).numel() == 0);
  CHECK(arange(0.0, 1.0, 0.1, kFloat64).numel() == 10);
  CHECK_THROWS_WITH_PARTS(ValueError, arange(0.0, 1.0, 0.0), "[arange]", "step");
  CHECK_THROWS_WITH_PARTS(ValueError, arange(0.0, INFINITY), "[arange]", "finite");
  CHECK(values(linspace(0, 1, 5)) == std::vector<double>{0, 0.25, 0.5, 0.75, 1});
  CHECK(values(linspace(2, 3, 1)) == std::vector<double>{2});
  CHECK(linspace(0, 1, 0).numel() == 0);
  CHECK(values(linspace(-1, 1, 2, kFloat64)) == std::vector<double>{-1, 1});
  // PyTorch fills the second half backwards from `end`, so the last value is exactly `end`
  const std::vector<double> l = values(linspace(0.0, 0.7, 7, kFloat64));
  CHECK(l[6] == 0.7);
  CHECK(l[5] == 0.7 - (0.7 / 6));
  CHECK(l[1] == 0.7 / 6);
  CHECK_THROWS_WITH_PARTS(ValueError, linspace(0, 1, -1), "[linspace]", "-1");
}

TEST_CASE("tensor<T>, tensor_from_doubles and from_blob") {
  Tensor a = tensor<std::int16_t>({1, -2, 3, 4}, {2, 2});
  CHECK(a.dtype() == kInt16);
  CHECK(a.shape() == Shape{2, 2});
  CHECK(values(a) == std::vector<double>{1, -2, 3, 4});
  CHECK(tensor<float>({1, 2, 3}).shape() == Shape{3});
  CHECK(tensor<float>({}).shape() == Shape{0});
  CHECK(tensor<float>({9}).dim() == 0);  // one value and no shape: a 0-d tensor
  CHECK(tensor<float>({9}, {1}).shape() == Shape{1});
  CHECK(tensor<bool>({true, false}).to_vector<bool>() == std::vector<bool>{true, false});
  CHECK_THROWS_WITH_PARTS(
      ShapeError, tensor<float>({1, 2, 3}, {2, 2}), "[tensor]", "3 values", "[2, 2]");
  Tensor d = tensor_from_doubles({0.5, 1.5, 255}, {3}, kUInt8);
  CHECK(values(d) == std::vector<double>{0, 1, 255});
  CHECK_THROWS_AS(tensor_from_doubles({1}, {2}, kFloat32), ShapeError);

  auto buf = std::make_shared<std::vector<float>>(std::vector<float>{1, 2, 3, 4, 5, 6});
  std::weak_ptr<std::vector<float>> watch = buf;
  Tensor b = from_blob(buf->data(), {2, 3}, kFloat32, buf, false);
  buf.reset();
  CHECK_FALSE(watch.expired());  // the tensor keeps its owner alive
  CHECK(b.data_ptr<float>() == watch.lock()->data());
  b.select(0, 1).fill_(0.0);
  CHECK((*watch.lock())[3] == 0.0f);  // zero-copy
  b = Tensor();
  CHECK(watch.expired());
  std::vector<float> ro{1, 2};
  Tensor r = from_blob(ro.data(), {2}, kFloat32, nullptr, true);
  CHECK_THROWS_WITH_PARTS(ValueError, r.fill_(0.0), "[fill_]", "read-only");
  CHECK(values(add(r, 1.0)) == std::vector<double>{2, 3});
}

TEST_CASE("philox4x32-10 matches Random123's known-answer vector") {
  const Philox4 r = philox4x32_10(0, 0);
  CHECK(r.v[0] == 0x6627e8d5u);
  CHECK(r.v[1] == 0xe169c58du);
  CHECK(r.v[2] == 0xbc57ac4cu);
  CHECK(r.v[3] == 0x9b00dbd8u);
}

TEST_CASE("random draws do not depend on the number of threads") {
  const int saved = omp_get_max_threads();
  auto draw = [](int threads) {
    omp_set_num_threads(threads);
    Generator g(42);
    Tensor u = rand({300000}, kFloat32, &g);
    Tensor n = randn({1000, 300}, kFloat64, &g);
    Tensor b = empty({500, 200}, kBFloat16);
    normal_(b, 1.0, 2.0, &g);
    return std::vector<std::vector<double>>{values(u), values(n), values(b)};
  };
  const auto one = draw(1), two = draw(2), three = draw(3);
  omp_set_num_threads(saved);
  CHECK(one == two);
  CHECK(one == three);
}

TEST_CASE("the same seed gives the same values; draws advance the generator") {
  Generator g1(7), g2(7), g3(8);
  Tensor a = randn({1000}, kFloat32, &g1), b = randn({1000}, kFloat32, &g2),
         c = randn({1000}, kFloat32, &g3);
  CHECK(values(a) == values(b));
  CHECK(values(a) != values(c));
  CHECK(g1.offset() == 1000);
  Tensor a2 = randn({1000}, kFloat32, &g1);
  CHECK(values(a2) != values(a));
  g1.manual_seed(7);
  CHECK(g1.offset() == 0);
  CHECK(values(randn({1000}, kFloat32, &g1)) == values(a));
  // one draw of 2n equals two draws of n (counter-based, no per-call state)
  Generator h1(3), h2(3);
  Tensor whole = rand({20}, kFloat64, &h1);
  Tensor first = rand({10}, kFloat64, &h2), second = rand({10}, kFloat64, &h2);
  const std::vector<double> w = values(whole);
  CHECK(std::vector<double>(w.begin(), w.begin() + 10) == values(first));
  CHECK(std::vector<double>(w.begin() + 10, w.end()) == values(second));
  // the default generator follows manual_seed
  manual_seed(11);
  Tensor d1 = rand({5});
  manual_seed(11);
  CHECK(values(rand({5})) == values(d1));
  CHECK(default_generator().seed() == 11);
}

TEST_CASE("randn has mean 0 and std 1 over 1e6 samples; rand is uniform on [0, 1)") {
  Generator g(123);
  Tensor n = randn({1000000}, kFloat64, &g);
  CHECK(std::fabs(mean(n).item<double>()) < 0.005);  // standard error 0.001
  CHECK(std::fabs(peftcpp::std(n).item<double>() - 1.0) < 0.005);
  // fraction within one sigma: 0.6827
  CHECK(std::fabs(mean(lt(abs(n), 1.0).to(kFloat64)).item<double>() - 0.6827) < 0.003);
  Tensor u = rand({1000000}, kFloat64, &g);
  CHECK(amin(u).item<double>() >= 0.0);
  CHECK(amax(u).item<double>() < 1.0);
  CHECK(std::fabs(mean(u).item<double>() - 0.5) < 0.002);
  CHECK(std::fabs(var(u).item<double>() - 1.0 / 12) < 0.001);
  Tensor m = empty({100000});
  normal_(m, 3.0, 0.5, &g);
  CHECK(std::fabs(mean(m).item<float>() - 3.0) < 0.01);
  CHECK(std::fabs(peftcpp::std(m).item<float>() - 0.5) < 0.01);
  uniform_(m, -2.0, 6.0, &g);
  CHECK(amin(m).item<float>() >= -2.0f);
  CHECK(amax(m).item<float>() <= 6.0f);
  CHECK(std::fabs(mean(m).item<float>() - 2.0) < 0.05);
}

// Known issue (tensor/cpu/random.cpp, not owned here): the 53-bit uniform is rounded to the
// target dtype, so float32 returns 1.0 when u > 1 - 2^-25 (counter 38471471 of seed 0) and
// bfloat16 about once in 500 draws. PyTorch draws only as many bits as the dtype's mantissa.
TEST_CASE("rand stays below 1 in every floating dtype" * doctest::may_fail()) {
  Generator g(0);
  g.set_offset(38471471);
  CHECK(rand({1}, kFloat32, &g).item<float>() < 1.0f);
  Generator h(1);
  CHECK(amax(rand({100000}, kBFloat16, &h)).item<float>() < 1.0f);
  CHECK(amax(rand({100000}, kFloat16, &h)).item<float>() < 1.0f);
}

TEST_CASE("randint, randperm and bernoulli") {
  Generator g(5);
  Tensor r = randint(-3, 4, {10000}, &g);
  CHECK(r.dtype() == kInt64);
  CHECK(amin(r).item<std::int64_t>() == -3);
  CHECK(amax(r).item<std::int64_t>() == 3);
  CHECK_THROWS_WITH_PARTS(ValueError, randint(2, 2, {3}, &g), "[randint]", "2");
  std::vector<std::int64_t> p = randperm(100, &g).to_vector<std::int64_t>();
  std::vector<std::int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::int64_t> iota(100);
  std::iota(iota.begin(), iota.end(), 0);
  CHECK(sorted == iota);
  CHECK(p != iota);
  CHECK(randperm(0, &g).numel() == 0);
  Tensor probs = full({20000}, 0.3);
  Tensor b = bernoulli(probs, &g);
  CHECK(b.dtype() == kFloat32);
  CHECK(std::fabs(mean(b).item<float>() - 0.3) < 0.015);
  CHECK(values(bernoulli(tensor<float>({0, 1, 0, 1}), &g)) == std::vector<double>{0, 1, 0, 1});
}

TEST_CASE("kaiming, xavier: bounds and spread follow torch.nn.init") {
  Generator g(9);
  Tensor w = empty({256, 128});
  kaiming_uniform_(w, std::sqrt(5.0), "fan_in", "leaky_relu", &g);  // nn.Linear's init
  const double bound = 1.0 / std::sqrt(128.0);  // gain sqrt(2/6) * sqrt(3) / sqrt(fan_in)
  CHECK(amax(w).item<float>() <= bound);
  CHECK(amin(w).item<float>() >= -bound);
  CHECK(amax(w).item<float>() > 0.99 * bound);
  CHECK(amin(w).item<float>() < -0.99 * bound);
  kaiming_uniform_(w, 0.0, "fan_out", "relu", &g);
  const double bound_out = std::sqrt(2.0) * std::sqrt(3.0) / std::sqrt(256.0);
  CHECK(amax(w).item<float>() <= bound_out);
  CHECK(amax(w).item<float>() > 0.99 * bound_out);
  kaiming_normal_(w, 0.0, "fan_in", "relu", &g);
  CHECK(peftcpp::std(w).item<float>() == doctest::Approx(std::sqrt(2.0 / 128)).epsilon(0.02));
  Tensor c = empty({16, 8, 3, 3});  // conv weight: receptive field 9
  kaiming_uniform_(c, 0.0, "fan_in", "linear", &g);
  CHECK(amax(c).item<float>() <= std::sqrt(3.0 / 72));
  xavier_uniform_(w, 2.0, &g);
  const double xb = 2.0 * std::sqrt(6.0 / (128 + 256));
  CHECK(amax(w).item<float>() <= xb);
  CHECK(amax(w).item<float>() > 0.99 * xb);
  xavier_normal_(w, 1.0, &g);
  CHECK(peftcpp::std(w).item<float>() == doctest::Approx(std::sqrt(2.0 / 384)).epsilon(0.02));
  Tensor v = empty({5});
  CHECK_THROWS_WITH_PARTS(
      ShapeError, kaiming_uniform_(v, 0.0, "fan_in", "relu", &g), "[kaiming_uniform_]", "[5]");
  CHECK_THROWS_WITH_PARTS(
      ValueError, kaiming_normal_(w, 0.0, "fan_avg", "relu", &g), "[kaiming_normal_]", "fan_avg");
  CHECK_THROWS_WITH_PARTS(ValueError, kaiming_uniform_(w, 0.0, "fan_in", "swish", &g), "swish");
  Tensor iv = empty({4, 4}, kInt32);
  CHECK_THROWS_WITH_PARTS(DTypeError, uniform_(iv, 0, 1, &g), "[uniform_]", "int32");
  Tensor zero_fan = empty({4, 0});
  CHECK_THROWS_WITH_PARTS(
      ValueError, kaiming_uniform_(zero_fan, 0.0, "fan_in", "relu", &g), "zero fan");
}

TEST_CASE("initialisers fill strided views in their logical order and bump the version") {
  Generator g1(21), g2(21);
  Tensor base = zeros({6, 4});
  Tensor view = base.t();  // [4, 6], non-contiguous
  const auto v0 = base.storage()->version();
  uniform_(view, 0.0, 1.0, &g1);
  CHECK(base.storage()->version() > v0);
  Tensor ref = rand({4, 6}, kFloat32, &g2);
  CHECK(values(view) == values(ref));
  // a parameter that requires grad can be (re)initialised
  Tensor p = zeros({3, 3}).requires_grad_();
  normal_(p, 0.0, 1.0, &g1);
  CHECK(amax(abs(p.detach())).item<float>() > 0.0f);
  CHECK(p.requires_grad());
}

TEST_CASE("rand never returns 1 in any floating dtype (draws use the dtype's significand bits)") {
  for (DType dt : {kFloat32, kFloat16, kBFloat16, kFloat64}) {
    Generator g(11);
    Tensor u = rand({200000}, dt, &g).to(kFloat64);
    INFO(dtype_name(dt));
    CHECK(amax(u).item<double>() < 1.0);
    CHECK(amin(u).item<double>() >= 0.0);
    CHECK(mean(u).item<double>() == doctest::Approx(0.5).epsilon(0.01));
  }
}
