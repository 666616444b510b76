#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# debug-kernel.sh build|install|kver
#
# The debug kernel of `make check-debug`: Debian's linux-source-6.1 with
# x86_64_defconfig + kvm_guest.config + lab/debug-kernel.config (KASAN,
# lockdep, kmemleak, debug objects and what kvmft and the lab need), with
# lab/debug-kernel.patch applied (PVH boot with KASAN).
#
#   build    build it in build/debug-kernel/linux unless the cached build's
#            key (the fragment, the patch, the source tarball, this
#            script's KEY_VERSION) still matches; installs its build deps
#            first
#   install  (root) install the build for its release KVER: /boot/vmlinuz-KVER,
#            System.map and config, modules_install into /lib/modules/KVER
#            (debug info stripped, BTF kept) and /lib/modules/KVER/build ->
#            the tree, so out-of-tree modules and DKMS build against it;
#            skipped when that build is installed already
#   kver     print the release of the cached build, e.g. 6.1.192-kvmft-debug
#
# LINUX_SOURCE_TAR overrides the tarball.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd -P)
tar=${LINUX_SOURCE_TAR:-/usr/src/linux-source-6.1.tar.xz}
frag=$top/lab/debug-kernel.config
patch=$top/lab/debug-kernel.patch
dir=$top/build/debug-kernel
tree=$dir/linux
# Bump when the way the kernel is configured or built here changes.
KEY_VERSION=1

say() { echo "debug-kernel: $*" >&2; }
die() { say "$*"; exit 1; }

key() {
	[ -r "$tar" ] || die "$tar not found; run 'make deps'"
	{
		echo "$KEY_VERSION"
		cat "$frag" "$patch"
		sha256sum <"$tar"
	} | sha256sum | cut -d' ' -f1
}

cached() { [ -f "$dir/key" ] && [ "$(cat "$dir/key")" = "$(key)" ] && [ -f "$dir/kver" ]; }

# Every line of the fragment as olddefconfig left it: "CONFIG_X=v" must be
# in .config as is, "# CONFIG_X is not set" must not be set to anything.
check_config() {
	missing=''
	nl='
'
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*)
			grep -qxF -- "$line" "$tree/.config" ||
				missing="$missing$nl${line%%=*} (want ${line#*=}, got $(sed -n "s/^${line%%=*}=//p" "$tree/.config" | grep . || echo unset))"
			;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }
			opt=${opt%% *}
			! grep -q "^$opt=" "$tree/.config" || missing="$missing$nl$opt (want unset)"
			;;
		esac
	done <"$frag"
	[ -z "$missing" ] && return 0
	say "olddefconfig did not keep these options of $frag (unmet dependencies?):"
	echo "$missing" | sed '/^$/d; s/^/  /' >&2
	return 1
}

build() {
	"$top/scripts/deps-debug.sh"
	if cached && [ -f "$tree/arch/x86/boot/bzImage" ]; then
		say "$(cat "$dir/kver") is built already ($tree)"
		return 0
	fi
	k=$(key)
	rm -rf "$tree" "$dir/key" "$dir/kver" "$dir/build-id"
	mkdir -p "$tree"
	say "extracting $tar"
	tar -xf "$tar" -C "$tree" --strip-components=1
	cd "$tree"
	patch -p1 -s <"$patch"
	say "configuring"
	make -s x86_64_defconfig
	scripts/kconfig/merge_config.sh -m .config kernel/configs/kvm_guest.config "$frag" >"$dir/merge.log"
	make -s olddefconfig
	check_config
	say "building with make -j$(nproc) (tens of minutes; log: $dir/build.log)"
	start=$(date +%s)
	if ! make -j"$(nproc)" >"$dir/build.log" 2>&1; then
		tail -n 40 "$dir/build.log" >&2
		die "kernel build failed; see $dir/build.log"
	fi
	kver=$(make -s kernelrelease)
	say "built $kver in $(($(date +%s) - start)) s"
	echo "$kver" >"$dir/kver"
	# Which build is installed: a rebuild from the same key is another one.
	echo "$k $(date +%s.%N)" >"$dir/build-id"
	echo "$k" >"$dir/key"
}

install() {
	cached || die "no up-to-date build; run '$0 build' first"
	[ "$(id -u)" = 0 ] || die "install needs root"
	kver=$(cat "$dir/kver")
	mods=/lib/modules/$kver
	stamp=$mods/.kvmft-debug-key
	if [ -f "/boot/vmlinuz-$kver" ] && [ -L "$mods/build" ] &&
		[ "$(readlink "$mods/build")" = "$tree" ] &&
		[ "$(cat "$stamp" 2>/dev/null)" = "$(cat "$dir/build-id")" ]; then
		say "$kver is installed already"
		return 0
	fi
	say "installing $kver"
	cd "$tree"
	for f in arch/x86/boot/bzImage:vmlinuz System.map:System.map .config:config; do
		cp "${f%%:*}" "/boot/${f#*:}-$kver.tmp"
		mv "/boot/${f#*:}-$kver.tmp" "/boot/${f#*:}-$kver"
	done
	# Modules over 9p load faster without DWARF; --strip-debug keeps .BTF.
	make -s INSTALL_MOD_STRIP=1 modules_install >"$dir/install.log" 2>&1 ||
		{ tail -n 20 "$dir/install.log" >&2; die "modules_install failed"; }
	ln -sfn "$tree" "$mods/build"
	ln -sfn "$tree" "$mods/source"
	cp "$dir/build-id" "$stamp"
	say "installed $kver: /boot/vmlinuz-$kver, $mods"
}

case ${1:-} in
build) build ;;
install) install ;;
kver) cached || die "no up-to-date build"; cat "$dir/kver" ;;
*) echo "usage: $0 build|install|kver" >&2; exit 2 ;;
esac
