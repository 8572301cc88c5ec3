// Json: parse (Python json.loads semantics), dump (Python json.dumps byte for byte), objects.
// Expected strings below were produced by CPython 3.11's json module, an independent reference.
#include "io/json/json.h"

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "tensor/error.h"
#include "tests/io/json/tmp_dir.h"

using peftcpp::Json;
using peftcpp::JsonDumpOptions;
using peftcpp::JsonObject;

namespace {
std::string compact(const Json& j) {
  JsonDumpOptions o;
  o.indent = -1;
  o.sort_keys = false;
  return j.dump(o);
}
}  // namespace

TEST_CASE("json float dump matches Python repr") {
  const std::pair<double, const char*> cases[] = {
      {0.0, "0.0"},
      {-0.0, "-0.0"},
      {1.0, "1.0"},
      {1e-05, "1e-05"},
      {0.0001, "0.0001"},
      {1e16, "1e+16"},
      {1e15, "1000000000000000.0"},
      {123456789012345678.0, "1.2345678901234568e+17"},
      {0.1, "0.1"},
      {1.0 / 3.0, "0.3333333333333333"},
      {2.5e-300, "2.5e-300"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {1e22, "1e+22"},
      {12345.678, "12345.678"},
      {-1.5e-07, "-1.5e-07"},
      {100.0, "100.0"},
      {0.99, "0.99"},
      {6e-05, "6e-05"},
      {1e-12, "1e-12"},
      {std::numeric_limits<double>::infinity(), "Infinity"},
      {-std::numeric_limits<double>::infinity(), "-Infinity"},
      {std::numeric_limits<double>::quiet_NaN(), "NaN"},
  };
  for (const auto& [v, want] : cases) {
    CAPTURE(want);
    CHECK(Json(v).dump() == want);
  }
}

TEST_CASE("json dump with indent 2 and sort_keys matches Python byte for byte") {
  Json j = Json::object({
      {"b", Json::array({1, 2.0, Json::object()})},
      {"a", Json::object({{"z", Json::array()}, {"y", "h\xc3\xa9\xf0\x9f\x98\x80\x7f\x01\n\"\\"}})},
  });
  const char* want =
      "{\n"
      "  \"a\": {\n"
      "    \"y\": \"h\\u00e9\\ud83d\\ude00\\u007f\\u0001\\n\\\"\\\\\",\n"
      "    \"z\": []\n"
      "  },\n"
      "  \"b\": [\n"
      "    1,\n"
      "    2.0,\n"
      "    {}\n"
      "  ]\n"
      "}";
  CHECK(j.dump() == want);
  CHECK(peftcpp::to_json_string(j) == std::string(want) + "\n");
}

TEST_CASE("json compact dump keeps insertion order and Python separators") {
  Json j = Json::object({{"b", Json::array({1, 2.0, Json::object()})}, {"a", nullptr}});
  CHECK(compact(j) == "{\"b\": [1, 2.0, {}], \"a\": null}");
}

TEST_CASE("json dump without ensure_ascii writes UTF-8 as is") {
  JsonDumpOptions o;
  o.ensure_ascii = false;
  CHECK(Json("\xc3\xa9\xf0\x9f\x98\x80\x7f").dump(o) == "\"\xc3\xa9\xf0\x9f\x98\x80\x7f\"");
}

TEST_CASE("json parse keeps ints and floats distinct") {
  Json j = Json::parse("[8, 8.0, -0, 1E5, 0.000e5, -0.0]");
  REQUIRE(j.size() == 6);
  CHECK(j[0].is_int());
  CHECK(j[0].as_int() == 8);
  CHECK(j[1].is_float());
  CHECK(j[1].as_double() == 8.0);
  CHECK(j[2].is_int());
  CHECK(j[3].is_float());
  CHECK(compact(j) == "[8, 8.0, 0, 100000.0, 0.0, -0.0]");
  CHECK_FALSE(Json(8) == Json(8.0));
  CHECK(peftcpp::json_equal_numeric(Json(8), Json(8.0)));
}

TEST_CASE("json parse accepts NaN and Infinity and saturates out-of-range floats like Python") {
  Json j = Json::parse("[NaN, Infinity, -Infinity, 1e400, -1e400, 1e-400, 0.0000e999]");
  CHECK(std::isnan(j[0].as_double()));
  CHECK(compact(j) == "[NaN, Infinity, -Infinity, Infinity, -Infinity, 0.0, 0.0]");
}

TEST_CASE("json parse decodes escapes, surrogate pairs and keeps lone surrogates") {
  Json j = Json::parse(R"(["\ud83d\ude00", "\u00e9\/\b\f\n\r\t", "\ud800x", "\udc00\ud800"])");
  CHECK(j[0].as_string() == "\xf0\x9f\x98\x80");
  CHECK(j[1].as_string() == "\xc3\xa9/\b\f\n\r\t");
  CHECK(compact(j) == R"(["\ud83d\ude00", "\u00e9/\b\f\n\r\t", "\ud800x", "\udc00\ud800"])");
}

TEST_CASE("json parse keeps object insertion order; duplicate key keeps first slot, last value") {
  Json j = Json::parse(R"({"z": 1, "a": 2, "z": 3})");
  const JsonObject& o = j.as_object();
  REQUIRE(o.size() == 2);
  CHECK(o.key_at(0) == "z");
  CHECK(o.at("z").as_int() == 3);
  CHECK(o.key_at(1) == "a");
}

TEST_CASE("json parse errors name the source, line and column") {
  auto message = [](std::string_view text) {
    try {
      Json::parse(text, "cfg.json");
    } catch (const peftcpp::IoError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(
      message("{\n  \"a\": 1,\n  \"b\" 2\n}") ==
      "[json] cfg.json:3:7: expected ':' after object key");
  CHECK(message("[1, 2") == "[json] cfg.json:1:6: expected ',' or ']' in array");
  CHECK(message("{\"a\": 1} x") == "[json] cfg.json:1:10: extra data after the JSON value");
  CHECK(message("01") == "[json] cfg.json:1:2: extra data after the JSON value");
  CHECK(message("\"a\tb\"") == "[json] cfg.json:1:3: invalid control character in string");
  CHECK(message("\"\\x\"") == "[json] cfg.json:1:2: invalid escape '\\x'");
  CHECK(message("\"abc") == "[json] cfg.json:1:1: unterminated string");
  CHECK(message("[tru]") == "[json] cfg.json:1:2: expected a value, got 't'");
  CHECK(
      message("99999999999999999999") ==
      "[json] cfg.json:1:1: integer 99999999999999999999 does not fit in 64 bits");
  CHECK(message("\"\xff\"") == "[json] cfg.json:1:2: invalid UTF-8 byte in string");
  CHECK(message("") == "[json] cfg.json:1:1: expected a value, got end of input");
  CHECK(message(std::string(2000, '[')).find("nesting deeper") != std::string::npos);
}

TEST_CASE("json typed accessors reject the wrong type") {
  Json j = Json::parse(R"({"r": 8, "s": "x"})");
  CHECK(j.at("r").as_int() == 8);
  CHECK(j.at("r").as_double() == 8.0);
  CHECK_THROWS_AS(j.at("s").as_int(), peftcpp::ValueError);
  CHECK_THROWS_AS(j.at("missing"), peftcpp::ValueError);
  CHECK(j.find("missing") == nullptr);
}

TEST_CASE("json object set keeps position, erase keeps the order of the rest") {
  JsonObject o{{"a", 1}, {"b", 2}, {"c", 3}};
  o.set("a", 10);
  CHECK(o.key_at(0) == "a");
  CHECK(o.erase("b"));
  CHECK_FALSE(o.erase("b"));
  REQUIRE(o.size() == 2);
  CHECK(o.key_at(1) == "c");
  CHECK(o.at("c").as_int() == 3);
  o["d"] = "x";
  CHECK(o.key_at(2) == "d");
  std::string keys;
  for (auto [k, v] : o) {
    keys += k;
  }
  CHECK(keys == "acd");
  CHECK(JsonObject{{"x", 1}, {"y", 2}} == JsonObject{{"y", 2}, {"x", 1}});
}

TEST_CASE("json file write is atomic and parse_file reads it back") {
  peftcpp::test::TmpDir dir;
  const auto path = dir.path() / "out.json";
  Json j = Json::object({{"r", 8}, {"alpha", 16.0}});
  peftcpp::write_json_file(path, j);
  CHECK(Json::parse_file(path) == j);
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) {
    ++entries;
  }
  CHECK(entries == 1);  // no temporary file left behind
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  CHECK(ss.str() == "{\n  \"alpha\": 16.0,\n  \"r\": 8\n}");
  CHECK_THROWS_AS(Json::parse_file(dir.path() / "absent.json"), peftcpp::IoError);
  CHECK_THROWS_AS(peftcpp::write_json_file(dir.path() / "no/such/dir/x.json", j), peftcpp::IoError);
}

TEST_CASE("json parse error in a file names the file") {
  peftcpp::test::TmpDir dir;
  const auto path = dir.path() / "bad.json";
  std::ofstream(path) << "{\"a\": }";
  try {
    Json::parse_file(path);
    FAIL("no error");
  } catch (const peftcpp::IoError& e) {
    CHECK(std::string(e.what()) == "[json] " + path.string() + ":1:7: expected a value, got '}'");
  }
}

TEST_CASE("json object with int keys sorts them numerically like a Python dict with int keys") {
  // json.dumps({2: "b", 10: "c", 1: "a"}, indent=2, sort_keys=True)
  JsonObject o{{"2", "b"}, {"10", "c"}, {"1", "a"}};
  o.set_int_keys(true);
  CHECK(Json(o).dump() == "{\n  \"1\": \"a\",\n  \"2\": \"b\",\n  \"10\": \"c\"\n}");
  o.set_int_keys(false);
  CHECK(Json(o).dump() == "{\n  \"1\": \"a\",\n  \"10\": \"c\",\n  \"2\": \"b\"\n}");
}
