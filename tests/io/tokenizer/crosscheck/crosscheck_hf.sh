#!/usr/bin/env bash
# Differential check against the HuggingFace tokenizers library (see crosscheck.py).
#   tests/io/tokenizer/crosscheck/crosscheck_hf.sh [build-dir] [golden-dir]
# Needs node, npm and python3; installs @anush008/tokenizers (the library's Node binding) into a
# temporary folder. Not part of `meson test` (it needs the network for npm).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
build="${1:-$root/build}"
golden="${2:-${PEFTCPP_GOLDEN_DIR:-$root/../shared/golden}}/tokenizers"
dump="$build/tests/io/tokenizer/tokenizer_crosscheck_dump"
[[ -x "$dump" ]] || { echo "missing $dump (build the tests)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm init -y >/dev/null 2>&1 &&
 npm install --no-audit --no-fund --silent @anush008/tokenizers@0.6.0 >/dev/null)
python3 "$here/crosscheck.py" "$dump" "$tmp/node_modules" "$golden" "$tmp/work"
