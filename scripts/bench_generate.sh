#!/usr/bin/env bash
# Generation throughput, peftcpp (bench/generate) vs PyTorch (bench/reference/generate.py, run with
# Debian's python3-torch at /usr/bin/python3, 2 threads): prefill and decode tokens/s of the same
# ~58M-parameter LLaMA-style model, batch 1, 128-token prompt, 128 new tokens.
#
# The machine is shared: the script waits (up to WAIT seconds) for the 1-minute load average to
# drop below MAX_LOAD, then runs both benchmarks RUNS times, alternating, and prints every line
# plus the median of each figure and the peftcpp / PyTorch ratios.
#
# Usage: scripts/bench_generate.sh [build-dir]
#   env: RUNS=3 REPEATS=3 MAX_LOAD=0.5 WAIT=600 PROMPT=128 NEW=128 OMP_NUM_THREADS=2
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib/deps.sh
source "$root/scripts/lib/deps.sh"
ensure_packages python3-torch  # the PyTorch anchor
build="${1:-$root/build}"
case "$build" in /*) ;; *) build="$root/$build" ;; esac
runs=${RUNS:-3}
repeats=${REPEATS:-3}
max_load=${MAX_LOAD:-0.5}
wait_s=${WAIT:-600}
prompt=${PROMPT:-128}
new=${NEW:-128}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
export MALLOC_MMAP_THRESHOLD_=1000000000 MALLOC_TRIM_THRESHOLD_=1000000000

if [[ ! -f "$build/build.ninja" ]]; then meson setup "$build" "$root" --buildtype=release >/dev/null; fi
ninja -C "$build" -j"${JOBS:-2}" bench/generate/bench_generate >/dev/null
bin="$build/bench/generate/bench_generate"
ref="$root/bench/reference/generate.py"

load1() { cut -d' ' -f1 /proc/loadavg; }
waited=0
while awk -v l="$(load1)" -v m="$max_load" 'BEGIN { exit !(l > m) }'; do
  if (( waited >= wait_s )); then echo "# still busy after ${wait_s}s (load $(load1)); measuring anyway"; break; fi
  sleep 10; waited=$((waited + 10))
done
echo "# load before: $(load1)  threads: $OMP_NUM_THREADS  runs: $runs  prompt: $prompt  new: $new"
ours="" theirs=""
for _ in $(seq "$runs"); do
  o=$("$bin" "$repeats" "$prompt" "$new"); echo "peftcpp: $o" | grep -v '^#' | sed 's/^/  /'
  t=$(/usr/bin/python3 "$ref" "$repeats" "$prompt" "$new"); echo "pytorch: $t" | sed 's/^/  /'
  ours+="$o"$'\n'; theirs+="$t"$'\n'
done
echo "# load after: $(load1)"
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for phase in prefill decode; do
  a=$(echo "$ours" | awk -v p="$phase" '$1 == "generate" && $2 == p { print $3 }' | median)
  b=$(echo "$theirs" | awk -v p="$phase" '$1 == "generate" && $2 == p { print $3 }' | median)
  ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')
  echo "median $phase peftcpp $a tokens/s pytorch $b tokens/s ratio $ratio"
done
