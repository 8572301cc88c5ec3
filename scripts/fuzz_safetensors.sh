#!/usr/bin/env bash
# Builds the safetensors libFuzzer target with clang (ASan + UBSan) and runs it for a fixed
# number of iterations on the seed corpus. Exit status: 0 = no finding, 1 = crash/sanitizer
# report/build failure, 77 = skipped (no clang++ or no libFuzzer runtime; Meson reports "SKIP").
#
# usage: scripts/fuzz_safetensors.sh [SOURCE_ROOT] [BUILD_DIR] [RUNS]
# env:   PEFTCPP_FUZZ_RUNS (default 100000, ~10 s), PEFTCPP_FUZZ_REQUIRED=1 (missing clang is an error),
#        FUZZ_CXX (default clang++), PEFTCPP_FUZZ_ARGS (extra libFuzzer flags, e.g. -max_total_time=600)
#
# The parser is compiled from source here (Meson cannot mix compilers in one project); it only
# needs tensor/dtype.cpp and nlohmann/json besides io/safetensors.
set -euo pipefail

src=$(cd "${1:-$(dirname "$0")/..}" && pwd)
out=${2:-$src/build-fuzz}
runs=${3:-${PEFTCPP_FUZZ_RUNS:-100000}}
cxx=${FUZZ_CXX:-clang++}
skip=77
[[ "${PEFTCPP_FUZZ_REQUIRED:-0}" == 1 ]] && skip=1

mkdir -p "$out"
if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "fuzz_safetensors: $cxx not found; skipping"
  exit $skip
fi
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' \
  > "$probe_dir/probe.cpp"
if ! "$cxx" -fsanitize=fuzzer,address,undefined "$probe_dir/probe.cpp" -o "$probe_dir/probe" 2>/dev/null; then
  echo "fuzz_safetensors: $cxx cannot link -fsanitize=fuzzer (install libclang-rt-dev); skipping"
  exit $skip
fi

sources=(
  fuzz/safetensors_fuzz.cpp
  io/safetensors/byte_source.cpp io/safetensors/describe.cpp io/safetensors/errors.cpp
  io/safetensors/json_parse.cpp io/safetensors/reader.cpp io/safetensors/st_dtype.cpp
  io/safetensors/writer.cpp io/atomic_file.cpp tensor/dtype.cpp
)
bin="$out/safetensors_fuzz"
stale=0
[[ -x "$bin" ]] || stale=1
if [[ $stale == 0 ]]; then
  for f in "${sources[@]}" io/safetensors/*.h io/atomic_file.h tensor/dtype.h tensor/error.h; do
    [[ "$src/$f" -nt "$bin" ]] && stale=1 && break
  done
fi
if [[ $stale == 1 ]]; then
  echo "fuzz_safetensors: building $bin"
  (cd "$src" && "$cxx" -std=c++20 -O1 -g -fno-omit-frame-pointer \
      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
      -Wall -Wextra -I. "${sources[@]}" -o "$bin.tmp")
  mv "$bin.tmp" "$bin"
fi

# New inputs go to a scratch directory (first corpus dir); the seed corpus stays untouched.
work="$out/fuzz-work"
rm -rf "$work" && mkdir -p "$work/new" "$work/artifacts"
echo "fuzz_safetensors: $runs runs on $src/fuzz/corpus/safetensors"
set +e
ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$bin" -runs="$runs" -seed=1 -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -dict="$src/fuzz/safetensors.dict" -artifact_prefix="$work/artifacts/" ${PEFTCPP_FUZZ_ARGS:-} \
  "$work/new" "$src/fuzz/corpus/safetensors" 2>&1 | tail -n 40
rc=${PIPESTATUS[0]}
set -e
if [[ $rc != 0 ]]; then
  echo "fuzz_safetensors: FAILED (exit $rc); reproducer(s) in $work/artifacts/:"
  ls -l "$work/artifacts/"
  exit 1
fi
echo "fuzz_safetensors: OK"
