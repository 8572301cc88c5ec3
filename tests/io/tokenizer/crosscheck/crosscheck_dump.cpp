// Dumps peftcpp's encodings of a list of texts as JSON, for crosscheck.py (compared with the
// HuggingFace tokenizers library on the same texts). Not a test by itself.
//   tokenizer_crosscheck_dump tokenizer.json texts.json out.json
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/tokenizer/tokenizer.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: tokenizer_crosscheck_dump tokenizer.json texts.json out.json\n";
    return 2;
  }
  using nlohmann::json;
  try {
    std::ifstream in(argv[2]);
    std::stringstream ss;
    ss << in.rdbuf();
    const auto texts = json::parse(ss.str()).get<std::vector<std::string>>();
    const auto tok = peftcpp::Tokenizer::from_file(argv[1]);
    json out = json::array();
    for (size_t i = 0; i < texts.size(); ++i) {
      // The same schedule as crosscheck_ref.js: every 3rd without specials, every 5th a pair.
      const bool add = i % 3 != 0;
      const peftcpp::Encoding e = (i % 5 == 0)
                                      ? tok.encode(texts[i], texts[(i * 7) % texts.size()], add)
                                      : tok.encode(texts[i], add);
      json offs = json::array();
      for (const auto& [s, t] : e.offsets) offs.push_back({s, t});
      out.push_back(
          {{"ids", e.ids},
           {"tokens", e.tokens},
           {"offsets", offs},
           {"type_ids", e.type_ids},
           {"special", e.special_tokens_mask},
           {"seq", e.sequence_ids},
           {"decoded", tok.decode(e.ids, false)},
           {"decoded_skip", tok.decode(e.ids, true)}});
    }
    std::ofstream(argv[3]) << out.dump();
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
