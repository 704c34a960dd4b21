#!/usr/bin/env bash
# Installs what tscompose needs on a fresh Debian 12 machine: the Debian
# packages its engine, tests and benchmarks use, and the npm packages.
# Idempotent and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  runc conmon iptables iproute2 busybox-static   # the embedded engine and its test images
  docker-registry skopeo umoci                    # a real local registry and independent checks
  docker-compose                                  # the peer that conformance tests and benches compare with
  attr kmod tmux redis-server openssl
  tini                                            # init: true (docker-init is the same program)
  docker.io                                       # a real dockerd: save/load interop tests and the pull bench peer
  python3.11 python3-pip-whl                      # the python base image of the awesome-compose build: samples (test/fixtures/python.ts)
)
missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The .debs the awesome-compose python samples' wheels are repacked from
# (the WHEELS table of test/fixtures/python.ts): fetched here, not by the
# tests, which may reach nothing but loopback and their own namespaces.
TEST_DEBS_DIR="${TSCOMPOSE_TEST_DEBS:-/var/cache/tscompose-test/debs}"
mapfile -t wheel_debs < <(grep -oP '\{ deb: "\K[^"]+' test/fixtures/python.ts)
missing_debs=()
for p in "${wheel_debs[@]}"; do
  compgen -G "$TEST_DEBS_DIR/${p}_*.deb" >/dev/null || missing_debs+=("$p")
done
if ((${#missing_debs[@]})); then
  echo "fetching test .debs: ${missing_debs[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO mkdir -p "$TEST_DEBS_DIR"
  # A fresh machine may have no package lists yet: update once, then retry.
  (cd "$TEST_DEBS_DIR" && $SUDO apt-get download -qq "${missing_debs[@]}") 2>/dev/null ||
    { $SUDO apt-get update -qq && (cd "$TEST_DEBS_DIR" && $SUDO apt-get download -qq "${missing_debs[@]}"); }
fi

# The lockfile lists every platform's optional packages (rollup's native
# builds), so `npm install` here leaves it as committed and `npm ci` works.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-fund --no-audit --loglevel=error
fi
npm run --silent build
