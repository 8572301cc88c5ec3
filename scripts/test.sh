#!/usr/bin/env bash
# The README's test command: installs missing Debian packages (when root), configures once,
# builds, runs the whole suite, and ends with one line "N passed, N failed, N skipped".
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${PEFTCPP_BUILD_DIR:-$ROOT/build}"
# shellcheck source=scripts/lib/deps.sh
source "$ROOT/scripts/lib/deps.sh"
ensure_packages

if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD" "$ROOT" --buildtype=release
fi
ninja -C "$BUILD"

# meson exits non-zero on any failing test; we still want the summary line, so collect the
# status and decide at the end.
set +e
meson test -C "$BUILD" --no-rebuild --print-errorlogs --num-processes 1 --timeout-multiplier 4 "$@"
meson_status=$?
set -e

python3 "$ROOT/scripts/lib/summarize_tests.py" "$BUILD/meson-logs/testlog.json"
summary_status=$?
if [ "$meson_status" -ne 0 ] || [ "$summary_status" -ne 0 ]; then
  exit 1
fi
