#!/bin/bash
# The floor of `npm run bench:bootstrap`: a single-member, TLS-secured OVN
# brought up by hand with openssl and OVN's own tools, as fast as a shell
# sequence reasonably can, and measured to the same finish line as
# `microovn cluster bootstrap` (bench/lib/ready-check.sh).
#
# usage: floor-bootstrap.sh STATE_DIR   (inside a fresh network namespace whose
#                                        loopback is up: it takes 127.0.0.1:6641-6644)
#
# Every daemon writes STATE_DIR/run/<name>.pid; stopping them is the caller's
# job (ovs-vswitchd first with `ovs-appctl -t STATE_DIR/run/ovs-vswitchd.ctl
# exit --cleanup`). Prints `mark NAME EPOCH_SECONDS` after each stage.
set -euo pipefail
export LC_ALL=C

mark() { echo "mark $1 $EPOCHREALTIME"; }
mark start

dir=$(realpath "$1")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pki=$dir/pki run=$dir/run log=$dir/log db=$dir/db
mkdir -p "$pki" "$run" "$log" "$db"
export OVS_RUNDIR=$run OVN_RUNDIR=$run OVS_LOGDIR=$log OVN_LOGDIR=$log OVS_DBDIR=$db OVN_DBDIR=$db

ip=127.0.0.1
chassis=floor

# ---- certificates: an ECDSA P-384 CA and one certificate per service ------------------

cat >"$pki/openssl.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
[ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[leaf]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = IP:$ip
EOF

p384=(-newkey ec -pkeyopt ec_paramgen_curve:secp384r1 -noenc)

make_certificates() {
  openssl req -config "$pki/openssl.cnf" -x509 "${p384[@]}" -extensions ca -days 3650 \
    -subj /CN=floor-ca -keyout "$pki/ca-key.pem" -out "$pki/ca.pem" 2>/dev/null
  local service
  local -a jobs=()
  for service in ovnnb ovnsb northd controller client; do
    openssl req -config "$pki/openssl.cnf" -x509 "${p384[@]}" -extensions leaf -days 365 \
      -CA "$pki/ca.pem" -CAkey "$pki/ca-key.pem" -subj "/CN=$service" \
      -keyout "$pki/$service-key.pem" -out "$pki/$service-cert.pem" 2>/dev/null &
    jobs+=($!)
  done
  for job in "${jobs[@]}"; do wait "$job"; done
}

tls() { echo "--private-key=$pki/$1-key.pem --certificate=$pki/$1-cert.pem --ca-cert=$pki/ca.pem"; }

# ---- central: NB and SB as one-member Raft clusters, pssl, ovn-northd --------------------

start_db() { # nb|sb  Northbound|Southbound  NB_Global|SB_Global  client-port raft-port
  local name=ovn$1_db
  ovsdb-tool create-cluster "$db/$name.db" "/usr/share/ovn/ovn-$1.ovsschema" "ssl:$ip:$5"
  # shellcheck disable=SC2046
  ovsdb-server --detach --no-chdir -vconsole:err --pidfile="$run/$name.pid" --log-file="$log/$name.log" \
    --unixctl="$run/$name.ctl" --remote="punix:$run/$name.sock" \
    --remote="db:OVN_$2,$3,connections" $(tls "ovn$1") "$db/$name.db"
  "ovn-$1ctl" --db="unix:$run/$name.sock" set-connection "pssl:$4:$ip"
}

# ---- switch: conf.db, br-int, ovs-vswitchd (userspace datapath) --------------------------

start_switch() {
  ovsdb-tool create "$db/conf.db" /usr/share/openvswitch/vswitch.ovsschema
  ovsdb-server --detach --no-chdir -vconsole:err --pidfile="$run/ovsdb-server.pid" \
    --log-file="$log/ovsdb-server.log" --unixctl="$run/ovsdb-server.ctl" \
    --remote="punix:$run/db.sock" "$db/conf.db"
  mark switch_db
  ovs-vsctl --db="unix:$run/db.sock" --no-wait -- init \
    -- set Open_vSwitch . external_ids:system-id=$chassis \
    external_ids:ovn-remote="ssl:$ip:6642" external_ids:ovn-encap-type=geneve \
    external_ids:ovn-encap-ip=$ip external_ids:ovn-bridge-datapath-type=netdev \
    -- add-br br-int -- set Bridge br-int datapath_type=netdev fail_mode=secure
  mark switch_config
  ovs-vswitchd --detach --no-chdir -vconsole:err --pidfile="$run/ovs-vswitchd.pid" \
    --log-file="$log/ovs-vswitchd.log" --unixctl="$run/ovs-vswitchd.ctl" \
    --disable-system "unix:$run/db.sock"
  mark vswitchd
  # ovn-controller started before br-int's OpenFlow socket exists waits out a 1 s reconnect.
  until [[ -S $run/br-int.mgmt ]]; do sleep 0.002; done
}

# The switch needs no certificate: it comes up while openssl works.
start_switch &
switch=$!
make_certificates
mark certificates

start_db nb Northbound NB_Global 6641 6643 &
nbjob=$!
start_db sb Southbound SB_Global 6642 6644 &
sbjob=$!
wait $nbjob
wait $sbjob
mark databases

# shellcheck disable=SC2046
ovn-northd --detach --no-chdir -vconsole:err --pidfile="$run/ovn-northd.pid" --log-file="$log/ovn-northd.log" \
  --unixctl="$run/ovn-northd.ctl" --ovnnb-db="ssl:$ip:6641" --ovnsb-db="ssl:$ip:6642" \
  $(tls northd)
mark northd

wait $switch
mark switch

# ---- chassis: ovn-controller --------------------------------------------------------------

# shellcheck disable=SC2046
ovn-controller --detach --no-chdir -vconsole:err --pidfile="$run/ovn-controller.pid" \
  --log-file="$log/ovn-controller.log" $(tls controller) "unix:$run/db.sock"
mark controller

# ---- the finish line ----------------------------------------------------------------------

"$here/lib/ready-check.sh" "$pki/client-key.pem" "$pki/client-cert.pem" "$pki/ca.pem" $chassis
