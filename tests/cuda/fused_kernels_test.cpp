// The CUDA fused-kernel launchers (cuda/kernels/fused.h) against the CPU backend's fused kernels
// on seeded random inputs of odd shapes, in float32, float64, bfloat16 and float16. 16-bit
// inputs are rounded to their dtype first; the CPU reference then runs in float32 on exactly
// those values. Device memory comes from cudaMalloc directly (no CudaBackend). Without a usable
// GPU the device cases skip and say why; the dtype checks, which throw before any CUDA call,
// run everywhere CUDA is built.
#include <cuda_runtime.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "cuda/cuda.h"
#include "cuda/kernels/fused.h"
#include "tensor/backend/backend.h"
#include "tensor/dtype.h"
#include "tensor/error.h"

using namespace peftcpp;

namespace {

constexpr DType kDTypes[] = {kFloat32, kFloat64, kBFloat16, kFloat16};

// ---- host values in a dtype ----

std::vector<unsigned char> encode(const std::vector<double>& v, DType dt) {
  std::vector<unsigned char> out(v.size() * itemsize(dt));
  for (std::size_t i = 0; i < v.size(); ++i) {
    unsigned char* p = out.data() + i * itemsize(dt);
    if (dt == kFloat64) {
      std::memcpy(p, &v[i], 8);
    } else if (dt == kFloat32) {
      const float f = static_cast<float>(v[i]);
      std::memcpy(p, &f, 4);
    } else {
      const float f = static_cast<float>(v[i]);
      const std::uint16_t bits = dt == kBFloat16 ? float_to_bf16(f) : float_to_half(f);
      std::memcpy(p, &bits, 2);
    }
  }
  return out;
}

std::vector<double> decode(const unsigned char* bytes, std::size_t n, DType dt) {
  std::vector<double> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char* p = bytes + i * itemsize(dt);
    if (dt == kFloat64) {
      std::memcpy(&out[i], p, 8);
    } else if (dt == kFloat32) {
      float f;
      std::memcpy(&f, p, 4);
      out[i] = f;
    } else {
      std::uint16_t bits;
      std::memcpy(&bits, p, 2);
      out[i] = dt == kBFloat16 ? bf16_to_float(bits) : half_to_float(bits);
    }
  }
  return out;
}

std::vector<double> rounded(const std::vector<double>& v, DType dt) {
  const std::vector<unsigned char> b = encode(v, dt);
  return decode(b.data(), v.size(), dt);
}

// Seeded normal values times `scale`, already rounded to dt.
std::vector<double> random_values(std::size_t n, DType dt, unsigned seed, double scale = 1.0) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> normal;
  std::vector<double> v(n);
  for (double& x : v) x = scale * normal(gen);
  return rounded(v, dt);
}

// The dtype the CPU reference computes in (its fused kernels take float32 and float64).
DType ref_dtype(DType dt) {
  return dt == kFloat64 ? kFloat64 : kFloat32;
}

// ---- device buffers ----

struct DeviceBuffer {
  void* ptr = nullptr;
  std::size_t bytes = 0;
  explicit DeviceBuffer(std::size_t n) : bytes(n) {
    REQUIRE(cudaMalloc(&ptr, n == 0 ? 1 : n) == cudaSuccess);
  }
  DeviceBuffer(const std::vector<double>& v, DType dt) : DeviceBuffer(v.size() * itemsize(dt)) {
    const std::vector<unsigned char> b = encode(v, dt);
    REQUIRE(cudaMemcpy(ptr, b.data(), b.size(), cudaMemcpyHostToDevice) == cudaSuccess);
  }
  ~DeviceBuffer() {
    cudaFree(ptr);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

// Waits for the device (failing on any kernel error), then reads n values of dt at p.
std::vector<double> download(const void* p, std::size_t n, DType dt) {
  REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
  std::vector<unsigned char> b(n * itemsize(dt));
  REQUIRE(cudaMemcpy(b.data(), p, b.size(), cudaMemcpyDeviceToHost) == cudaSuccess);
  return decode(b.data(), n, dt);
}

// ---- CPU reference tensors ----

struct HostTensor {
  std::vector<unsigned char> bytes;
  DType dtype;
  Shape shape;
  Strides strides;

  HostTensor(const std::vector<double>& v, DType dt, Shape s)
      : bytes(encode(v, dt)), dtype(dt), shape(std::move(s)) {
    strides = contiguous_strides(shape);
  }
  HostTensor(std::size_t n, DType dt, Shape s)
      : HostTensor(std::vector<double>(n, 0.0), dt, std::move(s)) {}
  TensorView view() {
    return TensorView{bytes.data(), dtype, shape, strides};
  }
  std::vector<double> values() const {
    return decode(bytes.data(), bytes.size() / itemsize(dtype), dtype);
  }
};

TensorView none_view(DType dt, const Shape& shape) {
  return TensorView{nullptr, dt, shape, contiguous_strides(shape)};
}

// |got - want| <= rtol |want| + afrac max|want| everywhere, for results stored in `stored` and
// computed from the same inputs. rtol covers one rounding of a 16-bit result plus float32
// summation order; the absolute part, relative to the largest value, covers results that come
// from cancellation (so a small gradient is not waved through by a fixed atol).
void check_close(
    const std::vector<double>& got,
    const std::vector<double>& want,
    DType stored,
    const char* what) {
  double rtol = 0, afrac = 0;
  switch (stored) {
    case DType::Float64:
      rtol = 1e-10;
      afrac = 1e-12;
      break;
    case DType::Float32:
      rtol = 2e-5;
      afrac = 2e-6;
      break;
    case DType::BFloat16:
      rtol = 1e-2;
      afrac = 1e-4;
      break;
    default:
      rtol = 2e-3;
      afrac = 1e-4;
      break;
  }
  INFO(what << " (" << dtype_name(stored) << ")");
  REQUIRE(got.size() == want.size());
  double largest = 0;
  for (const double w : want)
    if (std::isfinite(w))
      largest = std::max(largest, std::abs(w));
  const double atol = afrac * largest;
  std::size_t bad = got.size();
  for (std::size_t i = 0; i < got.size() && bad == got.size(); ++i) {
    const bool ok = std::abs(got[i] - want[i]) <= atol + rtol * std::abs(want[i]) ||
                    (std::isnan(got[i]) && std::isnan(want[i])) || got[i] == want[i];
    if (!ok)
      bad = i;
  }
  INFO(
      "first mismatch at " << bad << ": " << (bad < got.size() ? got[bad] : 0.0) << " vs "
                           << (bad < got.size() ? want[bad] : 0.0) << " (largest " << largest
                           << ")");
  CHECK(bad == got.size());
}

// Exact equality after rounding the reference to the stored dtype.
void check_equal(
    const std::vector<double>& got,
    const std::vector<double>& want,
    DType stored,
    const char* what) {
  INFO(what << " (" << dtype_name(stored) << ")");
  const std::vector<double> w = rounded(want, stored);
  REQUIRE(got.size() == w.size());
  std::size_t bad = got.size();
  for (std::size_t i = 0; i < got.size() && bad == got.size(); ++i)
    if (got[i] != w[i] && !(std::isnan(got[i]) && std::isnan(w[i])))
      bad = i;
  INFO(
      "first difference at " << bad << ": " << (bad < got.size() ? got[bad] : 0.0) << " vs "
                             << (bad < got.size() ? w[bad] : 0.0));
  CHECK(bad == got.size());
}

bool skip_without_gpu() {
  if (cuda::is_available())
    return false;
  MESSAGE("CUDA fused kernel tests skipped: " << cuda::unavailable_reason());
  return true;
}

Backend& cpu() {
  return backend_for(kCPU);
}

}  // namespace

TEST_CASE("cuda fused launchers reject unsupported dtypes by name before touching the device (runs without a GPU)") {
  for (const DType dt : {kInt32, kInt64, kBool, kUInt8}) {
    INFO(dtype_name(dt));
    const std::string name = dtype_name(dt);
    CHECK_THROWS_WITH_AS(
        cuda::launch_rms_norm(nullptr, nullptr, 1e-6, nullptr, nullptr, 1, 1, dt, nullptr),
        doctest::Contains(name.c_str()),
        DeviceError);
    CHECK_THROWS_WITH_AS(
        cuda::launch_rms_norm(nullptr, nullptr, 1e-6, nullptr, nullptr, 1, 1, dt, nullptr),
        doctest::Contains("rms_norm"),
        DeviceError);
    CHECK_THROWS_WITH_AS(
        cuda::launch_rms_norm_backward(
            nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 1, 1, dt, nullptr),
        doctest::Contains("rms_norm_backward"),
        DeviceError);
    CHECK_THROWS_WITH_AS(
        cuda::launch_rotary(
            nullptr, nullptr, nullptr, nullptr, cuda::RotaryGeometry{}, false, dt, nullptr),
        doctest::Contains("rotary"),
        DeviceError);
    CHECK_THROWS_WITH_AS(
        cuda::launch_silu_mul(nullptr, nullptr, nullptr, 1, dt, nullptr),
        doctest::Contains("silu_mul"),
        DeviceError);
    CHECK_THROWS_WITH_AS(
        cuda::launch_silu_mul_backward(nullptr, nullptr, nullptr, nullptr, nullptr, 1, dt, nullptr),
        doctest::Contains("silu_mul_backward"),
        DeviceError);
    CHECK_THROWS_WITH_AS(
        cuda::launch_cross_entropy(nullptr, nullptr, -100, nullptr, nullptr, 1, 1, dt, nullptr),
        doctest::Contains("cross_entropy"),
        DeviceError);
    CHECK_THROWS_WITH_AS(
        cuda::launch_cross_entropy_backward(
            nullptr, nullptr, -100, nullptr, nullptr, false, nullptr, 1, 1, dt, nullptr),
        doctest::Contains("cross_entropy_backward"),
        DeviceError);
    CHECK_THROWS_WITH_AS(
        cuda::launch_adam_step(nullptr, 0, AdamStepArgs{}, dt, nullptr, nullptr),
        doctest::Contains("adam_step"),
        DeviceError);
  }
  CHECK(cuda::fused_stat_dtype(kBFloat16) == kFloat32);
  CHECK(cuda::fused_stat_dtype(kFloat16) == kFloat32);
  CHECK(cuda::fused_stat_dtype(kFloat64) == kFloat64);
}

TEST_CASE("cuda rms_norm forward and backward equal the CPU kernels") {
  if (skip_without_gpu())
    return;
  struct Shape2 {
    std::int64_t rows, n;
  };
  // rows > 512 make backward blocks take several rows; n > 512 makes threads take several columns
  for (const Shape2 s : {Shape2{7, 33}, Shape2{1100, 65}, Shape2{3, 1500}}) {
    for (const DType dt : kDTypes) {
      for (const bool with_w : {true, false}) {
        INFO(
            "rows " << s.rows << " n " << s.n << " " << dtype_name(dt)
                    << (with_w ? " weight" : " no weight"));
        const std::size_t total = static_cast<std::size_t>(s.rows * s.n),
                          n = static_cast<std::size_t>(s.n);
        const DType rd = ref_dtype(dt), st = cuda::fused_stat_dtype(dt);
        const std::vector<double> x = random_values(total, dt, 11), w = random_values(n, dt, 12),
                                  g = random_values(total, dt, 13);
        const double eps = 1e-6;
        // CPU
        HostTensor hx(x, rd, {s.rows, s.n}), hw(w, rd, {s.n}), hg(g, rd, {s.rows, s.n});
        HostTensor hy(total, rd, {s.rows, s.n}), hr(static_cast<std::size_t>(s.rows), rd, {s.rows});
        HostTensor hgx(total, rd, {s.rows, s.n}), hgw(n, rd, {s.n});
        const TensorView wv = with_w ? hw.view() : none_view(rd, {s.n});
        cpu().rms_norm(hx.view(), wv, eps, hy.view(), hr.view());
        cpu().rms_norm_backward(hg.view(), hx.view(), wv, hr.view(), hgx.view(), hgw.view());
        // device
        DeviceBuffer dx(x, dt), dw(w, dt), dg(g, dt), dy(total * itemsize(dt)),
            dr(static_cast<std::size_t>(s.rows) * itemsize(st)), dgx(total * itemsize(dt)),
            dgw(n * itemsize(dt)), ws(cuda::rms_norm_backward_workspace_bytes(s.rows, s.n, dt));
        cuda::launch_rms_norm(
            dx.ptr, with_w ? dw.ptr : nullptr, eps, dy.ptr, dr.ptr, s.rows, s.n, dt, nullptr);
        check_close(download(dy.ptr, total, dt), hy.values(), dt, "y");
        check_close(
            download(dr.ptr, static_cast<std::size_t>(s.rows), st), hr.values(), st, "rstd");
        cuda::launch_rms_norm_backward(
            dg.ptr,
            dx.ptr,
            with_w ? dw.ptr : nullptr,
            dr.ptr,
            dgx.ptr,
            dgw.ptr,
            ws.ptr,
            s.rows,
            s.n,
            dt,
            nullptr);
        check_close(download(dgx.ptr, total, dt), hgx.values(), dt, "gx");
        check_close(download(dgw.ptr, n, dt), hgw.values(), dt, "gw");
        // without a weight gradient no workspace is needed
        DeviceBuffer dgx2(total * itemsize(dt));
        cuda::launch_rms_norm_backward(
            dg.ptr,
            dx.ptr,
            with_w ? dw.ptr : nullptr,
            dr.ptr,
            dgx2.ptr,
            nullptr,
            nullptr,
            s.rows,
            s.n,
            dt,
            nullptr);
        check_close(download(dgx2.ptr, total, dt), hgx.values(), dt, "gx without gw");
      }
    }
  }
}

TEST_CASE(
    "cuda rotary equals the CPU kernel for a transposed x and broadcast tables, both directions") {
  if (skip_without_gpu())
    return;
  const std::int64_t B = 2, H = 3, T = 5, D = 8;
  const std::size_t total = static_cast<std::size_t>(B * H * T * D),
                    table = static_cast<std::size_t>(B * T * D);
  for (const DType dt : kDTypes) {
    // x stored [B, T, H, D] and read as [B, H, T, D], or stored [B, H, T, D]; cos broadcast over
    // the batch ([1, T, D] with stride 0), sin broadcast in the second case only
    for (const bool transposed_x : {true, false}) {
      for (const bool transpose : {false, true}) {
        INFO(
            dtype_name(dt) << (transposed_x ? " x [B, T, H, D]" : " x [B, H, T, D]")
                           << (transpose ? " transpose" : " forward"));
        const DType rd = ref_dtype(dt);
        const std::vector<double> x = random_values(total, dt, 21),
                                  c = random_values(table, dt, 22),
                                  sn = random_values(table, dt, 23);
        cuda::RotaryGeometry geo;
        geo.batch = B;
        geo.heads = H;
        geo.seq = T;
        geo.dim = D;
        const Strides xs =
            transposed_x ? Strides{T * H * D, D, H * D, 1} : Strides{H * T * D, T * D, D, 1};
        const Strides cs{0, D, 1};
        const Strides ss = transposed_x ? Strides{T * D, D, 1} : Strides{0, D, 1};
        for (int k = 0; k < 4; ++k) geo.x_strides[k] = xs[static_cast<std::size_t>(k)];
        for (int k = 0; k < 3; ++k) {
          geo.cos_strides[k] = cs[static_cast<std::size_t>(k)];
          geo.sin_strides[k] = ss[static_cast<std::size_t>(k)];
        }
        HostTensor hx(x, rd, {B, H, T, D}), hc(c, rd, {B, T, D}), hs(sn, rd, {B, T, D}),
            ho(total, rd, {B, H, T, D});
        TensorView xv = hx.view(), cv = hc.view(), sv = hs.view();
        xv.strides = xs;
        cv.strides = cs;
        sv.strides = ss;
        cpu().rotary(xv, cv, sv, ho.view(), transpose);
        DeviceBuffer dx(x, dt), dc(c, dt), ds(sn, dt), dout(total * itemsize(dt));
        cuda::launch_rotary(dx.ptr, dc.ptr, ds.ptr, dout.ptr, geo, transpose, dt, nullptr);
        check_close(download(dout.ptr, total, dt), ho.values(), dt, "out");
      }
    }
  }
}

TEST_CASE("cuda silu_mul forward and backward equal the CPU kernels, vectorised and misaligned") {
  if (skip_without_gpu())
    return;
  const std::size_t n = 1003;
  for (const DType dt : kDTypes) {
    // offset 0: every pointer 16-byte aligned (vector path); offset 1: scalar path
    for (const std::size_t offset : {std::size_t{0}, std::size_t{1}}) {
      INFO(dtype_name(dt) << " offset " << offset);
      const DType rd = ref_dtype(dt);
      const std::size_t isz = itemsize(dt), bytes = (n + offset) * isz;
      std::vector<double> a = random_values(n + offset, dt, 31, 4.0),
                          b = random_values(n + offset, dt, 32),
                          g = random_values(n + offset, dt, 33);
      const auto tail = [&](const std::vector<double>& v) {
        return std::vector<double>(v.begin() + static_cast<std::ptrdiff_t>(offset), v.end());
      };
      const Shape shape{static_cast<std::int64_t>(n)};
      HostTensor ha(tail(a), rd, shape), hb(tail(b), rd, shape), hg(tail(g), rd, shape),
          ho(n, rd, shape), hda(n, rd, shape), hdb(n, rd, shape);
      cpu().silu_mul(ha.view(), hb.view(), ho.view());
      cpu().silu_mul_backward(hg.view(), ha.view(), hb.view(), hda.view(), hdb.view());
      DeviceBuffer da(a, dt), db(b, dt), dg(g, dt), dout(bytes), dga(bytes), dgb(bytes);
      const auto at = [&](const DeviceBuffer& d) {
        return static_cast<unsigned char*>(d.ptr) + offset * isz;
      };
      const std::int64_t len = static_cast<std::int64_t>(n);
      cuda::launch_silu_mul(at(da), at(db), at(dout), len, dt, nullptr);
      check_close(download(at(dout), n, dt), ho.values(), dt, "out");
      cuda::launch_silu_mul_backward(at(dg), at(da), at(db), at(dga), at(dgb), len, dt, nullptr);
      check_close(download(at(dga), n, dt), hda.values(), dt, "d_gate");
      check_close(download(at(dgb), n, dt), hdb.values(), dt, "d_up");
      // one gradient at a time
      DeviceBuffer dga2(bytes), dgb2(bytes);
      cuda::launch_silu_mul_backward(at(dg), at(da), at(db), at(dga2), nullptr, len, dt, nullptr);
      check_close(download(at(dga2), n, dt), hda.values(), dt, "d_gate alone");
      cuda::launch_silu_mul_backward(at(dg), at(da), at(db), nullptr, at(dgb2), len, dt, nullptr);
      check_close(download(at(dgb2), n, dt), hdb.values(), dt, "d_up alone");
    }
  }
}

TEST_CASE("cuda cross_entropy rows equal the CPU kernels, with ignored rows and either scale") {
  if (skip_without_gpu())
    return;
  const std::int64_t rows = 7, vocab = 1000, ignore = -100;
  const std::vector<std::int64_t> target{3, ignore, 0, 999, 2, ignore, 500};
  const std::size_t total = static_cast<std::size_t>(rows * vocab),
                    m = static_cast<std::size_t>(rows);
  for (const DType dt : kDTypes) {
    for (const bool per_row : {true, false}) {
      INFO(dtype_name(dt) << (per_row ? " scale per row" : " one scale"));
      const DType rd = ref_dtype(dt), st = cuda::fused_stat_dtype(dt);
      const std::vector<double> x = random_values(total, dt, 41, 3.0),
                                scale = random_values(per_row ? m : 1, dt, 42, 0.5);
      HostTensor hx(x, rd, {rows, vocab}), hl(m, rd, {rows}), hs(m, rd, {rows}),
          hg(total, rd, {rows, vocab}), hsc(scale, rd, {static_cast<std::int64_t>(scale.size())});
      const TensorView tv{const_cast<std::int64_t*>(target.data()), kInt64, {rows}, {1}};
      cpu().cross_entropy(hx.view(), tv, ignore, hl.view(), hs.view());
      cpu().cross_entropy_backward(hx.view(), tv, ignore, hs.view(), hsc.view(), hg.view());
      DeviceBuffer dx(x, dt), dt_(m * sizeof(std::int64_t)), dl(m * itemsize(st)),
          ds(m * itemsize(st)), dsc(scale, st), dg(total * itemsize(dt));
      REQUIRE(
          cudaMemcpy(dt_.ptr, target.data(), m * sizeof(std::int64_t), cudaMemcpyHostToDevice) ==
          cudaSuccess);
      const auto* td = static_cast<const std::int64_t*>(dt_.ptr);
      cuda::launch_cross_entropy(dx.ptr, td, ignore, dl.ptr, ds.ptr, rows, vocab, dt, nullptr);
      check_close(download(dl.ptr, m, st), hl.values(), st, "loss");
      check_close(download(ds.ptr, m, st), hs.values(), st, "lse");
      cuda::launch_cross_entropy_backward(
          dx.ptr, td, ignore, ds.ptr, dsc.ptr, per_row, dg.ptr, rows, vocab, dt, nullptr);
      check_close(download(dg.ptr, total, dt), hg.values(), dt, "grad");
    }
  }
}

TEST_CASE("cuda multi-tensor Adam(W) step equals the CPU kernel bit for bit") {
  if (skip_without_gpu())
    return;
  struct Case {
    bool decoupled, amsgrad, maximize;
    double wd;
  };
  // sizes below, at and across the 4096-element chunks of the kernel
  const std::vector<std::size_t> sizes{33, 4096, 9001};
  for (const Case c :
       {Case{true, false, false, 0.01},
        Case{true, true, false, 0.1},
        Case{false, false, true, 0.05},
        Case{false, true, false, 0.0}}) {
    for (const DType dt : kDTypes) {
      INFO(
          dtype_name(dt) << " decoupled " << c.decoupled << " amsgrad " << c.amsgrad << " maximize "
                         << c.maximize);
      AdamStepArgs args;
      args.lr = 0.05;
      args.weight_decay = c.wd;
      args.step = 3;
      args.decoupled = c.decoupled;
      args.amsgrad = c.amsgrad;
      args.maximize = c.maximize;
      const DType rd = ref_dtype(dt);
      struct Param {
        std::vector<double> p, g, m, v, vmax;
      };
      std::vector<Param> params;
      for (std::size_t k = 0; k < sizes.size(); ++k) {
        const std::size_t n = sizes[k];
        const unsigned seed = static_cast<unsigned>(100 + 10 * k);
        Param q{
            random_values(n, dt, seed),
            random_values(n, dt, seed + 1),
            random_values(n, dt, seed + 2, 0.1),
            random_values(n, dt, seed + 3, 0.1),
            random_values(n, dt, seed + 4, 0.1)};
        for (double& x : q.v) x = std::abs(x);
        for (std::size_t i = 0; i < n; ++i) q.vmax[i] = i % 2 == 0 ? std::abs(q.vmax[i]) : 0.0;
        params.push_back(q);
      }
      // device: one launch over all tensors
      std::vector<std::unique_ptr<DeviceBuffer>> keep;
      std::vector<cuda::AdamTensor> list;
      for (const Param& q : params) {
        cuda::AdamTensor t;
        for (const auto& [dst, src] :
             {std::pair{&t.param, &q.p},
              std::pair{&t.exp_avg, &q.m},
              std::pair{&t.exp_avg_sq, &q.v},
              std::pair{&t.max_exp_avg_sq, &q.vmax}}) {
          keep.push_back(std::make_unique<DeviceBuffer>(*src, dt));
          *dst = keep.back()->ptr;
        }
        keep.push_back(std::make_unique<DeviceBuffer>(q.g, dt));
        t.grad = keep.back()->ptr;
        if (!c.amsgrad)
          t.max_exp_avg_sq = nullptr;
        t.numel = static_cast<std::int64_t>(q.p.size());
        list.push_back(t);
      }
      DeviceBuffer ws(cuda::adam_step_workspace_bytes(list.size()));
      cuda::launch_adam_step(list.data(), list.size(), args, dt, ws.ptr, nullptr);
      // CPU, tensor by tensor, in the compute dtype on the same (rounded) inputs
      for (std::size_t k = 0; k < params.size(); ++k) {
        const Param& q = params[k];
        const Shape shape{static_cast<std::int64_t>(q.p.size())};
        HostTensor hp(q.p, rd, shape), hg(q.g, rd, shape), hm(q.m, rd, shape), hv(q.v, rd, shape),
            hvm(q.vmax, rd, shape);
        cpu().adam_step(
            hp.view(),
            hg.view(),
            hm.view(),
            hv.view(),
            c.amsgrad ? hvm.view() : none_view(rd, shape),
            args);
        INFO("tensor " << k);
        const std::size_t n = q.p.size();
        check_equal(download(list[k].param, n, dt), hp.values(), dt, "param");
        check_equal(download(list[k].exp_avg, n, dt), hm.values(), dt, "exp_avg");
        check_equal(download(list[k].exp_avg_sq, n, dt), hv.values(), dt, "exp_avg_sq");
        if (c.amsgrad)
          check_equal(download(list[k].max_exp_avg_sq, n, dt), hvm.values(), dt, "max_exp_avg_sq");
      }
    }
  }
}
