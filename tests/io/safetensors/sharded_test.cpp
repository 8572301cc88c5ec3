// Sharded checkpoints read through model.safetensors.index.json.
#include "io/safetensors/safetensors.h"
#include "st_test_util.h"

using namespace peftcpp;
using namespace peftcpp::st_test;

namespace {

void write_text(const fs::path& p, const std::string& text) {
  write_all(p, std::vector<std::uint8_t>(text.begin(), text.end()));
}

// Two shards: a.weight + a.bias in shard 1, b.weight in shard 2.
void make_checkpoint(const TmpDir& dir) {
  write_all(
      dir.path() / "model-00001-of-00002.safetensors",
      build_file(
          {{"a.weight", "F32", "[2]", to_bytes<float>({1.0f, 2.0f})},
           {"a.bias", "F32", "[1]", to_bytes<float>({3.0f})}}));
  write_all(
      dir.path() / "model-00002-of-00002.safetensors",
      build_file({{"b.weight", "I64", "[1]", to_bytes<std::int64_t>({-9})}}));
  write_text(dir.path() / "model.safetensors.index.json", R"({
    "metadata": {"total_size": 20, "format": "pt"},
    "weight_map": {
      "b.weight": "model-00002-of-00002.safetensors",
      "a.weight": "model-00001-of-00002.safetensors",
      "a.bias": "model-00001-of-00002.safetensors"
    }
  })");
}

}  // namespace

TEST_CASE("a sharded checkpoint exposes every tensor of the weight map") {
  TmpDir dir;
  make_checkpoint(dir);
  const auto ck = ShardedSafetensors::open_dir(dir.path().string());
  CHECK(ck.names() == std::vector<std::string>{"a.bias", "a.weight", "b.weight"});
  CHECK(ck.contains("a.bias"));
  CHECK_FALSE(ck.contains("c"));
  CHECK(ck.file_for("b.weight") == dir.file("model-00002-of-00002.safetensors"));
  CHECK(ck.shard_files().size() == 2);
  CHECK(ck.metadata().at("total_size") == "20");
  CHECK(ck.metadata().at("format") == "pt");
  CHECK(ck.entry("b.weight").dtype == DType::Int64);
  CHECK(from_bytes_as<std::int64_t>(ck.raw_bytes("b.weight").data(), 8)[0] == -9);
  DType dt;
  const auto w = ck.read_converted("a.weight", dt);
  CHECK(from_bytes_as<float>(w.data(), w.size()) == std::vector<float>{1.0f, 2.0f});
  const auto all = ck.entries();
  REQUIRE(all.size() == 3);
  CHECK(all[0].name == "a.weight");  // shard 1 in header order, then shard 2
  CHECK(all[1].name == "a.bias");
  CHECK(all[2].name == "b.weight");
  require_throws(
      [&] { ck.file_for("c"); },
      {"model.safetensors.index.json", "no tensor 'c' in the weight map"});
}

TEST_CASE("shards open lazily: a broken shard only fails the tensors it holds") {
  TmpDir dir;
  make_checkpoint(dir);
  write_all(dir.path() / "model-00002-of-00002.safetensors", {1, 2, 3});
  const auto ck = ShardedSafetensors::open_dir(dir.path().string());
  CHECK(ck.raw_bytes("a.bias").size() == 4);
  require_throws(
      [&] { ck.raw_bytes("b.weight"); }, {"model-00002-of-00002.safetensors", "too short"});
  require_throws([&] { ck.entries(); }, {"model-00002-of-00002.safetensors"});
}

TEST_CASE("a weight map entry missing from its shard is an error naming index, tensor and shard") {
  TmpDir dir;
  make_checkpoint(dir);
  write_text(
      dir.path() / "model.safetensors.index.json",
      R"({"weight_map": {"a.weight": "model-00001-of-00002.safetensors", )"
      R"("ghost": "model-00001-of-00002.safetensors"}})");
  const auto ck = ShardedSafetensors::open_dir(dir.path().string());
  require_throws(
      [&] { ck.raw_bytes("a.weight"); },
      {"model.safetensors.index.json",
       "tensor 'ghost'",
       "model-00001-of-00002.safetensors",
       "no such tensor"});
}

TEST_CASE("malformed indexes are rejected: escaping paths, duplicates, wrong types") {
  TmpDir dir;
  const auto index = dir.path() / "x.safetensors.index.json";
  const std::string path = index.string();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"weight_map": {"w": "../secret.safetensors"}})", "tensor 'w'"},
      {R"({"weight_map": {"w": "/etc/passwd"}})", "not a plain relative path"},
      {R"({"weight_map": {"w": "a/../../b"}})", "not a plain relative path"},
      {R"({"weight_map": {"w": "a.st", "w": "b.st"}})", "duplicate key 'w'"},
      {R"({"weight_map": {"w": 5}})", "must be a file name string"},
      {R"({"metadata": {}})", "missing \"weight_map\""},
      {R"([1])", "must be a JSON object"},
      {R"({"weight_map": )", "invalid JSON"},
      {"{\"weight_map\": {\"w\xff\": \"a\"}}", "not valid UTF-8"},
      {"{\"metadata\": {\"x\": " + std::string(100000, '[') + "}}", "nested deeper than 64"},
  };
  for (const auto& [text, problem] : cases) {
    CAPTURE(text);
    write_text(index, text);
    require_throws([&] { ShardedSafetensors::open_index(path); }, {path, problem});
  }
}

TEST_CASE("a directory without an index is read as a single model.safetensors") {
  TmpDir dir;
  write_all(dir.path() / "model.safetensors", build_file({{"x", "U8", "[2]", {5, 6}}}));
  const auto ck = ShardedSafetensors::open_dir(dir.path().string() + "/");
  CHECK(ck.names() == std::vector<std::string>{"x"});
  CHECK(ck.raw_bytes("x")[1] == 6);
  CHECK(ck.file_for("x") == dir.file("model.safetensors"));
  TmpDir empty;
  require_throws(
      [&] { ShardedSafetensors::open_dir(empty.path().string()); },
      {empty.path().string(), "neither model.safetensors.index.json nor model.safetensors"});
  require_throws(
      [&] { ShardedSafetensors::open_dir(empty.file("nope")); },
      {"nope", "No such file or directory"});
}
