#!/usr/bin/env bash
# From a fresh Debian 12 machine: install the packages, build, and start the node on its
# embedded defaults (HTTP on :8080, ledger and files under ./data). Extra arguments go to the node.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
exec build/release/bin/omnicast "$@"
