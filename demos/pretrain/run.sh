#!/usr/bin/env bash
# Rebuilds assets/base-model: the demo's base model, pretrained by peftcpp itself on
# public-domain 19th-century prose from Debian packages (Jane Austen's six novels from
# r-cran-janeaustenr, Moby Dick from r-cran-tokenizers). Run once; the result is committed.
#   demos/pretrain/run.sh [OUTPUT_DIR] [extra pretrain flags...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:-$ROOT/assets/base-model}"
shift || true
BUILD="${PEFTCPP_BUILD_DIR:-$ROOT/build}"
# shellcheck source=scripts/lib/deps.sh
source "$ROOT/scripts/lib/deps.sh"
ensure_packages r-cran-janeaustenr r-cran-tokenizers

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# Paragraphs (blank-line separated) of the six novels, then Moby Dick's paragraphs.
Rscript -e '
  library(janeaustenr)
  for (b in list(sensesensibility, prideprejudice, mansfieldpark, emma, northangerabbey, persuasion))
    cat(b, sep = "\n")
  m <- tokenizers::mobydick
  cat(gsub("\n\n+", "\n\n", gsub("\r", "", m)), "\n")
' > "$WORK/corpus.txt"
echo "corpus: $(wc -c < "$WORK/corpus.txt") bytes"

[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$ROOT" --buildtype=release
ninja -C "$BUILD" demos/pretrain/pretrain
OMP_WAIT_POLICY=passive "$BUILD/demos/pretrain/pretrain" --corpus "$WORK/corpus.txt" --output "$OUT" --epochs 1 --warmup 30 --seed 0 "$@"
rm -rf "$OUT/training"
