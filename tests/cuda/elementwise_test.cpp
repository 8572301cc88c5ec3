// Element-wise kernels on CUDA against the CPU backend: copy/cast between every dtype pair, fill,
// every unary and binary kind of tensor/backend/kinds.def in every dtype the CPU accepts, where;
// on odd shapes (7x13x5), non-contiguous views and broadcast (stride-0) operands.
#include <doctest/doctest.h>

#include "tests/cuda/cuda_test_util.h"

using namespace peftcpp;
using namespace peftcpp::cuda_test;

namespace {

const Shape kShape{7, 13, 5};

bool is_bool_result(UnaryOp op) {
  return op == UnaryOp::LogicalNot || op == UnaryOp::IsNan || op == UnaryOp::IsInf || op == UnaryOp::IsFinite;
}
bool integer_ok(UnaryOp op) {
  switch (op) {
    case UnaryOp::Neg: case UnaryOp::Abs: case UnaryOp::Square: case UnaryOp::Sign: case UnaryOp::AddScalar:
    case UnaryOp::DivScalar: case UnaryOp::Clamp: case UnaryOp::LogicalNot: case UnaryOp::IsNan:
    case UnaryOp::IsInf: case UnaryOp::IsFinite:
      return true;
    default:
      return false;
  }
}
bool bool_ok(UnaryOp op) {
  return is_bool_result(op);
}

// Runs one backend call on both devices with outputs of `out_dtype` and compares.
template <typename Call>
void compare_backends(const Shape& out_shape, DType out_dtype, Call call, const std::string& what) {
  Tensor out_cpu = zeros(out_shape, out_dtype);
  Tensor out_gpu = zeros(out_shape, out_dtype, dev());
  call(backend_for(kCPU), out_cpu, false);
  call(backend_for(dev()), out_gpu, true);
  check_close(out_cpu, out_gpu, what);
}

}  // namespace

TEST_CASE("cuda copy casts between every pair of dtypes, contiguous and strided") {
  PEFTCPP_SKIP_WITHOUT_CUDA();
  for (DType from : all_dtypes()) {
    const Tensor x_signed = random_cpu(kShape, from, 11, 3.0);
    CHECK(x_signed.to(dev()).to(kCPU).to(kFloat64).to_vector<double>() == x_signed.to(kFloat64).to_vector<double>());
    for (DType to : all_dtypes()) {
      // float -> unsigned of a negative value is undefined in C++ (x86 wraps, the GPU saturates)
      const bool abs_first = to == kUInt8 && is_floating_point(from);
      const Tensor x = abs_first ? abs(x_signed) : x_signed;
      const Tensor xg = x.to(dev());
      const std::string what = std::string(dtype_name(from)) + " -> " + dtype_name(to);
      check_close(x.to(to), xg.to(to), 0.0, 0.0, what + " contiguous");
      check_close(non_contiguous(x).to(to), non_contiguous(xg).to(to), 0.0, 0.0, what + " strided");
      check_close(x.transpose(0, 2).contiguous().to(to), xg.transpose(0, 2).contiguous().to(to), 0.0, 0.0,
                  what + " transposed copy");
    }
  }
}

TEST_CASE("cuda host transfers larger than the pinned staging buffers round-trip exactly") {
  PEFTCPP_SKIP_WITHOUT_CUDA();
  Generator g(5);
  const Tensor x = randn({3, 1000003}, kFloat32, &g);  // 12 MB: three staging chunks, odd tail
  CHECK(x.to(dev()).to(kCPU).to_vector<float>() == x.to_vector<float>());
}

TEST_CASE("cuda fill writes the CPU's storage value in every dtype, also through strided views") {
  PEFTCPP_SKIP_WITHOUT_CUDA();
  for (DType d : all_dtypes()) {
    for (double v : {0.0, 1.0, -2.5, 3.1415926535, 1e-3}) {
      if (!is_floating_point(d) && v != 0.0 && v != 1.0) continue;
      check_close(full(kShape, v, d), full(kShape, v, d, dev()), 0.0, 0.0, std::string("full ") + dtype_name(d));
      Tensor base_cpu = zeros({13, 7}, d), base_gpu = zeros({13, 7}, d, dev());
      backend_for(kCPU).fill(view_of(base_cpu.t()), v);
      backend_for(dev()).fill(view_of(base_gpu.t()), v);
      check_close(base_cpu, base_gpu, 0.0, 0.0, std::string("strided fill ") + dtype_name(d));
    }
  }
}

TEST_CASE("cuda unary kernels: every kind, every accepted dtype, contiguous and strided") {
  PEFTCPP_SKIP_WITHOUT_CUDA();
  struct Params {
    double p0, p1;
  };
  auto params_for = [](UnaryOp op) -> std::vector<Params> {
    switch (op) {
      case UnaryOp::Softplus: return {{1.0, 20.0}, {2.0, 1.0}};
      case UnaryOp::Clamp: return {{-0.5, 0.5}, {std::nan(""), 0.25}, {-1.0, std::nan("")}};
      case UnaryOp::PowScalar: return {{2.0, 0.0}, {0.5, 0.0}, {3.0, 0.0}, {-1.5, 0.0}};
      case UnaryOp::AddScalar: return {{2.0, 1.0}, {1.0, 0.5}};  // uint8 stays in range
      case UnaryOp::DivScalar: return {{3.0, 0.0}, {-0.7, 0.0}};
      default: return {{0.0, 0.0}};
    }
  };
  for (int k = 0; k <= static_cast<int>(UnaryOp::IsFinite); ++k) {
    const auto op = static_cast<UnaryOp>(k);
    for (DType d : all_dtypes()) {
      const bool accepted = is_floating_point(d) || (d == kBool ? bool_ok(op) : integer_ok(op));
      const DType out_dtype = is_bool_result(op) ? kBool : d;
      Tensor x = random_cpu(kShape, d, 100 + static_cast<std::uint64_t>(k));
      if (!accepted) {
        Tensor out = empty(kShape, out_dtype, dev());
        CHECK_THROWS_AS(backend_for(dev()).unary(op, view_of(x.to(dev())), view_of(out), 0, 0), DTypeError);
        continue;
      }
      const Tensor xg = x.to(dev());
      for (const Params& p : params_for(op)) {
        if (op == UnaryOp::DivScalar && !is_floating_point(d) && std::abs(p.p0) < 1) continue;  // p0 truncates to 0
        const std::string what = std::string(op_name(op)) + " " + dtype_name(d) + " p0=" + std::to_string(p.p0);
        compare_backends(kShape, out_dtype, [&](Backend& b, Tensor& out, bool gpu) {
          b.unary(op, view_of(gpu ? xg : x), view_of(out), p.p0, p.p1);
        }, what);
        compare_backends(kShape, out_dtype, [&](Backend& b, Tensor& out, bool gpu) {
          b.unary(op, view_of(non_contiguous(gpu ? xg : x)), view_of(out), p.p0, p.p1);
        }, what + " strided");
      }
    }
  }
}

TEST_CASE("cuda binary kernels: every kind, every dtype, broadcast and strided operands") {
  PEFTCPP_SKIP_WITHOUT_CUDA();
  for (int k = 0; k <= static_cast<int>(BinaryOp::LogicalXor); ++k) {
    const auto op = static_cast<BinaryOp>(k);
    const bool to_bool = op >= BinaryOp::Eq;
    for (DType d : all_dtypes()) {
      const bool bool_unsupported =
          d == kBool && (op == BinaryOp::Sub || op == BinaryOp::Div || op == BinaryOp::Pow || op == BinaryOp::Atan2);
      const Tensor a = random_cpu(kShape, d, 200 + static_cast<std::uint64_t>(k));
      Tensor b = random_cpu({13, 1}, d, 300 + static_cast<std::uint64_t>(k));
      if (op == BinaryOp::Pow && !is_floating_point(d) && d != kBool) b = clamp(abs(b), 0.0, 3.0).to(d);  // no overflow
      if (op == BinaryOp::Div && !is_floating_point(d) && d != kBool) b = add(clamp(abs(b), 0.0, 5.0), 1.0).to(d);
      const Tensor ag = a.to(dev()), bg = b.to(dev());
      const DType out_dtype = to_bool ? kBool : d;
      if (bool_unsupported) {
        Tensor out = empty(kShape, out_dtype, dev());
        CHECK_THROWS_AS(backend_for(dev()).binary(op, view_of(ag), view_of(ag), view_of(out), 1.0), DTypeError);
        continue;
      }
      for (double alpha : {1.0, -0.5}) {
        if (alpha != 1.0 && op != BinaryOp::Add && op != BinaryOp::Sub) continue;
        const std::string what = std::string(op_name(op)) + " " + dtype_name(d) + " alpha=" + std::to_string(alpha);
        // b [13, 1] broadcast to [7, 13, 5] (stride 0 on dims 0 and 2)
        compare_backends(kShape, out_dtype, [&](Backend& be, Tensor& out, bool gpu) {
          be.binary(op, view_of(gpu ? ag : a), view_of((gpu ? bg : b).expand(kShape)), view_of(out), alpha);
        }, what + " broadcast");
        compare_backends(kShape, out_dtype, [&](Backend& be, Tensor& out, bool gpu) {
          const Tensor& x = gpu ? ag : a;
          be.binary(op, view_of(non_contiguous(x)), view_of(flip(x, {1})), view_of(out), alpha);
        }, what + " strided");
      }
    }
  }
  // the public op path, with dtype promotion before the backend
  Generator g(9);
  const Tensor x = randn({7, 13, 5}, kFloat32, &g), y = randn({5}, kFloat64, &g);
  check_close(add(x, y), add(x.to(dev()), y.to(dev())), "add float32 + float64 (promoted)");
}

TEST_CASE("cuda where selects in every dtype with broadcast condition and operands") {
  PEFTCPP_SKIP_WITHOUT_CUDA();
  const Tensor cond = random_cpu({13, 1}, kBool, 7);
  for (DType d : all_dtypes()) {
    const Tensor a = random_cpu(kShape, d, 8), b = random_cpu({5}, d, 9);
    check_close(where(cond, a, b), where(cond.to(dev()), a.to(dev()), b.to(dev())), 0.0, 0.0,
                std::string("where ") + dtype_name(d));
    check_close(where(cond, non_contiguous(a), b), where(cond.to(dev()), non_contiguous(a.to(dev())), b.to(dev())),
                0.0, 0.0, std::string("where strided ") + dtype_name(d));
  }
}
