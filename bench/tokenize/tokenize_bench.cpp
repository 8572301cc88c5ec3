// Tokenizer throughput: encodes a multi-MB text (chunked at line ends) with each given
// tokenizer.json, single-threaded, and runs the HuggingFace tokenizers library (Rust, through its
// Node binding) on the same chunks in the same run when --hf-modules is given.
//
//   tokenize_bench --text kjv.txt [--chunk 16384] [--reps 3] [--hf-modules DIR]
//                  gpt2=/path/tokenizer.json llama3=/path/tokenizer.json
// prints per tokenizer:  tokenize <name> peftcpp <x> MB/s hf <y> MB/s ratio <x/y>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "io/tokenizer/tokenizer.h"

#ifndef PEFTCPP_BENCH_DIR
#define PEFTCPP_BENCH_DIR "."
#endif

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string run_command(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr)
    return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

// Same rule as hf_tokenize.js: cut after the first newline at or past `size` bytes.
std::vector<std::string> make_chunks(const std::string& text, size_t size) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = std::min(start + size, text.size());
    while (end < text.size() && text[end - 1] != '\n') ++end;
    out.push_back(text.substr(start, end - start));
    start = end;
  }
  return out;
}

double hf_mbps(
    const std::string& modules,
    const std::string& tok_path,
    const std::string& text,
    size_t chunk,
    int reps) {
  if (modules.empty())
    return 0.0;
  const std::string cmd = "node '" + std::string(PEFTCPP_BENCH_DIR) + "/hf_tokenize.js' '" +
                          modules + "' '" + tok_path + "' '" + text + "' " + std::to_string(chunk) +
                          " " + std::to_string(reps) + " 2>/dev/null";
  const std::string out = run_command(cmd);
  const size_t k = out.find("\"mbps\":");
  if (k == std::string::npos)
    return 0.0;
  return std::atof(out.c_str() + k + 7);
}

}  // namespace

int main(int argc, char** argv) {
  std::string text_path, modules;
  size_t chunk = 16384;
  int reps = 3;
  std::vector<std::pair<std::string, std::string>> toks;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--text" && i + 1 < argc) {
      text_path = argv[++i];
    } else if (a == "--chunk" && i + 1 < argc) {
      chunk = std::stoul(argv[++i]);
    } else if (a == "--reps" && i + 1 < argc) {
      reps = std::stoi(argv[++i]);
    } else if (a == "--hf-modules" && i + 1 < argc) {
      modules = argv[++i];
    } else if (a.find('=') != std::string::npos) {
      toks.emplace_back(a.substr(0, a.find('=')), a.substr(a.find('=') + 1));
    } else {
      std::cerr << "unknown argument " << a << "\n";
      return 2;
    }
  }
  if (text_path.empty() || toks.empty()) {
    std::cerr << "usage: tokenize_bench --text FILE [--chunk N] [--reps N] [--hf-modules DIR] "
                 "name=tokenizer.json...\n";
    return 2;
  }
  try {
    const std::string text = read_file(text_path);
    const auto chunks = make_chunks(text, chunk);
    for (const auto& [name, path] : toks) {
      const auto tok = peftcpp::Tokenizer::from_file(path);
      double best = 1e30;
      size_t ntok = 0;
      for (int r = 0; r < reps; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        ntok = 0;
        for (const auto& c : chunks) ntok += tok.encode(c, true).ids.size();
        const double s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        best = std::min(best, s);
      }
      const double ours = static_cast<double>(text.size()) / 1e6 / best;
      const double hf = hf_mbps(modules, path, text_path, chunk, reps);
      std::printf(
          "tokenize %s peftcpp %.2f MB/s hf %.2f MB/s ratio %.2f (%zu tokens, %zu chunks)\n",
          name.c_str(),
          ours,
          hf,
          hf > 0 ? ours / hf : 0.0,
          ntok,
          chunks.size());
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
