#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make demo: build, install the module with DKMS, boot the lab and show the
# record/replay slice there (scripts/demo-guest.sh). Until failover exists
# this is the main job: a VM recorded, another replayed from its log with
# different inputs, a third unattached.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$top"
# shellcheck source=scripts/host-lock.sh
. "$top/scripts/host-lock.sh"
host_lock demo
step() { echo "== demo: $*"; }

step "building kvmft.ko, ftd, ftctl, BPF objects and selftests"
make -s all
step "installing the module with DKMS for $("$top/scripts/debian-kver.sh")"
scripts/dkms.sh
step "booting the lab (Debian kernel under QEMU TCG with nested SVM)"
exec lab/run --out "$top/build/demo" -- scripts/demo-guest.sh
