#include "train/dataset.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>

#include "io/json/json.h"
#include "tensor/error.h"
#include "tensor/random/philox.h"

namespace peftcpp::train {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool blank(const std::string& line) {
  return line.find_first_not_of(" \t\r") == std::string::npos;
}

std::vector<Document> read_jsonl(std::ifstream& in, const std::string& path) {
  std::vector<Document> docs;
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    if (blank(line)) continue;
    const std::string where = path + " line " + std::to_string(n);
    Json j;
    try {
      j = Json::parse(line);
    } catch (const std::exception& e) {
      throw ValueError("[dataset] " + where + ": not valid JSON (" + e.what() + ")");
    }
    if (!j.is_object()) throw ValueError("[dataset] " + where + ": expected a JSON object");
    const Json* text = j.find("text");
    const Json* prompt = j.find("prompt");
    const Json* completion = j.find("completion");
    if (text != nullptr && text->is_string()) {
      docs.push_back({text->as_string(), ""});
    } else if (prompt != nullptr && completion != nullptr && prompt->is_string() &&
               completion->is_string()) {
      docs.push_back({completion->as_string(), prompt->as_string()});
    } else {
      throw ValueError("[dataset] " + where +
                       ": needs a string \"text\", or string \"prompt\" and \"completion\"");
    }
  }
  return docs;
}

std::vector<Document> read_plain(std::ifstream& in) {
  std::vector<Document> docs;
  std::string line, current;
  auto flush = [&] {
    if (!current.empty()) docs.push_back({current, ""});
    current.clear();
  };
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (blank(line)) {
      flush();
      continue;
    }
    current += line;
    current += '\n';
  }
  flush();
  return docs;
}

}  // namespace

std::vector<Document> read_documents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("[dataset] cannot open '" + path + "'");
  std::vector<Document> docs =
      ends_with(path, ".jsonl") || ends_with(path, ".json") ? read_jsonl(in, path) : read_plain(in);
  if (docs.empty()) throw ValueError("[dataset] '" + path + "' holds no documents");
  return docs;
}

Split split_documents(const std::vector<Document>& docs, double eval_fraction,
                      std::uint64_t seed) {
  if (!(eval_fraction >= 0.0 && eval_fraction < 1.0))
    throw ValueError("[dataset] eval fraction must be in [0, 1), got " +
                     std::to_string(eval_fraction));
  const std::size_t n = docs.size();
  std::size_t n_eval = static_cast<std::size_t>(std::llround(eval_fraction * static_cast<double>(n)));
  if (eval_fraction > 0 && n > 1) n_eval = std::clamp<std::size_t>(n_eval, 1, n - 1);
  // Seeded Fisher-Yates over document indices with Philox draws.
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  for (std::size_t i = n; i > 1; --i) {
    const std::uint32_t r = philox4x32_10(seed, n - i).v[0];
    std::swap(order[i - 1], order[r % i]);
  }
  std::vector<bool> held(n, false);
  for (std::size_t i = 0; i < n_eval; ++i) held[order[i]] = true;
  Split out;
  for (std::size_t i = 0; i < n; ++i) (held[i] ? out.eval : out.train).push_back(docs[i]);
  return out;
}

TokenStream tokenize_documents(const Tokenizer& tokenizer, const std::vector<Document>& docs,
                               std::int64_t eos_id) {
  TokenStream s;
  for (const Document& d : docs) {
    if (!d.prompt.empty()) {
      for (std::uint32_t id : tokenizer.encode(d.prompt, false).ids) {
        s.ids.push_back(id);
        s.labels.push_back(kIgnoreIndex);
      }
    }
    for (std::uint32_t id : tokenizer.encode(d.text, false).ids) {
      s.ids.push_back(id);
      s.labels.push_back(id);
    }
    if (eos_id >= 0) {
      s.ids.push_back(eos_id);
      s.labels.push_back(eos_id);
    }
  }
  return s;
}

std::vector<Block> pack_blocks(const TokenStream& stream, std::int64_t seq_len,
                               bool keep_remainder) {
  if (seq_len <= 0) throw ValueError("[dataset] seq_len must be positive, got " + std::to_string(seq_len));
  std::vector<Block> out;
  const std::size_t L = static_cast<std::size_t>(seq_len);
  for (std::size_t at = 0; at < stream.ids.size(); at += L) {
    const std::size_t end = std::min(at + L, stream.ids.size());
    if (end - at < L && !keep_remainder) break;
    out.push_back({{stream.ids.begin() + at, stream.ids.begin() + end},
                   {stream.labels.begin() + at, stream.labels.begin() + end}});
  }
  return out;
}

}  // namespace peftcpp::train
