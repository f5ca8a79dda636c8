#!/usr/bin/env bash
# Installs every Debian 12 package omnicast builds, tests and benchmarks with. Idempotent: when
# everything is already installed it only checks and exits. Run as root or with sudo available.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git clang libclang-rt-14-dev
  # libraries (DESIGN.md §1)
  libboost-dev libboost-program-options-dev libssl-dev liblmdb-dev libmsgpack-cxx-dev
  libspdlog-dev libfmt-dev nlohmann-json3-dev
  # the Stage: packager and recorder (libavformat), snapshots (libavcodec decode + mjpeg, libswscale)
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
  # the SFU: ICE-lite (libnice, GLib), SRTP (libsrtp2); DTLS is libssl-dev above
  libnice-dev libglib2.0-dev libsrtp2-dev
  # tests and benchmarks: ffmpeg/ffprobe publish and read streams, Chromium plays them (hls.js)
  ffmpeg chromium
  # WebRTC peers for the SFU tests and benchmark (aiortc: VP8, H.264, Opus), iproute2 for netns
  python3-aiortc python3-av python3-websockets iproute2
  libgtest-dev libgmock-dev libbenchmark-dev python3 curl
  # tools: mdb_copy / mdb_stat for ledger backups, promtool to check /metrics
  lmdb-utils prometheus
  # the e2e suite's clients (tests/e2e, Node.js >= 18; npm comes with it or below)
  nodejs
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm packages, pinned by each directory's package-lock.json: the e2e suite's clients
# (tests/e2e) and hls.js, which the node serves to the Stage page (web/). Each is reinstalled only
# when its lock file changed since the last install.
install_npm_packages() {
  if ! command -v npm >/dev/null; then
    echo "install-deps: installing npm"
    $SUDO apt-get install -y -qq --no-install-recommends npm
  fi
  local dir marker
  for dir in tests/e2e web; do
    marker=$dir/node_modules/.omnicast-installed-lock
    if cmp -s "$dir/package-lock.json" "$marker"; then
      echo "install-deps: npm packages of $dir present"
      continue
    fi
    echo "install-deps: npm ci in $dir"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
    cp "$dir/package-lock.json" "$marker"
  done
}

cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  install_npm_packages
  exit 0
fi

if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
  echo "install-deps: run as root or install sudo" >&2
  exit 1
fi

prometheus_was_installed=0
dpkg-query -W -f='${Status}' prometheus 2>/dev/null | grep -q "install ok installed" && prometheus_was_installed=1

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

# We only want promtool from the prometheus package; do not leave a Prometheus server running
# on a machine that did not have one.
if [ "$prometheus_was_installed" -eq 0 ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
install_npm_packages
echo "install-deps: done"
