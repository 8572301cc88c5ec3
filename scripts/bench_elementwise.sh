#!/usr/bin/env bash
# Element-wise / softmax bandwidth against memcpy (bench/elementwise). The machine is shared, so
# the script waits (up to WAIT seconds) for the 1-minute load average to drop below MAX_LOAD,
# then runs the benchmark RUNS times and prints every line plus the median ratio per op.
#
# Usage: scripts/bench_elementwise.sh [build-dir]   (env: RUNS=5 THREADS=2 MAX_LOAD=0.5 WAIT=600)
set -euo pipefail
build=${1:-build}
bin="$build/bench/elementwise/bench_elementwise"
runs=${RUNS:-5}
threads=${THREADS:-2}
max_load=${MAX_LOAD:-0.5}
wait_s=${WAIT:-600}
[[ -x "$bin" ]] || { echo "[bench_elementwise] $bin not built (ninja -C $build bench/elementwise/bench_elementwise)" >&2; exit 1; }

load1() { cut -d' ' -f1 /proc/loadavg; }
waited=0
while awk -v l="$(load1)" -v m="$max_load" 'BEGIN { exit !(l > m) }'; do
  if (( waited >= wait_s )); then echo "# still busy after ${wait_s}s (load $(load1)); measuring anyway"; break; fi
  sleep 10; waited=$((waited + 10))
done
echo "# load before: $(load1)  threads: $threads  runs: $runs  simd: ${PEFTCPP_SIMD:-auto}"
out=$(for _ in $(seq "$runs"); do "$bin" "$threads"; done)
echo "$out"
echo "# load after: $(load1)"
for op in $(echo "$out" | awk '{print $2}' | sort -u); do
  ratios=$(echo "$out" | awk -v op="$op" '$2 == op {print $10}' | sort -g)
  gbs=$(echo "$out" | awk -v op="$op" '$2 == op {print $4}' | sort -g)
  n=$(echo "$ratios" | wc -l)
  mid=$(( (n + 1) / 2 ))
  echo "median $op peftcpp $(echo "$gbs" | sed -n "${mid}p") GB/s ratio $(echo "$ratios" | sed -n "${mid}p")" \
    "(min $(echo "$ratios" | head -1), max $(echo "$ratios" | tail -1), $n runs)"
done
