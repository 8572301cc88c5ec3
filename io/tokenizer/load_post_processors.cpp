// tokenizer.json -> post-processor objects (TemplateProcessing, Bert, Roberta, ByteLevel,
// Sequence); template pieces in the JSON form or the Python shorthand ("[CLS] $A:0 [SEP]").
#include <string>

#include "io/tokenizer/load_components.h"

namespace peftcpp::tok {

namespace {

std::pair<std::string, uint32_t> token_pair(const Json& j, const char* key, const JsonCtx& ctx) {
  const Json& v = ctx.require(j, key);
  if (!v.is_array() || v.size() != 2 || !v[0].is_string() || !v[1].is_number_unsigned()) {
    ctx.fail(detail::concat("key '", key, "' must be [token, id]"));
  }
  return {v[0].get<std::string>(), v[1].get<uint32_t>()};
}

std::vector<TemplatePiece> load_template(const Json& j, const char* key, const JsonCtx& ctx) {
  const Json& t = ctx.require(j, key);
  std::vector<TemplatePiece> out;
  auto from_string = [&](const std::string& s) {
    // "$A", "$B:1", "[CLS]:0", "$1" ... (Piece::try_from)
    std::string id = s;
    uint32_t type_id = 0;
    bool explicit_type = false;
    if (const size_t colon = s.find(':'); colon != std::string::npos) {
      id = s.substr(0, colon);
      const std::string num = s.substr(colon + 1);
      if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos) {
        ctx.fail(detail::concat("cannot build a template piece from \"", s, "\""));
      }
      type_id = static_cast<uint32_t>(std::stoul(num));
      explicit_type = true;
    }
    TemplatePiece p{false, 0, id, type_id};
    if (!id.empty() && id[0] == '$') {
      const std::string rest = id.substr(1);
      p.is_sequence = true;
      if (rest.empty() || rest == "A" || rest == "a") {
        p.sequence = 0;
      } else if (rest == "B" || rest == "b") {
        p.sequence = 1;
      } else if (rest.find_first_not_of("0123456789") == std::string::npos) {
        p.sequence = 0;
        if (!explicit_type)
          p.type_id = static_cast<uint32_t>(std::stoul(rest));
      } else {
        ctx.fail(detail::concat("cannot build a template piece from \"", s, "\""));
      }
    }
    out.push_back(p);
  };
  if (t.is_string()) {
    const std::string s = t.get<std::string>();
    size_t start = 0;
    while (true) {
      const size_t sp = s.find(' ', start);
      from_string(s.substr(start, sp == std::string::npos ? std::string::npos : sp - start));
      if (sp == std::string::npos)
        break;
      start = sp + 1;
    }
    return out;
  }
  if (!t.is_array())
    ctx.fail(detail::concat("key '", key, "' must be a list of pieces"));
  for (const Json& piece : t) {
    if (piece.is_string()) {
      from_string(piece.get<std::string>());
      continue;
    }
    if (const Json* seq = piece.is_object() ? ctx.optional(piece, "Sequence") : nullptr) {
      const std::string id = ctx.get_string(*seq, "id");
      if (id != "A" && id != "B")
        ctx.fail(detail::concat("unknown sequence id '", id, "'"));
      out.push_back(
          {true,
           id == "A" ? 0 : 1,
           "",
           static_cast<uint32_t>(ctx.get_uint_or(*seq, "type_id", 0))});
    } else if (const Json* sp = piece.is_object() ? ctx.optional(piece, "SpecialToken") : nullptr) {
      out.push_back(
          {false,
           0,
           ctx.get_string(*sp, "id"),
           static_cast<uint32_t>(ctx.get_uint_or(*sp, "type_id", 0))});
    } else {
      ctx.fail(detail::concat(
          "key '",
          key,
          "' has a piece that is neither Sequence nor "
          "SpecialToken"));
    }
  }
  return out;
}

}  // namespace

std::unique_ptr<PostProcessor> load_post_processor(const Json& j, const JsonCtx& base) {
  const std::string type = type_of(j, base);
  const JsonCtx ctx = base.at("." + type);
  if (type == "TemplateProcessing") {
    auto single = load_template(j, "single", ctx);
    auto pair = load_template(j, "pair", ctx);
    std::map<std::string, SpecialTokenDef> specials;
    const Json& st = ctx.require(j, "special_tokens");
    if (!st.is_object())
      ctx.fail("key 'special_tokens' must be an object");
    for (const auto& [name, def] : st.items()) {
      SpecialTokenDef d;
      d.id = ctx.get_string(def, "id");
      for (const Json& id : ctx.require_array(def, "ids")) d.ids.push_back(ctx.as_uint(id, "ids"));
      for (const Json& tk : ctx.require_array(def, "tokens")) {
        d.tokens.push_back(ctx.as_string(tk, "tokens"));
      }
      if (d.ids.size() != d.tokens.size()) {
        ctx.fail(detail::concat("special token '", name, "': ids and tokens differ in length"));
      }
      specials[name] = std::move(d);
    }
    for (const auto* t : {&single, &pair}) {
      for (const auto& p : *t) {
        if (!p.is_sequence && !specials.count(p.id)) {
          ctx.fail(detail::concat("missing special token '", p.id, "' in 'special_tokens'"));
        }
      }
    }
    return std::make_unique<TemplateProcessor>(
        std::move(single), std::move(pair), std::move(specials));
  }
  if (type == "BertProcessing") {
    auto sep = token_pair(j, "sep", ctx), cls = token_pair(j, "cls", ctx);
    return std::make_unique<BertProcessor>(sep.first, sep.second, cls.first, cls.second);
  }
  if (type == "RobertaProcessing") {
    auto sep = token_pair(j, "sep", ctx), cls = token_pair(j, "cls", ctx);
    return std::make_unique<RobertaProcessor>(
        sep.first,
        sep.second,
        cls.first,
        cls.second,
        ctx.get_bool_or(j, "trim_offsets", true),
        ctx.get_bool_or(j, "add_prefix_space", true));
  }
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevelProcessor>(
        ctx.get_bool_or(j, "trim_offsets", true), ctx.get_bool_or(j, "add_prefix_space", true));
  }
  if (type == "Sequence") {
    const Json& arr = ctx.require_array(j, "processors");
    std::vector<std::unique_ptr<PostProcessor>> items;
    for (size_t i = 0; i < arr.size(); ++i) {
      items.push_back(load_post_processor(arr[i], base.at(detail::concat(".processors[", i, "]"))));
    }
    return std::make_unique<SequenceProcessor>(std::move(items));
  }
  unknown_type(base, type);
}

}  // namespace peftcpp::tok
