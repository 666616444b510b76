# SPDX-License-Identifier: GPL-2.0
#
# kvmft top-level build. `make` builds the module against the Debian kernel
# headers installed here (not the running kernel), the controller, the BPF
# programs and the selftests. `make check` runs every test; `make demo` the
# lab demonstration. Both install what they need first (`make deps`).

TOP := $(CURDIR)
# KVER: the kernel to build for, boot in the lab (demo, bench) and install
# with DKMS; by default the Debian kernel whose headers linux-headers-amd64
# pulls in, not `uname -r`. A series (KVER=6.12) names Debian's kernel of
# that series. KVERS: the kernels make check, check's DKMS step and the KVM
# selftests cover: KVER if given, else every supported one installed
# (scripts/debian-kver.sh --all; docs/kernels.md).
ifneq ($(filter command line environment,$(origin KVER)),)
KVERS ?= $(KVER)
endif
ifeq ($(findstring -,$(KVER)),)
ifneq ($(KVER),)
override KVER := $(shell $(TOP)/scripts/debian-kver.sh $(KVER))
override KVERS := $(KVER)
endif
endif
KVER ?= $(shell $(TOP)/scripts/debian-kver.sh 2>/dev/null)
KVERS ?= $(shell $(TOP)/scripts/debian-kver.sh --all 2>/dev/null)
KDIR ?= /lib/modules/$(KVER)/build
export KVER KVERS KDIR TOP

PACKAGE_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' $(TOP)/dkms.conf)

.PHONY: all module ctl bpf selftests deps check demo install dkms-install \
	dkms-check unit clean bench help deps-debug debug-kernel check-debug \
	check-pair

all: module bpf ctl selftests

help:
	@echo "make            build kvmft.ko, ftd, ftctl, BPF objects, selftests"
	@echo "make deps       install the Debian packages build, lab and tests need"
	@echo "make check      run every test (unit, DKMS, lab); ends 'N passed, N failed, N skipped'"
	@echo "make check-debug  make check's tests under a KASAN/lockdep/kmemleak kernel built here"
	@echo "make check-pair  ftd between two lab guests as hosts: host kills, network cuts, arbitration races"
	@echo "make demo       boot the lab and run the record/replay demonstration"
	@echo "make bench      failover times and logging bandwidth of ftd; what kvmft costs a VM in the lab"
	@echo "make install    install ftd, ftctl, the ftd systemd unit and man pages"
	@echo "make dkms-install  add, build and install the module with DKMS for KVER"
	@echo "variables: KVER=$(KVER) KDIR=$(KDIR) KVERS='$(KVERS)'"

module:
	@test -n "$(KVER)" -a -d "$(KDIR)" || { echo "error: kernel headers for KVER='$(KVER)' not found at '$(KDIR)'; run 'make deps'" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(TOP) W=1 modules

bpf:
	$(MAKE) -C bpf

ctl: bpf
	$(MAKE) -C ctl

selftests:
	$(MAKE) -C selftests

deps:
	$(TOP)/scripts/deps.sh

unit: ctl
	$(MAKE) -C ctl test

dkms-install dkms-check: module
	$(TOP)/scripts/dkms.sh $(if $(filter dkms-check,$@),--tap,)

check: deps
	$(TOP)/scripts/check.sh

# Not part of `make check` or CI: builds a debug kernel (tens of minutes
# once, cached in build/debug-kernel/) and runs check.sh's pipeline on it.
deps-debug:
	$(TOP)/scripts/deps-debug.sh

debug-kernel: deps deps-debug
	$(TOP)/scripts/debug-kernel.sh build

check-debug: deps deps-debug
	$(TOP)/scripts/check-debug.sh

# Not part of `make check` yet (its 20 host kills, 20 cuts and 100 races
# took 23 minutes on 2 cores): two lab guests as the two hosts of a pair, with
# the DKMS module of KVER (run `make dkms-install` first).
check-pair: deps all
	$(TOP)/lab/tests/pair_test.sh

demo: deps
	$(TOP)/scripts/demo.sh

bench: deps
	$(TOP)/scripts/bench.sh

install: ctl
	$(MAKE) -C ctl install

clean:
	-$(MAKE) -C $(KDIR) M=$(TOP) clean
	$(MAKE) -C ctl clean
	$(MAKE) -C bpf clean
	$(MAKE) -C selftests clean
	rm -rf build
