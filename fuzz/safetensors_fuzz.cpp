// libFuzzer target for the safetensors reader (and the shard-index parser).
//
// Oracles beyond "no crash / no sanitizer report":
//   * the only exception allowed out of the reader is IoError (anything else aborts);
//   * every accepted file has entries that lie inside the data section with the right sizes, and
//     read_converted() yields numel * itemsize bytes;
//   * an accepted file with native dtypes survives serialize -> parse unchanged, and
//     serializing that again gives the same bytes (writer idempotence).
// Built by scripts/fuzz_safetensors.sh with clang -fsanitize=fuzzer,address,undefined.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "io/safetensors/describe.h"
#include "io/safetensors/json_parse.h"
#include "io/safetensors/safetensors.h"
#include "tensor/error.h"

using namespace peftcpp;

namespace {

[[noreturn]] void oracle_failed(const char* what) {
  std::fprintf(stderr, "safetensors_fuzz oracle failed: %s\n", what);
  std::abort();
}

void expect(bool cond, const char* what) {
  if (!cond)
    oracle_failed(what);
}

void check_round_trip(const SafetensorsFile& f) {
  std::vector<SafetensorsWriteEntry> tensors;
  for (const auto& e : f.entries()) {
    if (!e.is_native())
      return;
    tensors.push_back({e.name, e.dtype, e.shape, f.raw_bytes(e.name)});
  }
  std::vector<std::uint8_t> bytes;
  try {
    bytes = serialize_safetensors(tensors, f.metadata());
  } catch (const Error& ex) {
    std::fprintf(stderr, "%s\n", ex.what());
    oracle_failed("serialize rejected a file the reader accepted");
  }
  const auto again = SafetensorsFile::from_bytes(bytes, "round-trip");
  expect(again.entries().size() == f.entries().size(), "entry count changed");
  expect(again.metadata() == f.metadata(), "metadata changed");
  for (const auto& e : f.entries()) {
    const auto& g = again.entry(e.name);
    expect(g.dtype == e.dtype && g.shape == e.shape && g.st_dtype == e.st_dtype, "entry changed");
    const auto a = f.raw_bytes(e.name);
    const auto b = again.raw_bytes(e.name);
    expect(
        a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin()), "tensor bytes changed");
  }
  std::vector<SafetensorsWriteEntry> tensors2;
  for (const auto& e : again.entries())
    tensors2.push_back({e.name, e.dtype, e.shape, again.raw_bytes(e.name)});
  expect(serialize_safetensors(tensors2, again.metadata()) == bytes, "writer is not idempotent");
}

// Mutations that grow or shrink the JSON leave the length prefix stale, so most mutants would die
// at the length check. This derives a second input whose prefix is recomputed to end just after
// the last '}' near the old end (plus HF's space padding). Empty when nothing changes.
std::vector<std::uint8_t> repaired(const std::uint8_t* data, std::size_t size) {
  if (size < 8)
    return {};
  std::uint64_t n = 0;
  std::memcpy(&n, data, 8);
  const std::size_t body = size - 8;
  const std::size_t limit =
      n > body ? body : std::min<std::size_t>(body, static_cast<std::size_t>(n) + 256);
  std::size_t end = 0;
  for (std::size_t i = limit; i > 0; --i) {
    if (data[8 + i - 1] == '}') {
      end = i;
      break;
    }
  }
  if (end == 0)
    return {};
  while (end < body && data[8 + end] == ' ') ++end;
  if (end == n)
    return {};
  std::vector<std::uint8_t> out(size);
  const std::uint64_t len = end;
  std::memcpy(out.data(), &len, 8);
  std::memcpy(out.data() + 8, data + 8, body);
  return out;
}

void one_input(std::vector<std::uint8_t> bytes) {
  try {
    const auto f = SafetensorsFile::from_bytes(std::move(bytes), "fuzz");
    volatile unsigned sink = 0;
    for (const auto& e : f.entries()) {
      expect(e.begin <= e.end && e.end <= f.data_size(), "entry outside the data section");
      const auto raw = f.raw_bytes(e.name);
      expect(raw.size() == e.nbytes(), "raw_bytes size");
      for (const auto b : raw) sink = sink + b;  // every byte must be readable (ASan)
      DType dt;
      const auto conv = f.read_converted(e.name, dt);
      expect(dt == e.dtype, "read_converted dtype");
      expect(
          conv.size() == static_cast<std::uint64_t>(e.numel()) * itemsize(dt),
          "read_converted size");
    }
    expect(!describe_safetensors(f).empty(), "describe");
    check_round_trip(f);
  } catch (const IoError&) {
    // malformed input, reported properly
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  one_input(std::vector<std::uint8_t>(data, data + size));
  if (auto fixed = repaired(data, size); !fixed.empty())
    one_input(std::move(fixed));
  try {
    (void)safetensors_detail::parse_index_json(
        std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.index.json");
  } catch (const IoError&) {
  }
  return 0;
}
