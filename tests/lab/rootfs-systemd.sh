#!/bin/sh
# Prepare a minimal Debian 12 (bookworm) root file system that boots a real
# systemd, for the vm-systemd-boot test: debootstrap --variant=minbase plus
# systemd-sysv, dbus, udev and kmod, trimmed (docs, man pages, locales, apt
# caches) and cached like the lab kernels.
#
# Usage: rootfs-systemd.sh
# Prints ROOTFS=DIR on stdout; progress goes to stderr.
#
# The cache key covers this script, the suite, the mirror and the package
# list; a hit costs nothing, a miss downloads ~60 MB and takes a few
# minutes. Needs root (debootstrap chroots) and network access to the
# mirror ($VFIOD_LAB_MIRROR, default http://deb.debian.org/debian).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lab-lib.sh"

SUITE=bookworm
MIRROR=${VFIOD_LAB_MIRROR:-http://deb.debian.org/debian}
# systemd-sysv: /sbin/init; dbus: the system bus vfiod serves on; udev:
# the device events vfiod's monitor reads; kmod: modules-load.d.
INCLUDE=systemd,systemd-sysv,dbus,udev,kmod

command -v debootstrap >/dev/null 2>&1 || lab_die "debootstrap not installed (tests/setup.sh)"
[ "$(id -u)" -eq 0 ] || lab_die "debootstrap needs root"

key=$(lab_hash "$SUITE" "$MIRROR" "$INCLUDE" -- "$0")
out=$LAB_CACHE/rootfs-systemd-$SUITE-$key

if [ -f "$out/rootfs.env" ]; then
	cat "$out/rootfs.env"
	exit 0
fi
lab_lock "$LAB_CACHE/locks/rootfs-systemd-$SUITE-$key.lock"
if [ -f "$out/rootfs.env" ]; then
	cat "$out/rootfs.env"
	exit 0
fi

start=$(date +%s)
rm -rf "$out"
mkdir -p "$out"
log=$out/debootstrap.log
lab_log "debootstrapping $SUITE (minbase + $INCLUDE) into $out/root"
if ! nice -n 10 debootstrap --variant=minbase --include="$INCLUDE" \
	"$SUITE" "$out/root" "$MIRROR" >"$log" 2>&1; then
	tail -n 30 "$log" >&2
	lab_die "debootstrap failed (log: $log)"
fi

# Trim what a test guest never reads: the image is unpacked into guest RAM.
r=$out/root
rm -rf "$r"/usr/share/doc/* "$r"/usr/share/man/* "$r"/usr/share/info/* \
	"$r"/usr/share/locale/* "$r"/var/cache/apt/archives/*.deb \
	"$r"/var/lib/apt/lists/* "$r"/var/cache/debconf/*-old \
	"$r"/usr/share/zoneinfo/right "$r"/usr/share/zoneinfo/posix
# A root password nobody knows is fine: the guest is driven by units.
echo vfiod-lab >"$r/etc/hostname"

lab_log "rootfs ready in $(( $(date +%s) - start )) s ($(du -sm "$r" | cut -f1) MB)"
echo "ROOTFS=$r" >"$out/rootfs.env.tmp"
mv "$out/rootfs.env.tmp" "$out/rootfs.env"
cat "$out/rootfs.env"
