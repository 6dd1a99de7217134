# Sourced by scripts/test.sh and scripts/e2e.sh: apt_install PACKAGE BINARY
# installs Debian's PACKAGE (without recommended extras) when BINARY is
# missing, as root on a machine with apt-get; otherwise it fails saying
# what to install.
apt_install() {
  local package="$1" binary="$2"
  [ -x "$binary" ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "$binary is missing: install Debian's $package package (apt-get install $package)" >&2
    return 2
  fi
  echo "installing Debian's $package package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "$package" >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "$package" >/dev/null; } \
    || { echo "apt-get could not install $package" >&2; return 2; }
}
