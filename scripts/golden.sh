#!/usr/bin/env bash
# Builds (if needed) and runs the golden checker: scripts/golden.sh DIR... [--device cpu|cuda] [--only GLOB]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${PEFTCPP_BUILD_DIR:-$ROOT/build}"
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$ROOT" --buildtype=release >/dev/null
ninja -C "$BUILD" tools/peftcpp-golden >/dev/null
exec "$BUILD/tools/peftcpp-golden" "$@"
