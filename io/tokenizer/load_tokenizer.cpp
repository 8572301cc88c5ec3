// tokenizer.json -> Tokenizer::Impl: the models, added tokens, padding/truncation, and the
// serialization back to JSON.
#include "io/tokenizer/load_components.h"
#include "io/tokenizer/tokenizer_impl.h"

namespace peftcpp::tok {

namespace {

Vocab load_vocab_map(const Json& j, const JsonCtx& ctx) {
  const Json& v = ctx.require(j, "vocab");
  if (!v.is_object())
    ctx.fail("key 'vocab' must be an object {token: id}");
  Vocab vocab;
  vocab.reserve(v.size());
  for (const auto& [tok, id] : v.items())
    vocab[tok] = static_cast<uint32_t>(ctx.as_uint(id, "vocab"));
  return vocab;
}

std::unique_ptr<Model> load_bpe(const Json& j, const JsonCtx& ctx) {
  Vocab vocab = load_vocab_map(j, ctx);
  const Json& m = ctx.require_array(j, "merges");
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(m.size());
  size_t line = 0;
  for (const Json& item : m) {
    if (item.is_string()) {
      const std::string s = item.get<std::string>();
      if (s.rfind("#version", 0) == 0)
        continue;
      ++line;
      const size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos) {
        ctx.fail(detail::concat("merge ", line, " (\"", s, "\") is not \"a b\""));
      }
      merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    } else if (item.is_array() && item.size() == 2 && item[0].is_string() && item[1].is_string()) {
      ++line;
      merges.emplace_back(item[0].get<std::string>(), item[1].get<std::string>());
    } else {
      ctx.fail("key 'merges' must hold \"a b\" strings or [\"a\", \"b\"] pairs");
    }
  }
  BpeOptions opt;
  if (const Json* d = ctx.optional(j, "dropout"))
    opt.dropout = static_cast<float>(ctx.as_number(*d, "dropout"));
  opt.unk_token = ctx.get_opt_string(j, "unk_token");
  opt.continuing_subword_prefix = ctx.get_opt_string(j, "continuing_subword_prefix");
  opt.end_of_word_suffix = ctx.get_opt_string(j, "end_of_word_suffix");
  opt.fuse_unk = ctx.get_bool_or(j, "fuse_unk", false);
  opt.byte_fallback = ctx.get_bool_or(j, "byte_fallback", false);
  opt.ignore_merges = ctx.get_bool_or(j, "ignore_merges", false);
  return std::make_unique<BpeModel>(std::move(vocab), merges, std::move(opt), ctx.path);
}

std::unique_ptr<Model> load_unigram(const Json& j, const JsonCtx& ctx) {
  const Json& v = ctx.require_array(j, "vocab");
  std::vector<std::pair<std::string, double>> vocab;
  vocab.reserve(v.size());
  for (const Json& item : v) {
    if (!item.is_array() || item.size() != 2 || !item[0].is_string() || !item[1].is_number()) {
      ctx.fail("key 'vocab' must hold [piece, score] pairs");
    }
    vocab.emplace_back(item[0].get<std::string>(), item[1].get<double>());
  }
  std::optional<size_t> unk;
  if (const Json* u = ctx.optional(j, "unk_id"))
    unk = ctx.as_uint(*u, "unk_id");
  return std::make_unique<UnigramModel>(
      std::move(vocab), unk, ctx.get_bool_or(j, "byte_fallback", false), ctx.path);
}

}  // namespace

std::unique_ptr<Model> load_model(const Json& j, const JsonCtx& base) {
  std::string type;
  if (!j.is_object())
    base.fail("expected a JSON object");
  if (j.contains("type")) {
    type = base.get_string(j, "type");
  } else if (j.contains("merges")) {
    type = "BPE";
  } else if (j.contains("vocab") && j["vocab"].is_array()) {
    type = "Unigram";
  } else if (j.contains("continuing_subword_prefix") || j.contains("max_input_chars_per_word")) {
    type = "WordPiece";
  } else {
    type = "WordLevel";
  }
  const JsonCtx ctx = base.at("." + type);
  if (type == "BPE")
    return load_bpe(j, ctx);
  if (type == "Unigram")
    return load_unigram(j, ctx);
  if (type == "WordPiece") {
    return std::make_unique<WordPieceModel>(
        load_vocab_map(j, ctx),
        ctx.get_string_or(j, "unk_token", "[UNK]"),
        ctx.get_string_or(j, "continuing_subword_prefix", "##"),
        ctx.get_uint_or(j, "max_input_chars_per_word", 100));
  }
  if (type == "WordLevel") {
    return std::make_unique<WordLevelModel>(
        load_vocab_map(j, ctx), ctx.get_string_or(j, "unk_token", "<unk>"));
  }
  base.fail(detail::concat("unknown type '", type, "'"));
}

namespace {

template <class Dir>
Dir parse_direction(const Json& j, const JsonCtx& ctx, Dir left, Dir right) {
  const std::string d = ctx.get_string_or(j, "direction", "Right");
  if (d == "Left" || d == "left")
    return left;
  if (d == "Right" || d == "right")
    return right;
  ctx.fail(detail::concat("unknown direction '", d, "'"));
}

PaddingParams load_padding(const Json& j, const JsonCtx& ctx) {
  PaddingParams p;
  const Json& s = ctx.require(j, "strategy");
  if (s.is_string() && (s == "BatchLongest" || s == "longest")) {
    p.strategy = PaddingStrategy::BatchLongest;
  } else if (s.is_object() && s.contains("Fixed")) {
    p.strategy = PaddingStrategy::Fixed;
    p.fixed_length = ctx.as_uint(s["Fixed"], "Fixed");
  } else {
    ctx.fail("key 'strategy' must be \"BatchLongest\" or {\"Fixed\": n}");
  }
  p.direction = parse_direction(j, ctx, PaddingDirection::Left, PaddingDirection::Right);
  p.pad_to_multiple_of = ctx.get_uint_or(j, "pad_to_multiple_of", 0);
  p.pad_id = static_cast<uint32_t>(ctx.get_uint_or(j, "pad_id", 0));
  p.pad_type_id = static_cast<uint32_t>(ctx.get_uint_or(j, "pad_type_id", 0));
  p.pad_token = ctx.get_string_or(j, "pad_token", "[PAD]");
  return p;
}

TruncationParams load_truncation(const Json& j, const JsonCtx& ctx) {
  TruncationParams t;
  t.max_length = ctx.get_uint_or(j, "max_length", 512);
  t.stride = ctx.get_uint_or(j, "stride", 0);
  const std::string s = ctx.get_string_or(j, "strategy", "LongestFirst");
  if (s == "LongestFirst" || s == "longest_first") {
    t.strategy = TruncationStrategy::LongestFirst;
  } else if (s == "OnlyFirst" || s == "only_first") {
    t.strategy = TruncationStrategy::OnlyFirst;
  } else if (s == "OnlySecond" || s == "only_second") {
    t.strategy = TruncationStrategy::OnlySecond;
  } else {
    ctx.fail(detail::concat("unknown strategy '", s, "'"));
  }
  t.direction = parse_direction(j, ctx, TruncationDirection::Left, TruncationDirection::Right);
  return t;
}

}  // namespace

std::unique_ptr<Tokenizer::Impl> load_tokenizer(std::string_view text, const std::string& source) {
  Json root;
  try {
    root = Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {
    throw IoError(detail::concat("[tokenizer] invalid JSON in ", source, ": ", e.what()));
  }
  const JsonCtx top{"tokenizer", source};
  if (!root.is_object())
    top.fail("the top-level value must be an object");
  if (const Json* v = top.optional(root, "version")) {
    if (!v->is_string() || *v != "1.0")
      top.fail("unknown tokenizer version (expected \"1.0\")");
  }
  auto impl = std::make_unique<Tokenizer::Impl>();
  impl->json = std::string(text);
  const JsonCtx none{"", source};
  if (const Json* n = top.optional(root, "normalizer")) {
    impl->normalizer = load_normalizer(*n, none.at("normalizer"));
  }
  if (const Json* p = top.optional(root, "pre_tokenizer")) {
    impl->pre_tokenizer = load_pre_tokenizer(*p, none.at("pre_tokenizer"));
  }
  impl->model = load_model(top.require(root, "model"), none.at("model"));
  if (const Json* p = top.optional(root, "post_processor")) {
    impl->post_processor = load_post_processor(*p, none.at("post_processor"));
  }
  if (const Json* d = top.optional(root, "decoder")) {
    impl->decoder = load_decoder(*d, none.at("decoder"));
  }
  if (const Json* p = top.optional(root, "padding")) {
    impl->padding = load_padding(*p, none.at("padding"));
  }
  if (const Json* t = top.optional(root, "truncation")) {
    impl->truncation = load_truncation(*t, none.at("truncation"));
  }
  std::vector<AddedToken> added;
  if (const Json* a = top.optional(root, "added_tokens")) {
    if (!a->is_array())
      top.fail("key 'added_tokens' must be a list");
    for (size_t i = 0; i < a->size(); ++i) {
      const JsonCtx c = none.at(detail::concat("added_tokens[", i, "]"));
      const Json& t = (*a)[i];
      AddedToken tok;
      tok.content = c.get_string(t, "content");
      tok.single_word = c.get_bool_or(t, "single_word", false);
      tok.lstrip = c.get_bool_or(t, "lstrip", false);
      tok.rstrip = c.get_bool_or(t, "rstrip", false);
      tok.normalized = c.get_bool_or(t, "normalized", !c.get_bool_or(t, "special", false));
      tok.special = c.get_bool_or(t, "special", false);
      added.push_back(std::move(tok));
    }
  }
  impl->added.add_tokens(added, *impl->model, impl->normalizer.get());
  size_t extra = 0;
  for (const auto& [content, id] : impl->added.map()) {
    if (!impl->model->token_to_id(content))
      ++extra;
  }
  impl->vocab_size_with_added = impl->model->vocab_map_size() + extra;
  return impl;
}

std::string tokenizer_to_json(const Tokenizer::Impl& impl, bool pretty) {
  nlohmann::ordered_json root = nlohmann::ordered_json::parse(impl.json);
  if (impl.padding) {
    const auto& p = *impl.padding;
    nlohmann::ordered_json j;
    if (p.strategy == PaddingStrategy::Fixed) {
      j["strategy"] = {{"Fixed", p.fixed_length}};
    } else {
      j["strategy"] = "BatchLongest";
    }
    j["direction"] = p.direction == PaddingDirection::Left ? "Left" : "Right";
    j["pad_to_multiple_of"] = p.pad_to_multiple_of > 0
                                  ? nlohmann::ordered_json(p.pad_to_multiple_of)
                                  : nlohmann::ordered_json(nullptr);
    j["pad_id"] = p.pad_id;
    j["pad_type_id"] = p.pad_type_id;
    j["pad_token"] = p.pad_token;
    root["padding"] = j;
  } else {
    root["padding"] = nullptr;
  }
  if (impl.truncation) {
    const auto& t = *impl.truncation;
    nlohmann::ordered_json j;
    j["direction"] = t.direction == TruncationDirection::Left ? "Left" : "Right";
    j["max_length"] = t.max_length;
    j["strategy"] = t.strategy == TruncationStrategy::LongestFirst ? "LongestFirst"
                    : t.strategy == TruncationStrategy::OnlyFirst  ? "OnlyFirst"
                                                                   : "OnlySecond";
    j["stride"] = t.stride;
    root["truncation"] = j;
  } else {
    root["truncation"] = nullptr;
  }
  return root.dump(pretty ? 2 : -1);
}

}  // namespace peftcpp::tok
