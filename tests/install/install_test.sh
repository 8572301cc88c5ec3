#!/usr/bin/env bash
# Installs peftcpp into a temporary prefix and builds a tiny downstream Meson project against it
# with dependency('peftcpp'), then runs it.
set -euo pipefail
BUILD="$1"
SRC="$2"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

meson install -C "$BUILD" --no-rebuild --destdir "$TMP/stage" --quiet >/dev/null
PREFIX="$(meson introspect "$BUILD" --buildoptions | python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')"
STAGED="$TMP/stage$PREFIX"
PC="$(find "$STAGED" -name peftcpp.pc | head -n1)"
[ -n "$PC" ] || { echo "install_test: peftcpp.pc was not installed" >&2; exit 1; }
# point the staged .pc at the staged prefix
sed -i "s|^prefix=.*|prefix=$STAGED|" "$PC"
LIBDIR="$(dirname "$(dirname "$PC")")"

# public headers must compile without Eigen, CUDA or nlohmann on the include path
if grep -rEl '#include <(Eigen|cuda|cublas|cudnn|nlohmann|omp\.h)' "$STAGED/include/peftcpp" >/dev/null; then
  echo "install_test: an installed header includes a private dependency:" >&2
  grep -rEn '#include <(Eigen|cuda|cublas|cudnn|nlohmann|omp\.h)' "$STAGED/include/peftcpp" >&2
  exit 1
fi

cp -r "$SRC/tests/install/downstream" "$TMP/downstream"
# The README's C++ quick start, compiled and run as a second downstream program.
python3 - "$SRC/README.md" "$TMP/downstream/quickstart.cpp" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"<!-- quickstart -->\s*```cpp\n(.*?)```\s*<!-- /quickstart -->", text, re.S)
if not m:
    sys.exit("install_test: README.md has no quickstart block")
open(sys.argv[2], "w").write(m.group(1))
PY
export PKG_CONFIG_PATH="$(dirname "$PC")"
meson setup "$TMP/downstream/build" "$TMP/downstream" >/dev/null
ninja -C "$TMP/downstream/build" >/dev/null
LD_LIBRARY_PATH="$LIBDIR" "$TMP/downstream/build/downstream"
(cd "$TMP" && LD_LIBRARY_PATH="$LIBDIR" OMP_WAIT_POLICY=passive "$TMP/downstream/build/quickstart")
[ -f "$TMP/my-adapter/adapter_model.safetensors" ] || { echo "install_test: the quick start wrote no adapter" >&2; exit 1; }
