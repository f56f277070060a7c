#!/usr/bin/env bash
# One-step setup on Debian 12, as root, from a clone of this repository:
#  - installs OVN and Open vSwitch from Debian, builds MicroOVN and installs
#    it in /usr/local/lib/microovn (with its production npm dependencies),
#    `microovn` and `microovnd` in /usr/local/bin: the clone can go afterwards;
#  - where systemd runs: stops and masks Debian's own OVS/OVN units (its
#    packages start and enable them on install; a machine runs one OVS/OVN,
#    ours), installs microovnd.service, enables it and (re)starts it — it
#    returns once the daemon listens (Type=notify) — so the member comes back
#    by itself after a reboot;
#  - bootstraps a single-member cluster unless this machine is a member
#    already (extra arguments go to `microovn cluster bootstrap`, e.g.
#    --address 192.0.2.10 --name node1), waits until it is up, and prints
#    `microovn status`.
# Running it again is safe: it installs the new build and restarts the daemon
# (the OVN processes keep running and are adopted).
set -euo pipefail
cd "$(dirname "$0")/.."

PREFIX=/usr/local/lib/microovn
BIN=/usr/local/bin
UNIT=/etc/systemd/system/microovnd.service
STATE_DIR=/var/lib/microovn
# Debian's OVS/OVN units, chassis first so nothing is left talking to a
# stopped switch (src/host/foreign-ovs.ts names the same, by package).
DISTRO_UNITS=(ovn-host ovn-controller ovn-central ovn-northd ovn-ovsdb-server-nb
  ovn-ovsdb-server-sb openvswitch-switch ovs-vswitchd ovsdb-server)
# What systemd gives its services (microovnd.service runs `node` from it).
SYSTEMD_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

say() { echo "setup: $*"; }
fail() {
  echo "setup: $*" >&2
  exit 1
}

[[ $(id -u) -eq 0 ]] || fail "run it as root (it installs Debian packages and a systemd unit): ./scripts/setup.sh in a root shell"
if ! command -v node >/dev/null || ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
  fail "Node.js 20 or newer is needed (found: $(node --version 2>/dev/null || echo none)). Install it, then run $0 again."
fi
SYSTEMD=
[[ -d /run/systemd/system ]] && SYSTEMD=yes
if [[ -n $SYSTEMD ]] && ! PATH=$SYSTEMD_PATH command -v node >/dev/null; then
  fail "microovnd.service runs node from systemd's PATH ($SYSTEMD_PATH), which has none; install Node.js 20 there (e.g. /usr/local/bin/node), then run $0 again."
fi

bash scripts/install-debian-packages.sh
npm ci --no-audit --no-fund
npm run build

# The installation: a copy of the build with its production dependencies,
# put in place whole (the previous one goes only once the new one is there).
stage=$(mktemp -d "$(dirname "$PREFIX")/.microovn-XXXXXX")
trap 'rm -rf "$stage"' EXIT
cp -r dist schemas package.json package-lock.json "$stage/"
(cd "$stage" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
chmod 0755 "$stage" "$stage/dist/cli/main.js" "$stage/dist/daemon/main.js"
rm -rf "$PREFIX.old"
[[ -e $PREFIX ]] && mv "$PREFIX" "$PREFIX.old"
mv "$stage" "$PREFIX"
trap - EXIT
rm -rf "$PREFIX.old"
ln -sfn "$PREFIX/dist/cli/main.js" "$BIN/microovn"
ln -sfn "$PREFIX/dist/daemon/main.js" "$BIN/microovnd"
say "installed MicroOVN in $PREFIX; microovn and microovnd in $BIN"

if [[ -n $SYSTEMD ]]; then
  # States first: stopping one unit stops others of its package.
  declare -A was
  for unit in "${DISTRO_UNITS[@]}"; do
    was[$unit]="$(systemctl show --property=LoadState --value "$unit.service") $(systemctl is-active "$unit.service" || true)"
  done
  for unit in "${DISTRO_UNITS[@]}"; do
    read -r load active <<<"${was[$unit]}"
    [[ $load == not-found || ($load == masked && $active != active) ]] && continue
    systemctl mask --now --quiet "$unit.service"
    say "stopped and masked Debian's $unit.service (it was $active)"
  done
  # Debian's Open vSwitch, stopped, leaves its kernel datapath (on kernels
  # with the module); ours makes its own. Only when no ovs-vswitchd runs, so
  # never one of ours.
  if grep -q '^ *ovs-system:' /proc/net/dev && ! pgrep -x ovs-vswitchd >/dev/null; then
    ovs-dpctl del-dp system@ovs-system
    say "deleted the kernel datapath (ovs-system) Debian's Open vSwitch left behind"
  fi
  # A daemon for this state dir outside the unit (started by hand or by an
  # older microovn) would make the unit's daemon give up: let the unit run it.
  pid=$(cat "$STATE_DIR/run/microovnd.pid" 2>/dev/null || true)
  if [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == microovnd ]] &&
    ! grep -q '/microovnd\.service' "/proc/$pid/cgroup"; then
    kill "$pid"
    for _ in $(seq 1 300); do [[ -e /proc/$pid ]] || break; sleep 0.1; done
    say "stopped microovnd (pid $pid), which ran outside systemd; its OVN processes keep running for the unit's daemon"
  fi
  install -m 0644 systemd/microovnd.service "$UNIT"
  systemctl daemon-reload
  systemctl enable --quiet microovnd.service
  # restart: a new build is picked up; returns once the daemon listens.
  systemctl restart microovnd.service
  say "microovnd.service installed, enabled and running"
else
  say "systemd is not running here: no unit installed and Debian's OVS/OVN services left alone; microovn starts microovnd when a command needs it"
fi

if [[ -f $STATE_DIR/data/member.json ]]; then
  say "this machine is already a MicroOVN member: not bootstrapping"
else
  "$BIN/microovn" cluster bootstrap "$@"
fi
"$BIN/microovn" waitready --timeout 120
"$BIN/microovn" status
