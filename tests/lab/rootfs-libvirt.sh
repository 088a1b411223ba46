#!/bin/sh
# Prepare a Debian 12 (bookworm) root file system with systemd, a real
# libvirtd (libvirt-daemon-system 9.0) and QEMU (qemu-system-x86 7.2), for
# the libvirt guest tests (tests/vm/runners/run-libvirt-test.sh): debootstrap
# --variant=minbase with the same base packages as rootfs-systemd.sh, then
# apt-get inside the chroot for libvirt and QEMU without recommends (apt
# resolves their alternatives, which debootstrap does not), trimmed, and
# cached like the lab kernels. A separate cache folder from
# rootfs-systemd.sh's: that one's key and contents stay as they are.
#
# Usage: rootfs-libvirt.sh
# Prints ROOTFS=DIR on stdout; progress goes to stderr.
#
# The cache key covers this script, the suite, the mirror and the package
# lists; a hit costs nothing, a miss downloads ~150 MB. Needs root
# (debootstrap and apt in a chroot) and the mirror ($VFIOD_LAB_MIRROR,
# default http://deb.debian.org/debian).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lab-lib.sh"

SUITE=bookworm
MIRROR=${VFIOD_LAB_MIRROR:-http://deb.debian.org/debian}
# the base of rootfs-systemd.sh: PID 1, the system bus, udev, modules-load.d
INCLUDE=systemd,systemd-sysv,dbus,udev,kmod
# libvirtd with its QEMU driver and virsh; the emulator with SeaBIOS.
# iptables is the first alternative libvirt-daemon-system accepts; procps
# gives the tests pgrep/ps.
PACKAGES="libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu qemu-system-x86 iptables procps"

command -v debootstrap >/dev/null 2>&1 || lab_die "debootstrap not installed (tests/setup.sh)"
[ "$(id -u)" -eq 0 ] || lab_die "debootstrap needs root"

key=$(lab_hash "$SUITE" "$MIRROR" "$INCLUDE" "$PACKAGES" -- "$0")
out=$LAB_CACHE/rootfs-libvirt-$SUITE-$key

if [ -f "$out/rootfs.env" ]; then
	cat "$out/rootfs.env"
	exit 0
fi
lab_lock "$LAB_CACHE/locks/rootfs-libvirt-$SUITE-$key.lock"
if [ -f "$out/rootfs.env" ]; then
	cat "$out/rootfs.env"
	exit 0
fi

start=$(date +%s)
rm -rf "$out"
mkdir -p "$out"
r=$out/root
log=$out/build.log
lab_log "debootstrapping $SUITE (minbase + $INCLUDE) into $r"
if ! nice -n 10 debootstrap --variant=minbase --include="$INCLUDE" \
	"$SUITE" "$r" "$MIRROR" >"$log" 2>&1; then
	tail -n 30 "$log" >&2
	lab_die "debootstrap failed (log: $log)"
fi

# apt in the chroot: no service may start (policy-rc.d), the API file
# systems for maintainer scripts, unmounted whatever happens.
cleanup() {
	for m in dev/pts dev sys proc; do
		mountpoint -q "$r/$m" && umount -l "$r/$m"
	done
	rm -f "$r/usr/sbin/policy-rc.d"
}
trap cleanup EXIT
printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
chmod 755 "$r/usr/sbin/policy-rc.d"
mount -t proc proc "$r/proc"
mount -t sysfs sysfs "$r/sys"
mount --bind /dev "$r/dev"
mount --bind /dev/pts "$r/dev/pts"
lab_log "installing $PACKAGES"
# shellcheck disable=SC2086
if ! DEBIAN_FRONTEND=noninteractive nice -n 10 chroot "$r" sh -c \
	"apt-get update -qq && apt-get install -y -qq --no-install-recommends $PACKAGES" >>"$log" 2>&1; then
	tail -n 30 "$log" >&2
	lab_die "apt-get install in the chroot failed (log: $log)"
fi
cleanup
trap - EXIT

# The default NAT network wants dnsmasq (a recommends) and is not needed:
# a test domain has no network; its autostart would only log errors.
rm -f "$r/etc/libvirt/qemu/networks/autostart/"*.xml

# Trim what a test guest never reads: the image is unpacked into guest RAM.
# QEMU keeps only what a q35/pc TCG domain with SeaBIOS needs.
rm -rf "$r"/usr/share/doc/* "$r"/usr/share/man/* "$r"/usr/share/info/* \
	"$r"/usr/share/locale/* "$r"/var/cache/apt/archives/*.deb \
	"$r"/var/cache/apt/*.bin "$r"/var/lib/apt/lists/* "$r"/var/cache/debconf/*-old \
	"$r"/usr/share/zoneinfo/right "$r"/usr/share/zoneinfo/posix
echo vfiod-lab >"$r/etc/hostname"

lab_log "libvirt rootfs ready in $(($(date +%s) - start)) s ($(du -sm "$r" | cut -f1) MB)"
echo "ROOTFS=$r" >"$out/rootfs.env.tmp"
mv "$out/rootfs.env.tmp" "$out/rootfs.env"
cat "$out/rootfs.env"
