// tokenizer.json -> normalizer, pre-tokenizer and decoder objects.
// Key names, defaults and accepted type names follow the crate's serde definitions.
#include "io/tokenizer/load_components.h"

#include "io/tokenizer/unicode_utils.h"

namespace peftcpp::tok {

std::string type_of(const Json& j, const JsonCtx& ctx) {
  return ctx.get_string(j, "type");
}

[[noreturn]] void unknown_type(const JsonCtx& ctx, const std::string& type) {
  ctx.fail(detail::concat("unknown type '", type, "'"));
}

char32_t JsonCtx::get_char(const Json& obj, const char* key) const {
  const std::string s = get_string(obj, key);
  if (s.empty() || !is_valid_utf8(s) || utf8_count(s) != 1) {
    fail(detail::concat("key '", key, "' must be a single character, got '", s, "'"));
  }
  size_t i = 0;
  return utf8_next(s, i);
}

namespace {

// {"String": "..."} or {"Regex": "..."} -> an Oniguruma pattern.
std::string pattern_regex(const Json& j, const JsonCtx& ctx) {
  const Json& p = ctx.require(j, "pattern");
  if (p.is_object()) {
    if (const Json* s = ctx.optional(p, "String"))
      return regex_escape(ctx.as_string(*s, "String"));
    if (const Json* r = ctx.optional(p, "Regex"))
      return ctx.as_string(*r, "Regex");
  } else if (p.is_string()) {
    return regex_escape(p.get<std::string>());
  }
  ctx.fail("key 'pattern' must be {\"String\": ...} or {\"Regex\": ...}");
}

SplitBehavior parse_behavior(const std::string& b, const JsonCtx& ctx) {
  if (b == "Removed" || b == "removed")
    return SplitBehavior::Removed;
  if (b == "Isolated" || b == "isolated")
    return SplitBehavior::Isolated;
  if (b == "MergedWithPrevious" || b == "merged_with_previous") {
    return SplitBehavior::MergedWithPrevious;
  }
  if (b == "MergedWithNext" || b == "merged_with_next")
    return SplitBehavior::MergedWithNext;
  if (b == "Contiguous" || b == "contiguous")
    return SplitBehavior::Contiguous;
  ctx.fail(detail::concat("unknown behavior '", b, "'"));
}

PrependScheme parse_prepend_scheme(const Json& j, const JsonCtx& ctx) {
  PrependScheme scheme = PrependScheme::Always;
  const Json* ps = ctx.optional(j, "prepend_scheme");
  if (ps) {
    const std::string s = ctx.as_string(*ps, "prepend_scheme");
    if (s == "first") {
      scheme = PrependScheme::First;
    } else if (s == "never") {
      scheme = PrependScheme::Never;
    } else if (s == "always") {
      scheme = PrependScheme::Always;
    } else {
      ctx.fail(detail::concat("unknown prepend_scheme '", s, "'"));
    }
  }
  if (const Json* aps = ctx.optional(j, "add_prefix_space")) {
    if (!ctx.as_bool(*aps, "add_prefix_space")) {
      if (scheme != PrependScheme::Never) {
        if (ps)
          ctx.fail("add_prefix_space does not match declared prepend_scheme");
      }
      scheme = PrependScheme::Never;
    }
  }
  return scheme;
}

std::string decode_base64(const std::string& in, const JsonCtx& ctx) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z')
      return c - 'A';
    if (c >= 'a' && c <= 'z')
      return c - 'a' + 26;
    if (c >= '0' && c <= '9')
      return c - '0' + 52;
    if (c == '+')
      return 62;
    if (c == '/')
      return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  size_t i = 0;
  for (; i < in.size() && in[i] != '='; ++i) {
    const int v = val(in[i]);
    if (v < 0)
      ctx.fail("key 'precompiled_charsmap' is not valid base64");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  for (; i < in.size(); ++i) {
    if (in[i] != '=')
      ctx.fail("key 'precompiled_charsmap' is not valid base64");
  }
  return out;
}

}  // namespace

std::unique_ptr<Normalizer> load_normalizer(const Json& j, const JsonCtx& base) {
  const std::string type = type_of(j, base);
  const JsonCtx ctx = base.at("." + type);
  if (type == "BertNormalizer" || type == "Bert") {
    std::optional<bool> strip;
    if (const Json* s = ctx.optional(j, "strip_accents"))
      strip = ctx.as_bool(*s, "strip_accents");
    return std::make_unique<BertNormalizer>(
        ctx.get_bool_or(j, "clean_text", true),
        ctx.get_bool_or(j, "handle_chinese_chars", true),
        strip,
        ctx.get_bool_or(j, "lowercase", true));
  }
  if (type == "NFC")
    return std::make_unique<UnicodeNormalizer>(UnicodeForm::NFC);
  if (type == "NFD")
    return std::make_unique<UnicodeNormalizer>(UnicodeForm::NFD);
  if (type == "NFKC")
    return std::make_unique<UnicodeNormalizer>(UnicodeForm::NFKC);
  if (type == "NFKD")
    return std::make_unique<UnicodeNormalizer>(UnicodeForm::NFKD);
  if (type == "Lowercase")
    return std::make_unique<LowercaseNormalizer>();
  if (type == "StripAccents")
    return std::make_unique<StripAccentsNormalizer>();
  if (type == "Nmt")
    return std::make_unique<NmtNormalizer>();
  if (type == "ByteLevel")
    return std::make_unique<ByteLevelNormalizer>();
  if (type == "Strip") {
    return std::make_unique<StripNormalizer>(
        ctx.get_bool_or(j, "strip_left", true), ctx.get_bool_or(j, "strip_right", true));
  }
  if (type == "Prepend")
    return std::make_unique<PrependNormalizer>(ctx.get_string(j, "prepend"));
  if (type == "Replace") {
    return std::make_unique<ReplaceNormalizer>(
        pattern_regex(j, ctx), ctx.get_string(j, "content"), ctx.path);
  }
  if (type == "Precompiled") {
    return std::make_unique<PrecompiledNormalizer>(
        decode_base64(ctx.get_string(j, "precompiled_charsmap"), ctx), ctx.path);
  }
  if (type == "Sequence") {
    const Json& arr = ctx.require_array(j, "normalizers");
    std::vector<std::unique_ptr<Normalizer>> items;
    for (size_t i = 0; i < arr.size(); ++i) {
      items.push_back(load_normalizer(arr[i], base.at(detail::concat(".normalizers[", i, "]"))));
    }
    return std::make_unique<SequenceNormalizer>(std::move(items));
  }
  unknown_type(base, type);
}

std::unique_ptr<PreTokenizer> load_pre_tokenizer(const Json& j, const JsonCtx& base) {
  const std::string type = type_of(j, base);
  const JsonCtx ctx = base.at("." + type);
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevelPreTokenizer>(
        ctx.get_bool_or(j, "add_prefix_space", true), ctx.get_bool_or(j, "use_regex", true));
  }
  if (type == "Split") {
    const std::string regex = pattern_regex(j, ctx);
    const SplitBehavior behavior = parse_behavior(ctx.get_string(j, "behavior"), ctx);
    return std::make_unique<SplitPreTokenizer>(
        regex, behavior, ctx.get_bool_or(j, "invert", false), ctx.path);
  }
  if (type == "Metaspace") {
    return std::make_unique<MetaspacePreTokenizer>(
        ctx.get_char(j, "replacement"),
        parse_prepend_scheme(j, ctx),
        ctx.get_bool_or(j, "split", true));
  }
  if (type == "Whitespace")
    return std::make_unique<WhitespacePreTokenizer>();
  if (type == "WhitespaceSplit")
    return std::make_unique<WhitespaceSplitPreTokenizer>();
  if (type == "BertPreTokenizer")
    return std::make_unique<BertPreTokenizer>();
  if (type == "Punctuation") {
    return std::make_unique<PunctuationPreTokenizer>(
        parse_behavior(ctx.get_string_or(j, "behavior", "Isolated"), ctx));
  }
  if (type == "Digits") {
    return std::make_unique<DigitsPreTokenizer>(ctx.get_bool_or(j, "individual_digits", false));
  }
  if (type == "CharDelimiterSplit" || type == "Delimiter") {
    return std::make_unique<CharDelimiterSplitPreTokenizer>(ctx.get_char(j, "delimiter"));
  }
  if (type == "FixedLength") {
    const uint64_t len = ctx.get_uint_or(j, "length", 5);
    if (len == 0)
      ctx.fail("key 'length' must be positive");
    return std::make_unique<FixedLengthPreTokenizer>(len);
  }
  if (type == "Sequence") {
    const Json& arr = ctx.require_array(j, "pretokenizers");
    std::vector<std::unique_ptr<PreTokenizer>> items;
    for (size_t i = 0; i < arr.size(); ++i) {
      items.push_back(
          load_pre_tokenizer(arr[i], base.at(detail::concat(".pretokenizers[", i, "]"))));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(items));
  }
  if (type == "UnicodeScripts")
    ctx.fail("the UnicodeScripts pre-tokenizer is not supported");
  unknown_type(base, type);
}

std::unique_ptr<Decoder> load_decoder(const Json& j, const JsonCtx& base) {
  const std::string type = type_of(j, base);
  const JsonCtx ctx = base.at("." + type);
  if (type == "ByteLevel")
    return std::make_unique<ByteLevelDecoder>();
  if (type == "Metaspace") {
    return std::make_unique<MetaspaceDecoder>(
        ctx.get_char(j, "replacement"), parse_prepend_scheme(j, ctx));
  }
  if (type == "WordPiece") {
    return std::make_unique<WordPieceDecoder>(
        ctx.get_string_or(j, "prefix", "##"), ctx.get_bool_or(j, "cleanup", true));
  }
  if (type == "ByteFallback")
    return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse")
    return std::make_unique<FuseDecoder>();
  if (type == "Strip") {
    return std::make_unique<StripDecoder>(
        ctx.get_char(j, "content"), ctx.get_uint_or(j, "start", 0), ctx.get_uint_or(j, "stop", 0));
  }
  if (type == "Replace") {
    return std::make_unique<ReplaceDecoder>(std::make_unique<ReplaceNormalizer>(
        pattern_regex(j, ctx), ctx.get_string(j, "content"), ctx.path));
  }
  if (type == "BPEDecoder") {
    return std::make_unique<BpeDecoder>(ctx.get_string_or(j, "suffix", "</w>"));
  }
  if (type == "CTC") {
    return std::make_unique<CtcDecoder>(
        ctx.get_string_or(j, "pad_token", "<pad>"),
        ctx.get_string_or(j, "word_delimiter_token", "|"),
        ctx.get_bool_or(j, "cleanup", true));
  }
  if (type == "Sequence") {
    const Json& arr = ctx.require_array(j, "decoders");
    std::vector<std::unique_ptr<Decoder>> items;
    for (size_t i = 0; i < arr.size(); ++i) {
      items.push_back(load_decoder(arr[i], base.at(detail::concat(".decoders[", i, "]"))));
    }
    return std::make_unique<SequenceDecoder>(std::move(items));
  }
  unknown_type(base, type);
}

}  // namespace peftcpp::tok
