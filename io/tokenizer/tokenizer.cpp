// Tokenizer: the encode / decode pipeline (port of TokenizerImpl in
// tokenizers/src/tokenizer/mod.rs, crate 0.22.2).
#include "io/tokenizer/tokenizer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "io/tokenizer/encoding_ops.h"
#include "io/tokenizer/tokenizer_impl.h"
#include "tensor/error.h"

namespace peftcpp {

Encoding Tokenizer::Impl::encode_single(std::string_view text, uint32_t type_id) const {
  if (!tok::is_valid_utf8(text))
    throw ValueError("[tokenizer] encode: input is not valid UTF-8");
  if (text.size() >= (size_t{1} << 32)) {
    throw ValueError("[tokenizer] encode: inputs of 4 GiB or more are not supported");
  }
  tok::PreTokenizedString pts(text);
  added.extract_and_normalize(normalizer.get(), pts);
  if (pre_tokenizer)
    pre_tokenizer->pre_tokenize(pts);
  for (auto& split : pts.splits()) {
    if (split.tokens)
      continue;
    split.tokens.emplace();
    model->tokenize(split.normalized.get(), *split.tokens);
  }
  Encoding enc;
  pts.into_encoding(std::nullopt, type_id, /*char_offsets=*/true, enc);
  return enc;
}

Encoding Tokenizer::Impl::post_process(
    Encoding enc, Encoding* pair, bool add_special_tokens) const {
  if (truncation) {
    const size_t n_added = post_processor ? post_processor->added_tokens(pair != nullptr) : 0;
    TruncationParams params = *truncation;
    bool apply = true;
    if (add_special_tokens && n_added > 0) {
      // The crate subtracts in usize; a negative budget wraps around and truncates nothing.
      if (params.max_length < n_added) {
        apply = false;
      } else {
        params.max_length -= n_added;
      }
    }
    if (apply)
      tok::truncate_encodings(enc, pair, params);
  }
  Encoding out = tok::post_process(post_processor.get(), std::move(enc), pair, add_special_tokens);
  if (padding) {
    std::vector<Encoding> one;
    one.push_back(std::move(out));
    tok::pad_encodings(one, *padding);
    out = std::move(one[0]);
  }
  return out;
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw IoError(detail::concat("[tokenizer] cannot open ", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad())
    throw IoError(detail::concat("[tokenizer] cannot read ", path));
  return from_json(ss.str(), path);
}

Tokenizer Tokenizer::from_json(std::string_view json, const std::string& source) {
  return Tokenizer(tok::load_tokenizer(json, source));
}

Encoding Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  return impl_->post_process(impl_->encode_single(text, 0), nullptr, add_special_tokens);
}

Encoding Tokenizer::encode(
    std::string_view text, std::string_view pair, bool add_special_tokens) const {
  Encoding second = impl_->encode_single(pair, 1);
  return impl_->post_process(impl_->encode_single(text, 0), &second, add_special_tokens);
}

std::vector<Encoding> Tokenizer::encode_batch(
    const std::vector<std::string>& texts, bool add_special_tokens) const {
  std::vector<Encoding> out;
  out.reserve(texts.size());
  for (const auto& t : texts) out.push_back(encode(t, add_special_tokens));
  if (impl_->padding)
    tok::pad_encodings(out, *impl_->padding);
  return out;
}

std::vector<Encoding> Tokenizer::encode_batch_pairs(
    const std::vector<std::pair<std::string, std::string>>& pairs, bool add_special_tokens) const {
  std::vector<Encoding> out;
  out.reserve(pairs.size());
  for (const auto& [a, b] : pairs) out.push_back(encode(a, b, add_special_tokens));
  if (impl_->padding)
    tok::pad_encodings(out, *impl_->padding);
  return out;
}

std::string Tokenizer::decode(const std::vector<uint32_t>& ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (uint32_t id : ids) {
    std::optional<std::string> t;
    if (const std::string* s = impl_->added.id_to_token(id)) {
      t = *s;
    } else {
      t = impl_->model->id_to_token(id);
    }
    if (!t)
      continue;
    if (skip_special_tokens && impl_->added.is_special_token(*t))
      continue;
    tokens.push_back(std::move(*t));
  }
  std::string out;
  if (impl_->decoder) {
    impl_->decoder->decode_chain(tokens);
    for (const auto& t : tokens) out += t;
  } else {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0)
        out += ' ';
      out += tokens[i];
    }
  }
  return out;
}

std::optional<uint32_t> Tokenizer::token_to_id(std::string_view token) const {
  return impl_->added.token_to_id(token, *impl_->model);
}

std::optional<std::string> Tokenizer::id_to_token(uint32_t id) const {
  if (const std::string* s = impl_->added.id_to_token(id))
    return *s;
  return impl_->model->id_to_token(id);
}

size_t Tokenizer::vocab_size(bool with_added_tokens) const {
  return with_added_tokens ? impl_->vocab_size_with_added : impl_->model->vocab_size();
}

void Tokenizer::set_padding(std::optional<PaddingParams> padding) {
  impl_->padding = std::move(padding);
}

void Tokenizer::set_truncation(std::optional<TruncationParams> truncation) {
  if (truncation) {
    const size_t n_added = impl_->post_processor ? impl_->post_processor->added_tokens(false) : 0;
    if (truncation->max_length >= n_added &&
        truncation->max_length - n_added < truncation->stride) {
      throw ValueError(detail::concat(
          "[tokenizer] truncation: stride ",
          truncation->stride,
          " is larger than the effective max length ",
          truncation->max_length - n_added));
    }
  }
  impl_->truncation = std::move(truncation);
}

const std::optional<PaddingParams>& Tokenizer::padding() const {
  return impl_->padding;
}

const std::optional<TruncationParams>& Tokenizer::truncation() const {
  return impl_->truncation;
}

std::string Tokenizer::to_json(bool pretty) const {
  return tok::tokenizer_to_json(*impl_, pretty);
}

void Tokenizer::save(const std::string& path, bool pretty) const {
  const std::string text = to_json(pretty);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw IoError(detail::concat("[tokenizer] save: cannot create ", tmp));
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      ::close(fd);
      ::unlink(tmp.c_str());
      throw IoError(detail::concat("[tokenizer] save: write failed for ", tmp));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    throw IoError(detail::concat("[tokenizer] save: cannot flush ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw IoError(detail::concat("[tokenizer] save: cannot rename ", tmp, " to ", path));
  }
}

std::vector<std::pair<size_t, size_t>> byte_offsets(
    const Encoding& enc, std::string_view text, std::string_view pair) {
  auto starts = [](std::string_view s) {
    std::vector<size_t> at;  // byte position of each char, plus the end
    for (size_t i = 0; i < s.size(); ++i) {
      if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80)
        at.push_back(i);
    }
    at.push_back(s.size());
    return at;
  };
  const auto a = starts(text), b = starts(pair);
  std::vector<std::pair<size_t, size_t>> out;
  out.reserve(enc.offsets.size());
  for (size_t i = 0; i < enc.offsets.size(); ++i) {
    const auto& m = (i < enc.sequence_ids.size() && enc.sequence_ids[i] == 1) ? b : a;
    const auto [s, e] = enc.offsets[i];
    out.emplace_back(s < m.size() ? m[s] : m.back(), e < m.size() ? m[e] : m.back());
  }
  return out;
}

}  // namespace peftcpp
