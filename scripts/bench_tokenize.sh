#!/usr/bin/env bash
# Tokenizer throughput, peftcpp vs the HuggingFace tokenizers library (Rust, through its Node
# binding @anush008/tokenizers, installed into a temporary folder; a benchmark anchor only).
#
#   scripts/bench_tokenize.sh [build-dir] [golden-dir]
# Prints: tokenize <name> peftcpp <x> MB/s hf <y> MB/s ratio <x/y>
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
golden="${2:-${PEFTCPP_GOLDEN_DIR:-$root/../shared/golden}}"
bench="$build/bench/tokenize/tokenize_bench"
[[ -x "$bench" ]] || { echo "missing $bench (build with -Dbenchmarks=true)" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# A multi-MB public-domain text: the KJV bible (Debian bible-kjv), else Jane Austen (janeaustenr).
text="$tmp/text.txt"
if command -v bible >/dev/null 2>&1; then
  bible -l0 'Genesis1:1-Revelation22:21' > "$text"
fi
if [[ ! -s "$text" ]] && command -v Rscript >/dev/null 2>&1; then
  Rscript -e 'library(janeaustenr); writeLines(austen_books()$text)' > "$text" 2>/dev/null || true
fi
[[ -s "$text" ]] || { echo "no benchmark text (install bible-kjv)" >&2; exit 1; }

hf_args=()
if command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1; then
  if (cd "$tmp" && npm init -y >/dev/null 2>&1 &&
      npm install --no-audit --no-fund --silent @anush008/tokenizers@0.6.0 >/dev/null 2>&1); then
    hf_args=(--hf-modules "$tmp/node_modules")
  else
    echo "note: npm install of @anush008/tokenizers failed; reporting peftcpp only" >&2
  fi
fi

"$bench" --text "$text" --reps 3 "${hf_args[@]}" \
  gpt2="$golden/tokenizers/gpt2_bytelevel_bpe/tokenizer.json" \
  llama3="$golden/tokenizers/llama3_bytelevel_bpe/tokenizer.json"
