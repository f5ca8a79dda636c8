#!/usr/bin/env bash
# From a fresh Debian 12 machine: install the packages, build, and run the whole test suite —
# the optimised build, the same suite under ASan + UBSan, and the fuzz targets (clang + libFuzzer)
# for a bounded time each. .ci/run runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
scripts/install-deps.sh

step() { printf '\n== %s (%ds)\n' "$1" "$(( $(date +%s) - start ))"; }

step "build: release"
scripts/build.sh release
step "test: release"
ctest --preset release -j2

step "build: asan"
scripts/build.sh asan
step "test: asan"
ctest --preset asan -j2

step "build: fuzz"
scripts/build.sh fuzz
step "test: fuzz"
ctest --preset fuzz

step "all tests passed"
