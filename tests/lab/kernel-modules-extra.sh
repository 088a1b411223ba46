#!/bin/sh
# Modules a case's emulated devices need that the shared initramfs leaves
# out (tests/lab/kernel-distro.sh keeps a short list of the ~4000 distro
# modules), as one more cpio appended to that case's initrd only: the
# image of the other cases, and every cache key they use, stay as they are.
#
# Usage: kernel-modules-extra.sh KERNEL_ENV_FILE OUT MODULE...
#   KERNEL_ENV_FILE  KEY=VALUE output of kernel-distro.sh / kernel-test.sh
#   OUT              the compressed newc cpio to write
#   MODULE           module names (their dependency closure is added)
#
# distro kernel: the image package (linux-image-KVER-unsigned) is
# downloaded again with `apt-get download` into the cache folder
# distro-extra-<abi>-<key> (key: the package version, the modules asked
# for, this script), the closure of MODULE... minus what the shared image
# already has is decompressed there, and the package tree is deleted.
# test and modern kernels: their modules come from their own build; a
# MODULE they lack is an error (their configuration has no such driver).
#
# In the guest the modules land under /usr/lib/modules/KVER/ at their
# usual paths, with /etc/vfiod-lab-depmod: tests/vm/guest/guest-init then
# runs depmod once, so modules.dep and modules.alias cover the shared
# image's modules, the project's variants (extra/) and these alike.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lab-lib.sh"

[ $# -ge 3 ] || lab_die "usage: $0 KERNEL_ENV_FILE OUT MODULE..."
kenv=$1
cpio_out=$2
shift 2
want=$(printf '%s\n' "$@" | LC_ALL=C sort -u | tr '\n' ' ')

KVER='' MODDIR='' FLAVOUR=''
. "$kenv"
[ -n "$KVER" ] && [ -d "$MODDIR" ] || lab_die "$kenv: KVER/MODDIR missing"

# has_module DIR NAME: DIR (a modules tree) has NAME (- and _ alike)
has_module() {
	_n=$(echo "$2" | tr - _)
	find "$1" \( -name "$_n.ko" -o -name "$(echo "$_n" | tr _ -).ko" \
		-o -name "$_n.ko.xz" -o -name "$(echo "$_n" | tr _ -).ko.xz" \) | grep -q .
}

if [ "$FLAVOUR" != distro ]; then
	for m in $want; do
		has_module "$MODDIR" "$m" || grep -q "/$(echo "$m" | tr - _).ko\$" "$MODDIR/modules.builtin" 2>/dev/null ||
			lab_die "the $FLAVOUR kernel ($KVER) has no module $m"
	done
	extra_root=""
else
	abi=${KVER%-amd64}
	image_pkg=linux-image-$KVER-unsigned
	pkgver=$(apt-cache show --no-all-versions "$image_pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -n1)
	[ -n "$pkgver" ] || lab_die "$image_pkg not found by apt-cache"
	key=$(lab_hash "$image_pkg" "$pkgver" "$want" -- "$0" "$here/lab-lib.sh")
	out=$LAB_CACHE/distro-extra-$abi-$key
	if [ ! -f "$out/done" ]; then
		lab_lock "$LAB_CACHE/locks/distro-extra-$abi-$key.lock"
	fi
	if [ ! -f "$out/done" ]; then
		rm -rf "$out"
		mkdir -p "$out/debs" "$out/full" "$out/root"
		chmod 0777 "$out/debs" # apt-get download fetches as _apt
		lab_log "fetching $image_pkg ($pkgver) for the modules $want"
		(cd "$out/debs" && apt-get download -q "$image_pkg") >"$out/prepare.log" 2>&1 ||
			{ tail -n 20 "$out/prepare.log" >&2; lab_die "apt-get download $image_pkg failed"; }
		dpkg-deb -x "$out"/debs/*.deb "$out/full"
		depmod -b "$out/full" "$KVER"
		for m in $want; do
			modprobe -d "$out/full" -S "$KVER" --show-depends "$m" >"$out/deps" ||
				lab_die "$image_pkg has no module $m"
			while read -r kind path _; do
				[ "$kind" = insmod ] || continue
				rel=${path#"$out/full/lib/modules/$KVER/"}
				rel=${rel%.xz}
				# already in the shared image: not twice
				[ -f "$MODDIR/$rel" ] && continue
				mkdir -p "$(dirname "$out/root/$rel")"
				xz -dc "$path" >"$out/root/$rel"
			done <"$out/deps"
		done
		rm -rf "$out/debs" "$out/full" "$out/deps"
		touch "$out/done"
	fi
	lab_unlock
	extra_root=$out/root
fi

fp=$({
	cat "$kenv" "$0" "$here/lab-lib.sh"
	echo "$want"
	[ -z "$extra_root" ] || find "$extra_root" -type f -printf '%p %s\n' | LC_ALL=C sort
} | sha256sum | cut -d' ' -f1)
if [ -f "$cpio_out" ] && [ "$(cat "$cpio_out.fingerprint" 2>/dev/null)" = "$fp" ]; then
	exit 0
fi

stage=$(mktemp -d "${cpio_out}.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/usr/lib/modules/$KVER" "$stage/etc"
[ -z "$extra_root" ] || cp -R "$extra_root/." "$stage/usr/lib/modules/$KVER/"
echo "$want" >"$stage/etc/vfiod-lab-depmod"

if command -v zstd >/dev/null 2>&1; then
	compress="zstd -q -3 -T0"
else
	compress="gzip -1"
fi
tmp=$cpio_out.tmp.$$
# usr/lib/modules/KVER itself is already in the image: only the files and
# the folders below it that are new
(cd "$stage" && find . -mindepth 1 ! -path ./usr ! -path ./usr/lib ! -path ./usr/lib/modules \
	! -path "./usr/lib/modules/$KVER" | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
	$compress >"$tmp"
mv "$tmp" "$cpio_out"
echo "$fp" >"$cpio_out.fingerprint"
lab_log "extra modules for $KVER ($want): $cpio_out, $(du -k "$cpio_out" | cut -f1) KiB"
