// The Tensor bridge: zero-copy loading where aligned, copies otherwise, dtype casts, sharded
// directories, and saving that reproduces the golden files byte for byte.
#include "io/safetensors/tensor_io.h"

#include "st_test_util.h"
#include "tensor/ops.h"

namespace peftcpp {
namespace {

using st_test::TmpDir;

std::vector<float> values_of(const Tensor& t) {
  Tensor c = t.to(kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

TEST_CASE("save then load round-trips values, shapes and dtypes") {
  TmpDir dir;
  Tensor a = arange(0, 6, 1, kFloat32).reshape({2, 3});
  Tensor b = tensor<std::int64_t>({7, -8, 9});
  Tensor c = arange(0, 4, 1, kFloat32).to(kBFloat16);
  save_safetensors(dir.file("x.safetensors"), TensorMap{{"a", a}, {"b", b}, {"c", c}});
  TensorMap back = load_safetensors(dir.file("x.safetensors"));
  REQUIRE(back.size() == 3);
  CHECK(back["a"].shape() == Shape{2, 3});
  CHECK(values_of(back["a"]) == values_of(a));
  CHECK(back["b"].dtype() == kInt64);
  CHECK(back["b"].data_ptr<std::int64_t>()[1] == -8);
  CHECK(back["c"].dtype() == kBFloat16);
  CHECK(values_of(back["c"]) == std::vector<float>{0, 1, 2, 3});
}

TEST_CASE("aligned native tensors load as read-only views of the mapping") {
  TmpDir dir;
  save_safetensors(dir.file("x.safetensors"), TensorMap{{"w", ones({4, 4})}});
  SafetensorsFile f = SafetensorsFile::open(dir.file("x.safetensors"));
  Tensor w = load_tensor(f, "w");
  CHECK(static_cast<const void*>(w.raw_data()) ==
        static_cast<const void*>(f.raw_bytes("w").data()));
  CHECK_THROWS(w.fill_(2.0));
  // a requested dtype gives a fresh writable tensor
  Tensor w64 = load_tensor(f, "w", kFloat64);
  CHECK(w64.dtype() == kFloat64);
  w64.fill_(2.0);
  CHECK(values_of(w64) == std::vector<float>(16, 2.0f));
}

TEST_CASE("views and non-contiguous tensors are saved as their logical values") {
  TmpDir dir;
  Tensor a = arange(0, 6, 1, kFloat32).reshape({2, 3}).t();
  save_safetensors(dir.file("t.safetensors"), TensorMap{{"at", a}});
  Tensor back = load_safetensors(dir.file("t.safetensors"))["at"];
  CHECK(back.shape() == Shape{3, 2});
  CHECK(values_of(back) == std::vector<float>{0, 3, 1, 4, 2, 5});
}

TEST_CASE("load_safetensors casts floating tensors only") {
  TmpDir dir;
  save_safetensors(dir.file("x.safetensors"),
                   TensorMap{{"f", ones({2})}, {"i", tensor<std::int64_t>({1, 2})}});
  TensorMap m = load_safetensors(dir.file("x.safetensors"), kBFloat16);
  CHECK(m["f"].dtype() == kBFloat16);
  CHECK(m["i"].dtype() == kInt64);
}

TEST_CASE("load_safetensors_dir reads a model.safetensors directory") {
  TmpDir dir;
  save_safetensors(dir.file("model.safetensors"), TensorMap{{"x", zeros({3})}});
  TensorMap m = load_safetensors_dir(dir.path().string());
  REQUIRE(m.count("x") == 1);
  CHECK(m["x"].numel() == 3);
}

TEST_CASE("saving an undefined tensor names it") {
  TmpDir dir;
  st_test::require_throws<ValueError>(
      [&] { save_safetensors(dir.file("x.safetensors"), TensorMap{{"bad", Tensor()}}); },
      {"bad", "undefined"});
  CHECK(dir.listing().empty());
}

TEST_CASE("every golden safetensors file survives load_safetensors then save_safetensors") {
  const auto golden = st_test::golden_dir();
  if (golden.empty()) return;
  TmpDir dir;
  int n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(golden)) {
    if (e.path().extension() != ".safetensors") continue;
    const SafetensorsFile f = SafetensorsFile::open(e.path().string());
    if (f.metadata() != std::map<std::string, std::string>{{"format", "pt"}}) continue;
    const std::string out = dir.file("o.safetensors");
    save_safetensors(out, load_safetensors(e.path().string()), f.metadata());
    INFO(e.path().string());
    CHECK(st_test::read_all(out) == st_test::read_all(e.path()));
    ++n;
  }
  CHECK(n > 0);
}

}  // namespace
}  // namespace peftcpp
