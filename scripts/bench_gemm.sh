#!/usr/bin/env bash
# Builds bench/gemm when needed and runs it: float32 GEMM GFLOP/s of peftcpp next to OpenBLAS.
#
#   scripts/bench_gemm.sh [--threads N] [--reps N] [--only "MxKxN[ NT|TN]"]...
#   BUILD_DIR=build-foo scripts/bench_gemm.sh      # another build directory (default: build)
#
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset for the benchmark command only: set to
# Haswell, they make OpenBLAS ~1.8x slower on AVX-512 CPUs and the comparison meaningless.
# Another build on the same cores skews the numbers: the load average is printed first.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-build}"
case "$build" in /*) ;; *) build="$root/$build" ;; esac

if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$root" >/dev/null
fi
ninja -C "$build" -j"${JOBS:-2}" bench/gemm >/dev/null

echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$build/bench/gemm" "$@"
