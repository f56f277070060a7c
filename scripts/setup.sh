#!/usr/bin/env bash
# One-step setup on Debian 12: installs OVN and Open vSwitch from Debian, our
# npm dependencies, builds, and runs the main job (for now a tour of the OVSDB
# client against a real OVN Northbound database). Run as root (or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) -ne 0 ]]; then
  echo "setup.sh installs Debian packages: run it as root, e.g. sudo $0" >&2
  exit 1
fi
if ! command -v node >/dev/null || ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
  echo "Node.js 20 or newer is needed (found: $(node --version 2>/dev/null || echo none)). Install it, then run $0 again." >&2
  exit 1
fi

bash scripts/install-debian-packages.sh
npm ci --no-audit --no-fund
npm run build
npm run demo
