# Debian packages the build and the test suite need; sourced by scripts/*.sh.
PEFTCPP_DEBIAN_PACKAGES=(
  meson ninja-build pkg-config g++ python3
  libeigen3-dev nlohmann-json3-dev doctest-dev
  libonig-dev libutf8proc-dev
  clang libclang-rt-14-dev
)

ensure_packages() {
  local missing=()
  local p
  for p in "${PEFTCPP_DEBIAN_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  if [ "$(id -u)" -eq 0 ]; then
    echo "peftcpp: installing missing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "peftcpp: missing Debian packages: ${missing[*]}" >&2
    echo "peftcpp: run as root, or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
}
