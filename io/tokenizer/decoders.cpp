// Decoders: ports of tokenizers/src/decoders/*.rs plus the ByteLevel and Metaspace decoders.
#include "io/tokenizer/decoders.h"

#include <algorithm>

#include "io/tokenizer/unicode_utils.h"

namespace peftcpp::tok {

namespace {

struct CharToByte {
  int16_t table[512];
  CharToByte() {
    std::fill(std::begin(table), std::end(table), static_cast<int16_t>(-1));
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      const int c = printable ? b : 256 + n++;
      table[c] = static_cast<int16_t>(b);
    }
  }
};

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty())
    return;
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string::npos)
      break;
    out.append(s, pos, hit - pos);
    out += to;
    pos = hit + from.size();
  }
  if (pos == 0)
    return;
  out.append(s, pos, std::string::npos);
  s = std::move(out);
}

void wordpiece_cleanup(std::string& s) {
  replace_all(s, " .", ".");
  replace_all(s, " ?", "?");
  replace_all(s, " !", "!");
  replace_all(s, " ,", ",");
  replace_all(s, " ' ", "'");
  replace_all(s, " n't", "n't");
  replace_all(s, " 'm", "'m");
  replace_all(s, " do not", " don't");
  replace_all(s, " 's", "'s");
  replace_all(s, " 've", "'ve");
  replace_all(s, " 're", "'re");
}

}  // namespace

int byte_level_char_to_byte(char32_t c) {
  static const CharToByte t;
  return c < 512 ? t.table[c] : -1;
}

void ByteLevelDecoder::decode_chain(std::vector<std::string>& tokens) const {
  std::string bytes;
  for (const auto& t : tokens) {
    const size_t mark = bytes.size();
    bool ok = true;
    size_t i = 0;
    while (i < t.size()) {
      const int b = byte_level_char_to_byte(utf8_next(t, i));
      if (b < 0) {
        ok = false;
        break;
      }
      bytes.push_back(static_cast<char>(b));
    }
    if (!ok) {  // a token outside the alphabet is kept as its UTF-8 bytes
      bytes.resize(mark);
      bytes += t;
    }
  }
  tokens.assign(1, utf8_lossy(bytes));
}

void MetaspaceDecoder::decode_chain(std::vector<std::string>& tokens) const {
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string out;
    const std::string& t = tokens[i];
    size_t k = 0;
    while (k < t.size()) {
      const size_t at = k;
      const char32_t c = utf8_next(t, k);
      if (c == replacement_) {
        if (!(i == 0 && scheme_ != PrependScheme::Never))
          out.push_back(' ');
      } else {
        out.append(t, at, k - at);
      }
    }
    tokens[i] = std::move(out);
  }
}

void WordPieceDecoder::decode_chain(std::vector<std::string>& tokens) const {
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string& t = tokens[i];
    if (i != 0) {
      if (t.compare(0, prefix_.size(), prefix_) == 0) {
        t.erase(0, prefix_.size());
      } else {
        t = " " + t;
      }
    }
    if (cleanup_)
      wordpiece_cleanup(t);
  }
}

void ByteFallbackDecoder::decode_chain(std::vector<std::string>& tokens) const {
  std::vector<std::string> out;
  std::string pending;
  auto flush = [&]() {
    if (pending.empty())
      return;
    if (is_valid_utf8(pending)) {
      out.push_back(pending);
    } else {
      for (size_t k = 0; k < pending.size(); ++k) out.emplace_back("\xEF\xBF\xBD");
    }
    pending.clear();
  };
  auto hex = [](char ch) -> int {
    if (ch >= '0' && ch <= '9')
      return ch - '0';
    if (ch >= 'a' && ch <= 'f')
      return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
      return ch - 'A' + 10;
    return -1;
  };
  for (auto& t : tokens) {
    int byte = -1;
    if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') {
      const int hi = hex(t[3]), lo = hex(t[4]);
      if (hi >= 0 && lo >= 0)
        byte = hi * 16 + lo;
    }
    if (byte >= 0) {
      pending.push_back(static_cast<char>(byte));
    } else {
      flush();
      out.push_back(std::move(t));
    }
  }
  flush();
  tokens = std::move(out);
}

void FuseDecoder::decode_chain(std::vector<std::string>& tokens) const {
  std::string all;
  for (const auto& t : tokens) all += t;
  tokens.assign(1, std::move(all));
}

void StripDecoder::decode_chain(std::vector<std::string>& tokens) const {
  for (auto& t : tokens) {
    const std::u32string chars = utf8_decode(t);
    size_t start_cut = 0;
    for (size_t i = 0; i < std::min(start_, chars.size()); ++i) {
      if (chars[i] != content_)
        break;
      start_cut = i + 1;
    }
    size_t stop_cut = chars.size();
    for (size_t i = 0; i < stop_ && i < chars.size(); ++i) {
      const size_t index = chars.size() - i - 1;
      if (chars[index] != content_)
        break;
      stop_cut = index;
    }
    std::string out;
    for (size_t i = start_cut; i < stop_cut; ++i) append_utf8(out, chars[i]);
    t = std::move(out);
  }
}

void BpeDecoder::decode_chain(std::vector<std::string>& tokens) const {
  for (size_t i = 0; i < tokens.size(); ++i) {
    replace_all(tokens[i], suffix_, i + 1 == tokens.size() ? "" : " ");
  }
}

void CtcDecoder::decode_chain(std::vector<std::string>& tokens) const {
  std::vector<std::string> out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0 && tokens[i] == tokens[i - 1])
      continue;  // dedup consecutive
    std::string t = tokens[i];
    replace_all(t, pad_, "");
    if (cleanup_) {
      wordpiece_cleanup(t);
      replace_all(t, delim_, " ");
    }
    if (!t.empty())
      out.push_back(std::move(t));
  }
  tokens = std::move(out);
}

}  // namespace peftcpp::tok
