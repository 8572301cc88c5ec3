// check_tokenizer_golden: replays cases.json entries (encode, encode_pair, batch) and compares
// every field with the reference.
#include "io/tokenizer/golden_check.h"

#include <fstream>
#include <sstream>

#include "io/tokenizer/json_access.h"
#include "io/tokenizer/tokenizer.h"

namespace peftcpp {

namespace {

using tok::Json;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw IoError(detail::concat("[tokenizer] golden: cannot open ", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string shorten(const std::string& s, size_t n = 120) {
  return s.size() <= n ? s : s.substr(0, n) + "...";
}

struct Mismatch {
  std::string what;
};

// Compares `got` (serialized to JSON) with `expected`; throws Mismatch naming the field.
void expect_eq(
    const std::string& entry, const std::string& field, const Json& expected, const Json& got) {
  if (expected == got)
    return;
  std::string detail_msg;
  if (expected.is_array() && got.is_array()) {
    size_t i = 0;
    while (i < expected.size() && i < got.size() && expected[i] == got[i]) ++i;
    detail_msg = detail::concat(
        " (first difference at index ", i, ", lengths ", expected.size(), " vs ", got.size(), ")");
    const Json e = i < expected.size() ? expected[i] : Json();
    const Json g = i < got.size() ? got[i] : Json();
    throw Mismatch{detail::concat(
        entry,
        " ",
        field,
        " expected ",
        shorten(e.dump()),
        " got ",
        shorten(g.dump()),
        detail_msg)};
  }
  throw Mismatch{detail::concat(
      entry, " ", field, " expected ", shorten(expected.dump()), " got ", shorten(got.dump()))};
}

Json offsets_json(const std::vector<std::pair<size_t, size_t>>& v) {
  Json a = Json::array();
  for (const auto& [s, e] : v) a.push_back({s, e});
  return a;
}

Json seq_ids_json(const Encoding& e) {
  Json a = Json::array();
  for (int32_t s : e.sequence_ids) a.push_back(s < 0 ? Json() : Json(s));
  return a;
}

void check_encode(const Tokenizer& tok, const Json& c, const std::string& name) {
  const bool add = c.value("add_special_tokens", true);
  const std::string text = c.at("text").get<std::string>();
  const bool is_pair = c.at("kind") == "encode_pair";
  const std::string pair = is_pair ? c.at("pair").get<std::string>() : std::string();
  const Encoding e = is_pair ? tok.encode(text, pair, add) : tok.encode(text, add);
  expect_eq(name, "ids", c.at("ids"), e.ids);
  expect_eq(name, "tokens", c.at("tokens"), e.tokens);
  expect_eq(name, "offsets", c.at("offsets"), offsets_json(e.offsets));
  if (c.contains("byte_offsets")) {
    expect_eq(
        name, "byte_offsets", c.at("byte_offsets"), offsets_json(byte_offsets(e, text, pair)));
  }
  expect_eq(name, "type_ids", c.at("type_ids"), e.type_ids);
  expect_eq(name, "special_tokens_mask", c.at("special_tokens_mask"), e.special_tokens_mask);
  if (c.contains("attention_mask")) {
    expect_eq(name, "attention_mask", c.at("attention_mask"), e.attention_mask);
  }
  if (c.contains("sequence_ids")) {
    expect_eq(name, "sequence_ids", c.at("sequence_ids"), seq_ids_json(e));
  }
  if (c.contains("decoded"))
    expect_eq(name, "decoded", c.at("decoded"), tok.decode(e.ids, false));
  if (c.contains("decoded_skip_special")) {
    expect_eq(name, "decoded_skip_special", c.at("decoded_skip_special"), tok.decode(e.ids, true));
  }
}

void check_batch(Tokenizer& tok, const Json& c, const std::string& name) {
  const Json& pj = c.at("padding");
  PaddingParams p;
  const std::string strategy = pj.value("strategy", "longest");
  if (strategy == "longest" || strategy == "BatchLongest") {
    p.strategy = PaddingStrategy::BatchLongest;
  } else {
    p.strategy = PaddingStrategy::Fixed;
    for (const char* k : {"length", "max_length", "fixed_length"}) {
      if (pj.contains(k) && pj[k].is_number_unsigned())
        p.fixed_length = pj[k].get<size_t>();
    }
  }
  p.direction =
      pj.value("direction", "right") == "left" ? PaddingDirection::Left : PaddingDirection::Right;
  p.pad_id = pj.value("pad_id", 0u);
  p.pad_type_id = pj.value("pad_type_id", 0u);
  p.pad_token = pj.value("pad_token", std::string("[PAD]"));
  if (pj.contains("pad_to_multiple_of") && !pj["pad_to_multiple_of"].is_null()) {
    p.pad_to_multiple_of = pj["pad_to_multiple_of"].get<size_t>();
  }
  std::optional<TruncationParams> t;
  if (c.contains("truncation") && !c["truncation"].is_null()) {
    const Json& tj = c["truncation"];
    TruncationParams tp;
    tp.max_length = tj.at("max_length").get<size_t>();
    tp.stride = tj.value("stride", size_t{0});
    const std::string s = tj.value("strategy", "longest_first");
    tp.strategy = s == "only_first"    ? TruncationStrategy::OnlyFirst
                  : s == "only_second" ? TruncationStrategy::OnlySecond
                                       : TruncationStrategy::LongestFirst;
    tp.direction = tj.value("direction", "right") == "left" ? TruncationDirection::Left
                                                            : TruncationDirection::Right;
    t = tp;
  }
  const auto old_p = tok.padding();
  const auto old_t = tok.truncation();
  tok.set_padding(p);
  tok.set_truncation(t);
  std::vector<std::string> texts = c.at("texts").get<std::vector<std::string>>();
  std::vector<Encoding> encs;
  try {
    encs = tok.encode_batch(texts, c.value("add_special_tokens", true));
  } catch (...) {
    tok.set_padding(old_p);
    tok.set_truncation(old_t);
    throw;
  }
  tok.set_padding(old_p);
  tok.set_truncation(old_t);
  Json ids = Json::array(), mask = Json::array(), toks = Json::array(), types = Json::array(),
       special = Json::array(), offs = Json::array(), boffs = Json::array();
  for (size_t i = 0; i < encs.size(); ++i) {
    ids.push_back(encs[i].ids);
    mask.push_back(encs[i].attention_mask);
    toks.push_back(encs[i].tokens);
    types.push_back(encs[i].type_ids);
    special.push_back(encs[i].special_tokens_mask);
    offs.push_back(offsets_json(encs[i].offsets));
    boffs.push_back(offsets_json(byte_offsets(encs[i], texts[i])));
  }
  expect_eq(name, "input_ids", c.at("input_ids"), ids);
  expect_eq(name, "attention_mask", c.at("attention_mask"), mask);
  if (c.contains("tokens"))
    expect_eq(name, "tokens", c.at("tokens"), toks);
  if (c.contains("type_ids"))
    expect_eq(name, "type_ids", c.at("type_ids"), types);
  if (c.contains("special_tokens_mask")) {
    expect_eq(name, "special_tokens_mask", c.at("special_tokens_mask"), special);
  }
  if (c.contains("offsets"))
    expect_eq(name, "offsets", c.at("offsets"), offs);
  if (c.contains("byte_offsets"))
    expect_eq(name, "byte_offsets", c.at("byte_offsets"), boffs);
}

TokenizerCaseResult run_case(const std::string& dir, const std::string& name) {
  TokenizerCaseResult r;
  r.name = name;
  try {
    Tokenizer tok = Tokenizer::from_file(dir + "/" + name + "/tokenizer.json");
    const Json cases = Json::parse(read_text(dir + "/" + name + "/cases.json"));
    for (const Json& c : cases) {
      const std::string entry = c.value("name", std::string("?"));
      const std::string kind = c.value("kind", std::string("encode"));
      if (kind == "batch") {
        check_batch(tok, c, entry);
      } else {
        check_encode(tok, c, entry);
      }
      ++r.entries;
    }
    r.passed = true;
  } catch (const Mismatch& m) {
    r.message = m.what;
  } catch (const std::exception& e) {
    r.message = e.what();
  }
  return r;
}

}  // namespace

std::vector<TokenizerCaseResult> check_tokenizer_golden(const std::string& tokenizers_dir) {
  const std::string index_path = tokenizers_dir + "/index.json";
  std::vector<std::string> names;
  try {
    const Json index = Json::parse(read_text(index_path));
    for (const Json& c : index.at("cases")) names.push_back(c.at("case").get<std::string>());
  } catch (const Json::exception& e) {
    throw IoError(detail::concat("[tokenizer] golden: malformed ", index_path, ": ", e.what()));
  }
  std::vector<TokenizerCaseResult> out;
  for (const auto& name : names) out.push_back(run_case(tokenizers_dir, name));
  return out;
}

}  // namespace peftcpp
