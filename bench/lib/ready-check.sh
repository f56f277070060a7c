#!/bin/bash
# The readiness checks of `npm run bench:bootstrap`, the same for the floor and
# for MicroOVN so that both are measured to the same finish line:
#
#   1. NB accepts a write over TLS (ssl:127.0.0.1:6641),
#   2. SB accepts a write over TLS (ssl:127.0.0.1:6642),
#   3. the chassis CHASSIS is registered in SB,
#   4. `ovn-nbctl --wait=hv sync` passes.
#
# usage: ready-check.sh PRIVKEY CERT CACERT CHASSIS   (inside the member's network namespace)
#
# Prints `mark NAME EPOCH_SECONDS` after each step. Gives up after 30 s.
set -euo pipefail
export LC_ALL=C

key=$1 cert=$2 ca=$3 chassis=$4
tls=(-p "$key" -c "$cert" -C "$ca")
nb=(ovn-nbctl --db=ssl:127.0.0.1:6641 --timeout=20 "${tls[@]}")
sb=(ovn-sbctl --db=ssl:127.0.0.1:6642 --timeout=20 "${tls[@]}")
deadline=$((SECONDS + 30))

mark() { echo "mark $1 $EPOCHREALTIME"; }

give_up() {
  echo "ready-check: $1 not reached within 30 s" >&2
  exit 1
}

# Whether something listens on TCP port $1 (reads /proc/net/tcp, no fork). A
# client that finds the port closed would wait out a 1 s reconnect backoff.
listening() {
  local want
  printf -v want '%04X' "$1"
  local _sl local_addr _rem state _rest
  while read -r _sl local_addr _rem state _rest; do
    [[ $state == 0A && ${local_addr#*:} == "$want" ]] && return 0
  done </proc/net/tcp
  return 1
}

wait_listening() {
  until listening "$1"; do
    ((SECONDS < deadline)) || give_up "port $1 listening"
    sleep 0.002
  done
}

wait_listening 6641
"${nb[@]}" set NB_Global . external_ids:bench-probe=1
mark nb_writable

wait_listening 6642
"${sb[@]}" set SB_Global . external_ids:bench-probe=1
mark sb_writable

registered() {
  local names
  names=$("${sb[@]}" --bare --columns=name list Chassis)
  [[ $'\n'$names$'\n' == *$'\n'"$chassis"$'\n'* ]]
}

until registered; do
  ((SECONDS < deadline)) || give_up "chassis $chassis registered"
  sleep 0.005
done
mark chassis

"${nb[@]}" --wait=hv sync
mark synced
