#!/usr/bin/env bash
# A LoRA (and a full fine-tuning) training step, peftcpp (bench/lora_step) vs PyTorch
# (bench/reference/lora_step.py with Debian's python3-torch), same model and flags, one after
# the other, and the tokens/s ratio. Reference configuration by default:
#   --vocab 32000 --hidden 512 --intermediate 1376 --layers 4 --heads 8 --kv-heads 8 --seq 256
#   --batch 4 --rank 16 --alpha 32 --threads 2
# Usage: scripts/bench_lora_step.sh [build-dir] [extra flags for both]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib/deps.sh
source "$root/scripts/lib/deps.sh"
ensure_packages python3-torch  # the PyTorch anchor
build="${1:-$root/build}"
shift || true
flags=(--vocab 32000 --hidden 512 --intermediate 1376 --layers 4 --heads 8 --kv-heads 8 --seq 256
       --batch 4 --rank 16 --alpha 32 --steps "${STEPS:-10}" --warmup 2 --threads 2 "$@")
if [[ ! -f "$build/build.ninja" ]]; then meson setup "$build" "$root" --buildtype=release -Dbenchmarks=true >/dev/null; fi
meson configure "$build" -Dbenchmarks=true >/dev/null
ninja -C "$build" bench/lora_step/bench_lora_step >/dev/null
export MALLOC_MMAP_THRESHOLD_=1000000000 MALLOC_TRIM_THRESHOLD_=1000000000
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
export OMP_WAIT_POLICY=passive
echo "# load: $(cut -d' ' -f1-3 /proc/loadavg)"
for mode in lora full; do
  extra=()
  [[ $mode == full ]] && extra=(--full)
  o=$("$build/bench/lora_step/bench_lora_step" "${flags[@]}" "${extra[@]}")
  t=$(/usr/bin/python3 "$root/bench/reference/lora_step.py" "${flags[@]}" "${extra[@]}")
  echo "$o" | sed "s/^/peftcpp $mode: /"
  echo "$t" | sed "s/^/pytorch $mode: /"
  a=$(echo "$o" | sed -n 's/^tokens\/s: //p'); b=$(echo "$t" | sed -n 's/^tokens\/s: //p')
  python3 -c "print('ratio $mode (peftcpp / pytorch): %.2fx' % ($a / $b))"
done
