#!/usr/bin/env bash
# Element-wise / softmax bandwidth against memcpy (bench/elementwise). The machine is shared, so
# the script waits (up to WAIT seconds) for the 1-minute load average to drop below MAX_LOAD,
# then runs the benchmark RUNS times and prints every line plus the median ratio per op.
#
# SIZES lists tensor sizes in MB: 64 (the reference: larger than the 32 MB L3, so memcpy runs at
# DRAM speed) and 4 (cache-resident, where memcpy is ~4x faster and softmax is compute-bound).
#
# Usage: scripts/bench_elementwise.sh [build-dir]
#   env: RUNS=5 THREADS=2 MAX_LOAD=0.5 WAIT=600 SIZES="64 4" PEFTCPP_SIMD=avx512|avx2|scalar
set -euo pipefail
build=${1:-build}
bin="$build/bench/elementwise/bench_elementwise"
runs=${RUNS:-5}
threads=${THREADS:-2}
max_load=${MAX_LOAD:-0.5}
wait_s=${WAIT:-600}
sizes=${SIZES:-64 4}
[[ -x "$bin" ]] || { echo "[bench_elementwise] $bin not built (ninja -C $build bench/elementwise/bench_elementwise)" >&2; exit 1; }

load1() { cut -d' ' -f1 /proc/loadavg; }
waited=0
while awk -v l="$(load1)" -v m="$max_load" 'BEGIN { exit !(l > m) }'; do
  if (( waited >= wait_s )); then echo "# still busy after ${wait_s}s (load $(load1)); measuring anyway"; break; fi
  sleep 10; waited=$((waited + 10))
done
echo "# load before: $(load1)  threads: $threads  runs: $runs  simd: ${PEFTCPP_SIMD:-auto}"
out=$(for _ in $(seq "$runs"); do for mb in $sizes; do "$bin" "$threads" 21 4096 "$mb"; done; done)
echo "$out"
echo "# load after: $(load1)"
for mb in $sizes; do
  if [[ $mb == 64 ]]; then sel='NF == 10'; else sel="\$NF == \"MB)\" && \$(NF-1) == \"($mb\""; fi
  for op in add mul softmax; do
    rows=$(echo "$out" | awk -v op="$op" "\$2 == op && $sel")
    ratios=$(echo "$rows" | awk '{print $10}' | sort -g)
    gbs=$(echo "$rows" | awk '{print $4}' | sort -g)
    mem=$(echo "$rows" | awk '{print $7}' | sort -g)
    n=$(echo "$ratios" | wc -l)
    mid=$(( (n + 1) / 2 ))
    echo "median ${mb}MB $op peftcpp $(echo "$gbs" | sed -n "${mid}p") GB/s memcpy $(echo "$mem" | sed -n "${mid}p")" \
      "GB/s ratio $(echo "$ratios" | sed -n "${mid}p") (ratio min $(echo "$ratios" | head -1)" \
      "max $(echo "$ratios" | tail -1), $n runs)"
  done
done
