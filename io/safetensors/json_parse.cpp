// Strict JSON parsing for safetensors headers (SAX state machine) and shard indexes (DOM with a
// duplicate-key callback). The only translation unit of io/safetensors that includes nlohmann.
//
// The header grammar is checked while parsing, so a hostile header is rejected at the first
// unexpected token and never builds a deep or large DOM: the state machine accepts nesting
// depth 3 at most (top object > tensor object > shape array).
#include "io/safetensors/json_parse.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <unordered_set>

#include "io/safetensors/errors.h"
#include "tensor/error.h"

namespace peftcpp::safetensors_detail {

namespace {

using json = nlohmann::json;

// Drops nlohmann's "[json.exception.parse_error.101] " prefix.
std::string strip_nlohmann_prefix(const std::string& what) {
  const auto pos = what.find("] ");
  return what.rfind("[json.exception.", 0) == 0 && pos != std::string::npos ? what.substr(pos + 2)
                                                                            : what;
}

class HeaderSax {
 public:
  RawHeader take() {
    return std::move(header_);
  }
  bool failed() const {
    return !error_.empty();
  }
  const std::string& error() const {
    return error_;
  }
  const std::optional<std::string>& error_tensor() const {
    return error_tensor_;
  }
  bool done() const {
    return state_ == State::Done;
  }

  // nlohmann SAX interface. Returning false stops the parser.
  bool null() {
    if (state_ == State::MetaValue)
      return go(State::Top);
    return unexpected("null");
  }
  bool boolean(bool) {
    return unexpected("a boolean");
  }
  bool number_integer(json::number_integer_t v) {
    // nlohmann reports integers written with a minus sign here (non-negative ones, like -0, too).
    if (v >= 0)
      return number_unsigned(static_cast<std::uint64_t>(v));
    if (state_ == State::Shape)
      return tensor_error("negative dimension " + std::to_string(v) + " in shape");
    if (state_ == State::Offsets)
      return tensor_error("negative value " + std::to_string(v) + " in data_offsets");
    return unexpected("a number");
  }
  bool number_unsigned(json::number_unsigned_t v) {
    if (state_ == State::Shape) {
      if (tensor().shape.size() == kMaxRank)
        return tensor_error("shape has more than " + std::to_string(kMaxRank) + " dimensions");
      tensor().shape.push_back(v);
      return true;
    }
    if (state_ == State::Offsets) {
      if (n_offsets_ >= 2)
        return tensor_error("data_offsets must hold exactly 2 integers, got more");
      (n_offsets_ == 0 ? tensor().begin : tensor().end) = v;
      ++n_offsets_;
      return true;
    }
    return unexpected("a number");
  }
  bool number_float(json::number_float_t, const std::string& text) {
    if (state_ == State::Shape || state_ == State::Offsets) {
      return tensor_error(
          std::string(state_ == State::Shape ? "shape" : "data_offsets") +
          " must hold non-negative integers below 2^64, got " + text);
    }
    return unexpected("a number");
  }
  bool string(std::string& s) {
    if (state_ == State::MetaString) {
      header_.metadata.emplace(meta_key_, std::move(s));
      return go(State::Meta);
    }
    if (state_ == State::Dtype) {
      tensor().dtype = std::move(s);
      return go(State::Tensor);
    }
    return unexpected("a string");
  }
  bool binary(json::binary_t&) {
    return unexpected("binary data");
  }
  bool start_object(std::size_t) {
    switch (state_) {
      case State::Start:
        return go(State::Top);
      case State::MetaValue:
        return go(State::Meta);
      case State::TensorValue:
        fields_ = 0;
        return go(State::Tensor);
      default:
        return unexpected("an object");
    }
  }
  bool end_object() {
    switch (state_) {
      case State::Top:
        return go(State::Done);
      case State::Meta:
        return go(State::Top);
      case State::Tensor:
        for (int f = 0; f < 3; ++f) {
          if (!(fields_ & (1u << f)))
            return tensor_error(std::string("missing field '") + kFields[f] + "'");
        }
        return go(State::Top);
      default:
        return unexpected("the end of an object");
    }
  }
  bool start_array(std::size_t) {
    if (state_ == State::ShapeStart)
      return go(State::Shape);
    if (state_ == State::OffsetsStart) {
      n_offsets_ = 0;
      return go(State::Offsets);
    }
    return unexpected("an array");
  }
  bool end_array() {
    if (state_ == State::Shape)
      return go(State::Tensor);
    if (state_ == State::Offsets) {
      if (n_offsets_ != 2)
        return tensor_error(
            "data_offsets must hold exactly 2 integers, got " + std::to_string(n_offsets_));
      return go(State::Tensor);
    }
    return unexpected("the end of an array");
  }
  bool key(std::string& k) {
    if (state_ == State::Top) {
      if (!top_keys_.insert(k).second) {
        if (k == "__metadata__")
          return set_error("duplicate key '__metadata__' in header");
        error_tensor_ = k;
        return set_error("appears twice in the header (duplicate key)");
      }
      if (k == "__metadata__")
        return go(State::MetaValue);
      header_.tensors.push_back(RawTensor{});
      header_.tensors.back().name = k;
      return go(State::TensorValue);
    }
    if (state_ == State::Meta) {
      if (header_.metadata.count(k))
        return set_error("duplicate key " + quote_name(k) + " in __metadata__");
      meta_key_ = k;
      return go(State::MetaString);
    }
    if (state_ == State::Tensor) {
      for (unsigned f = 0; f < 3; ++f) {
        if (k != kFields[f])
          continue;
        if (fields_ & (1u << f))
          return tensor_error("duplicate field '" + k + "'");
        fields_ |= 1u << f;
        return go(f == 0 ? State::Dtype : f == 1 ? State::ShapeStart : State::OffsetsStart);
      }
      return tensor_error(
          "unexpected field " + quote_name(k) + " (expected exactly dtype, shape, data_offsets)");
    }
    return unexpected("a key");
  }
  bool parse_error(
      std::size_t position, const std::string&, const nlohmann::detail::exception& ex) {
    if (failed())
      return false;  // our own error came first
    return set_error(
        "invalid JSON in header at byte " + std::to_string(position) + ": " +
        strip_nlohmann_prefix(ex.what()));
  }

 private:
  enum class State {
    Start,
    Top,
    MetaValue,
    Meta,
    MetaString,
    TensorValue,
    Tensor,
    Dtype,
    ShapeStart,
    Shape,
    OffsetsStart,
    Offsets,
    Done,
  };
  // Rust has no limit; this one bounds memory for hostile headers of 100 MB of "1,1,1,...".
  static constexpr std::size_t kMaxRank = 1024;
  static constexpr const char* kFields[3] = {"dtype", "shape", "data_offsets"};

  bool go(State s) {
    state_ = s;
    return true;
  }
  RawTensor& tensor() {
    return header_.tensors.back();
  }
  bool set_error(std::string msg) {
    error_ = std::move(msg);
    return false;
  }
  bool tensor_error(std::string msg) {
    error_tensor_ = tensor().name;
    return set_error(std::move(msg));
  }
  bool unexpected(const char* what) {
    switch (state_) {
      case State::Start:
        return set_error(std::string("header must be a JSON object, got ") + what);
      case State::MetaValue:
      case State::Meta:
        return set_error(std::string("__metadata__ must be an object of strings, got ") + what);
      case State::MetaString:
        return set_error(
            "__metadata__ value for " + quote_name(meta_key_) + " must be a string, got " + what);
      case State::TensorValue:
        return tensor_error(std::string("entry must be an object, got ") + what);
      case State::Dtype:
        return tensor_error(std::string("dtype must be a string, got ") + what);
      case State::ShapeStart:
        return tensor_error(std::string("shape must be an array, got ") + what);
      case State::Shape:
        return tensor_error(std::string("shape must hold integers, got ") + what);
      case State::OffsetsStart:
        return tensor_error(std::string("data_offsets must be an array, got ") + what);
      case State::Offsets:
        return tensor_error(std::string("data_offsets must hold integers, got ") + what);
      default:
        return set_error(std::string("unexpected ") + what + " in header");
    }
  }

  RawHeader header_;
  State state_ = State::Start;
  std::unordered_set<std::string> top_keys_;
  std::string meta_key_;
  unsigned fields_ = 0;
  int n_offsets_ = 0;
  std::string error_;
  std::optional<std::string> error_tensor_;  // set when the error concerns one tensor
};

}  // namespace

RawHeader parse_header_json(std::string_view text, const std::string& file) {
  if (const auto bad = find_invalid_utf8(text); bad != std::string_view::npos) {
    fail(file, "header is not valid UTF-8 (byte " + std::to_string(bad) + " of the header)");
  }
  // nlohmann's lexer takes a NUL byte for the end of input, which would accept "{}\0garbage".
  // A raw NUL is never valid JSON (not whitespace, and escaped inside strings), so reject it.
  if (const auto nul = text.find('\0'); nul != std::string_view::npos) {
    fail(file, "invalid JSON in header: NUL byte at byte " + std::to_string(nul));
  }
  // The format requires '{' as the very first byte (no leading whitespace).
  if (text.empty() || text.front() != '{') {
    fail(file, "header must be a JSON object starting with '{' at its first byte");
  }
  HeaderSax sax;
  bool ok = false;
  try {
    ok = json::sax_parse(text.begin(), text.end(), &sax, json::input_format_t::json, true, false);
  } catch (const json::exception& e) {
    fail(file, "invalid JSON in header: " + strip_nlohmann_prefix(e.what()));
  }
  if (sax.failed()) {
    if (sax.error_tensor())
      fail(file, *sax.error_tensor(), sax.error());
    fail(file, sax.error());
  }
  if (!ok || !sax.done())
    fail(file, "invalid JSON in header");
  return sax.take();
}

RawIndex parse_index_json(std::string_view text, const std::string& file) {
  if (const auto bad = find_invalid_utf8(text); bad != std::string_view::npos) {
    fail(file, "index is not valid UTF-8 (byte " + std::to_string(bad) + ")");
  }
  if (const auto nul = text.find('\0'); nul != std::string_view::npos) {
    fail(file, "invalid JSON: NUL byte at byte " + std::to_string(nul));
  }
  // Track the keys of every open object to reject duplicates.
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  constexpr int kMaxDepth =
      64;  // dump() and the DOM destructor recurse; keep hostile nesting shallow
  struct TooDeep {};
  const json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth > kMaxDepth)
      throw TooDeep{};
    if (event == json::parse_event_t::object_start)
      open_objects.emplace_back();
    if (event == json::parse_event_t::object_end && !open_objects.empty())
      open_objects.pop_back();
    if (event == json::parse_event_t::key && !open_objects.empty()) {
      const auto& k = parsed.get_ref<const std::string&>();
      if (!open_objects.back().insert(k).second && duplicate.empty())
        duplicate = k;
    }
    return true;
  };
  json root;
  try {
    root = json::parse(text.begin(), text.end(), cb, true, false);
  } catch (const json::exception& e) {
    fail(file, "invalid JSON: " + strip_nlohmann_prefix(e.what()));
  } catch (const TooDeep&) {
    fail(file, "JSON nested deeper than " + std::to_string(kMaxDepth) + " levels");
  }
  if (!duplicate.empty())
    fail(file, "duplicate key " + quote_name(duplicate));
  if (!root.is_object())
    fail(file, "index must be a JSON object");
  RawIndex index;
  if (const auto it = root.find("metadata"); it != root.end() && !it->is_null()) {
    if (!it->is_object())
      fail(file, "\"metadata\" must be an object");
    for (const auto& [k, v] : it->items()) {
      index.metadata.emplace(k, v.is_string() ? v.get<std::string>() : v.dump());
    }
  }
  const auto wm = root.find("weight_map");
  if (wm == root.end() || !wm->is_object())
    fail(file, "missing \"weight_map\" object");
  for (const auto& [k, v] : wm->items()) {
    if (!v.is_string())
      fail(file, "weight_map[" + quote_name(k) + "] must be a file name string");
    index.weight_map.emplace_back(k, v.get<std::string>());
  }
  return index;
}

std::size_t find_invalid_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    unsigned lo = 0x80, hi = 0xbf;  // allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0)
        lo = 0xa0;  // overlong
      if (c == 0xed)
        hi = 0x9f;  // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0)
        lo = 0x90;  // overlong
      if (c == 0xf4)
        hi = 0x8f;  // > U+10FFFF
    } else {
      return i;
    }
    if (n - i < len)
      return i;
    if (s[i + 1] < lo || s[i + 1] > hi)
      return i;
    for (std::size_t k = 2; k < len; ++k) {
      if (s[i + k] < 0x80 || s[i + k] > 0xbf)
        return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

}  // namespace peftcpp::safetensors_detail
