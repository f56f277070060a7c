#!/usr/bin/env bash
# What only the tests need, from Debian: a real Keystone (python3-keystone)
# for the OpenStack API's keystone plugin test. scripts/test.sh runs this
# when Keystone is missing and it runs as root; otherwise that one test
# skips and says why. Never part of an installation (setup.sh).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends python3-keystone; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends python3-keystone
fi
