#!/usr/bin/env bash
# Runs the test suite with Node's test runner. Usage: scripts/test.sh [unit|integration|cluster|host|all]
# Test files are listed explicitly: Node 20's runner does not expand globs.
set -euo pipefail
cd "$(dirname "$0")/.."
layer="${1:-all}"
files=()
if [[ "$layer" == unit || "$layer" == all ]]; then
  files+=(test/unit/*.test.ts)
fi
if [[ "$layer" == integration || "$layer" == all ]]; then
  files+=(test/integration/*.test.ts)
fi
if [[ "$layer" == cluster || "$layer" == all ]]; then
  # Several members in the lab, one network namespace each.
  files+=(test/cluster/*.test.ts)
fi
if [[ "$layer" == host || "$layer" == all ]]; then
  # The README's set-up on a fresh Debian 12 with systemd as PID 1, in a
  # container (../shared/tools/fresh-debian); skipped when none can boot.
  files+=(test/host/*.test.ts)
fi
if [[ "$layer" != unit && "$layer" != host ]]; then
  # Member tests run the built CLI and daemon, as a user would.
  npm run --silent build
fi
exec node --import tsx --test --test-reporter=spec "${files[@]}"
