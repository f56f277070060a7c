#!/usr/bin/env bash
# One-step setup on Debian 12: installs OVN and Open vSwitch from Debian and
# our npm dependencies, builds, puts `microovn` and `microovnd` on PATH
# (/usr/local/bin), installs the systemd unit where systemd runs, and
# bootstraps a single-member cluster (unless this machine already is a
# member). Run as root (or with sudo). Extra arguments go to
# `microovn cluster bootstrap`, e.g. --address 192.0.2.10 --name node1.
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
chmod +x dist/cli/main.js dist/daemon/main.js
ln -sf "$PWD/dist/cli/main.js" /usr/local/bin/microovn
ln -sf "$PWD/dist/daemon/main.js" /usr/local/bin/microovnd

if [[ -d /run/systemd/system ]]; then
  install -m 0644 systemd/microovnd.service /etc/systemd/system/microovnd.service
  systemctl daemon-reload
  systemctl enable --now microovnd
fi

if microovn status | grep -q '^MicroOVN deployment summary:'; then
  echo "This machine is already a MicroOVN member:"
else
  microovn cluster bootstrap "$@"
fi
microovn status
