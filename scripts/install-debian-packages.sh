#!/usr/bin/env bash
# Installs what MicroOVN runs on from Debian: OVN, Open vSwitch, the tools
# the data-plane tests use, and the `openstack` CLI (python3-openstackclient)
# the OpenStack API tests drive. Needs root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q ovn-central ovn-host openvswitch-switch iputils-ping ethtool busybox \
  python3-openstackclient
