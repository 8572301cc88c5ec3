#!/usr/bin/env bash
# The README's first command: fine-tunes the bundled base model (assets/base-model, pretrained
# by peftcpp on Jane Austen and Moby Dick) with LoRA on a new domain, the King James Bible, with
# whole chapters held out. Shows generations before and after, held-out perplexity before and
# after, saves the adapter (HuggingFace PEFT format) and checks that reloading it reproduces the
# trained model. On a fresh Debian 12 machine it installs what is missing and builds first.
#   scripts/demo.sh [OUTPUT_DIR]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${PEFTCPP_BUILD_DIR:-$ROOT/build}"
OUT="${1:-$ROOT/out/demo-$(date +%Y%m%d-%H%M%S)}"
BASE="$ROOT/assets/base-model"
# shellcheck source=scripts/lib/deps.sh
source "$ROOT/scripts/lib/deps.sh"
ensure_packages bible-kjv

start=$(date +%s)
echo "== building peftcpp (release)"
if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD" "$ROOT" --buildtype=release
fi
ninja -C "$BUILD" tools/peftcpp
P="$BUILD/tools/peftcpp"
# Two cores, nothing else running: threads sleep when idle instead of spinning.
export OMP_WAIT_POLICY=passive

mkdir -p "$OUT"
echo "== data: the King James Bible, one document per chapter"
bible -l0 'Genesis1:1-Revelation22:21' | awk '
  /^  [0-9]+ / { sub(/^  [0-9]+ /, ""); print; next }
  /^$/ { next }
  { if (n++) print "" }   # a chapter heading ("Genesis 1") starts a new document
' > "$OUT/kjv.txt"
echo "$(grep -c '^$' "$OUT/kjv.txt") chapter breaks, $(wc -c < "$OUT/kjv.txt") bytes"

PROMPTS=(--prompt "And God said unto Moses," --prompt "In the beginning" --prompt "Blessed are the")
echo
echo "== generations of the base model (trained on Austen and Melville only)"
"$P" generate --model "$BASE" "${PROMPTS[@]}" --max-new-tokens 24

echo
echo "== fine-tuning with LoRA (r 8, alpha 16, all seven projections)"
"$P" finetune --model "$BASE" --data "$OUT/kjv.txt" --output "$OUT/adapter" \
  --method lora --r 8 --alpha 16 \
  --target-modules q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj \
  --seq-len 256 --batch-size 8 --max-steps 40 --lr 2e-3 --warmup-steps 4 --scheduler cosine \
  --eval-fraction 0.02 --logging-steps 5 --seed 0 --verify-reload | tee "$OUT/finetune.log"

echo
echo "== generations with the adapter"
"$P" generate --model "$BASE" --adapter "$OUT/adapter" "${PROMPTS[@]}" --max-new-tokens 24

before=$(sed -n 's/^held-out before: loss [0-9.]*, perplexity \([0-9.]*\).*/\1/p' "$OUT/finetune.log")
after=$(sed -n 's/^held-out after: loss [0-9.]*, perplexity \([0-9.]*\).*/\1/p' "$OUT/finetune.log")
elapsed=$(( $(date +%s) - start ))
echo
echo "== summary"
echo "held-out perplexity (whole chapters never trained on): $before -> $after"
echo "adapter (loads in HuggingFace PEFT with PeftModel.from_pretrained): $OUT/adapter"
echo "loss curve: $OUT/adapter/loss_curve.svg"
echo "everything this demo wrote: $OUT   (${elapsed} s in all)"
python3 - "$before" "$after" <<'PY'
import sys
b, a = float(sys.argv[1]), float(sys.argv[2])
ratio = b / a
print(f"perplexity fell {ratio:.2f}x")
sys.exit(0 if ratio >= 2.0 else 1)
PY
