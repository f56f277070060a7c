#!/usr/bin/env bash
# Runs the test suite with Node's test runner.
# Usage: scripts/test.sh [unit|integration|cluster|host|all | FILE.test.ts…]
# Test files are listed explicitly: Node 20's runner does not expand globs.
#
# Every test makes its state dirs under one temporary directory of this run
# (TMPDIR), so afterwards any process still carrying it, and any network
# namespace made during the run, is a leak: both are reported and fail the
# run; leaked processes are killed by pid, namespaces are left for a look.
set -euo pipefail
cd "$(dirname "$0")/.."
layer="${1:-all}"
files=()
if [[ $layer == *.test.ts ]]; then
  files=("$@")
  layer=files
fi
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
  # Test-only packages: a real Keystone for the keystone plugin's test,
  # chromium for the dashboard's, promtool for the metrics'.
  if [[ $EUID -eq 0 ]] && { ! python3 -c 'import keystone' 2>/dev/null ||
    ! command -v chromium >/dev/null || ! command -v promtool >/dev/null; }; then
    bash scripts/install-test-packages.sh
  fi
fi

run_dir=$(mktemp -d /tmp/mt.XXXXXX)
namespaces_before=$(ip netns list 2>/dev/null | cut -d' ' -f1 | sort || true)
status=0
TMPDIR=$run_dir node --import tsx --test --test-reporter=spec "${files[@]}" || status=$?

# Processes of this run that outlived it, found by the TMPDIR they inherited
# (never by name; microovnd rewrites its command line).
leaked=()
for proc in /proc/[0-9]*; do
  pid=${proc#/proc/}
  [[ $pid == "$$" ]] && continue
  if grep -qzxF "TMPDIR=$run_dir" "$proc/environ" 2>/dev/null; then
    leaked+=("$pid $(tr '\0' ' ' 2>/dev/null <"$proc/cmdline" | cut -c1-150)")
  fi
done
namespaces_after=$(ip netns list 2>/dev/null | cut -d' ' -f1 | sort || true)
new_namespaces=$(comm -13 <(echo "$namespaces_before") <(echo "$namespaces_after") | grep -v '^$' || true)

if ((${#leaked[@]} > 0)); then
  echo "Leak check: ${#leaked[@]} process(es) of the tests outlived them:" >&2
  printf '  %s\n' "${leaked[@]}" >&2
  for line in "${leaked[@]}"; do kill -KILL "${line%% *}" 2>/dev/null || true; done
  status=1
fi
if [[ -n $new_namespaces ]]; then
  echo "Leak check: network namespaces made during the run are still there:" >&2
  printf '  %s\n' $new_namespaces >&2
  status=1
fi
rm -rf "$run_dir"
exit "$status"
