// VeRA's projections from PyTorch's CPU generator: known torch.rand values, the kaiming bound,
// and bit-exact agreement with the projections stored in PEFT's golden adapter files.
#include "peft/tuners/vera/projection.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "tests/peft/golden_dir.h"
#include "tests/peft/vera/vera_test_util.h"

using namespace peftcpp;
namespace fs = std::filesystem;

TEST_CASE("uniform draws reproduce torch.rand after manual_seed(0)") {
  // torch.manual_seed(0); torch.rand(5) -> [0.4963, 0.7682, 0.0885, 0.1320, 0.3074]
  vera::TorchCpuGenerator gen(0);
  const Tensor t = vera::torch_uniform_float32({5}, 0.0, 1.0, gen);
  CHECK(
      test::max_diff(t, tensor<float>({0.4963f, 0.7682f, 0.0885f, 0.1320f, 0.3074f}, {5})) < 1e-4);
  // the float keeps the low 24 bits of the draw: 2357136044 & 0xFFFFFF = 8325804
  CHECK(t.flatten().narrow(0, 0, 1).item<float>() == 8325804.0f / 16777216.0f);
}

TEST_CASE("negative seeds are taken as their two's complement, as PyTorch does") {
  vera::TorchCpuGenerator a(-1);
  vera::TorchCpuGenerator b(0xffffffffLL);
  for (int i = 0; i < 4; ++i) CHECK(a.random() == b.random());
}

TEST_CASE("kaiming_init stays within +-sqrt(6 / fan_in) and draws A before B") {
  const std::int64_t r = 8, in = 50, out = 30;
  auto [a, b] = vera::make_projections(3, r, in, out);
  CHECK(a.shape() == Shape{r, in});
  CHECK(b.shape() == Shape{out, r});
  CHECK(a.dtype() == kFloat32);
  CHECK(amax(abs(a)).item<float>() <= std::sqrt(6.0 / in));
  CHECK(amax(abs(b)).item<float>() <= std::sqrt(6.0 / r));
  CHECK(amax(abs(a)).item<float>() > 0.8 * std::sqrt(6.0 / in));
  vera::TorchCpuGenerator gen(3);
  const Tensor a2 = vera::kaiming_init({r, in}, gen);
  const Tensor b2 = vera::kaiming_init({out, r}, gen);
  CHECK(test::max_diff(a, a2) == 0.0);
  CHECK(test::max_diff(b, b2) == 0.0);
}

TEST_CASE("the projections of every golden VeRA adapter are regenerated bit for bit") {
  int n = 0;
  for (const fs::path& meta : test::golden_files("peft", "meta.json")) {
    const Json m = Json::parse_file(meta);
    if (m.at("method").as_string() != "VERA")
      continue;
    const fs::path dir = meta.parent_path();
    CAPTURE(dir.filename().string());
    const TensorMap file = load_safetensors((dir / "adapter_model.safetensors").string());
    if (!file.count("base_model.vera_A"))
      continue;
    const Tensor& a = file.at("base_model.vera_A");
    const Tensor& b = file.at("base_model.vera_B");
    const Json cfg = Json::parse_file(dir / "adapter_config.json");
    auto [ga, gb] = vera::make_projections(
        cfg.at("projection_prng_key").as_int(), a.size(0), a.size(1), b.size(0));
    REQUIRE(ga.shape() == a.shape());
    REQUIRE(gb.shape() == b.shape());
    CHECK(
        std::memcmp(
            ga.contiguous().data_ptr<float>(), a.contiguous().data_ptr<float>(), a.nbytes()) == 0);
    CHECK(
        std::memcmp(
            gb.contiguous().data_ptr<float>(), b.contiguous().data_ptr<float>(), b.nbytes()) == 0);
    ++n;
  }
  MESSAGE(n << " golden VeRA projections compared");
}
