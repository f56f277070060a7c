#!/usr/bin/env bash
# What only the tests need, from Debian: a real Keystone (python3-keystone)
# for the OpenStack API's keystone plugin test, a browser (chromium) for the
# web dashboard's test, and promtool (prometheus) to check the metrics and
# alert rules. scripts/test.sh runs this when one is missing and it runs as
# root; otherwise those tests skip and say why. Never part of an
# installation (setup.sh).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(python3-keystone chromium prometheus)
# Debian's prometheus package would start a Prometheus server on machines
# with systemd: the tests need only its promtool.
policy=/usr/sbin/policy-rc.d
placed=
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && placed=yes
fi
trap '[[ -n $placed ]] && rm -f "$policy"' EXIT
if ! apt-get install -y -q --no-install-recommends "${packages[@]}"; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${packages[@]}"
fi
