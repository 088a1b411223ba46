#!/bin/sh
# Prepare the root file system of the lab's second world (issue 14): Debian
# 13 (trixie) with systemd 257 as PID 1, dbus 1.16 and udev from trixie, and
# libvirt 12.9 (libvirt-daemon-system, its QEMU driver, virsh) and QEMU
# 11.1 (qemu-system-x86) from trixie-backports, for the libvirt guest tests
# of the trixie world (tests/vm/runners/run-libvirt-test.sh, a case with
# `# vfiod-world: trixie`), booted on the modern (7.3) kernel.
#
# Built like rootfs-libvirt.sh (Debian 12): debootstrap --variant=minbase,
# then apt-get inside the chroot, without recommends. The chroot's apt
# configuration is its own (trixie, trixie-updates, trixie-security,
# trixie-backports): the host's apt sources and packages stay untouched,
# nothing is installed on the host. The packages are installed with `-t
# trixie-backports`, as Debian's backports instructions say (apt 3.0's
# solver does not follow PKG/trixie-backports into the dependencies):
# what backports carries comes from there, the rest (systemd 257, dbus
# 1.16) from trixie. The versions are checked and written to rootfs.env.
#
# Usage: rootfs-libvirt-trixie.sh
# Prints ROOTFS=DIR and the versions (LIBVIRT_VERSION, QEMU_VERSION,
# SYSTEMD_VERSION, DBUS_VERSION) on stdout; progress goes to stderr.
#
# Its own cache folder (rootfs-libvirt-trixie-<key>), the key covering this
# script, the suite, the mirror and the package lists; a hit costs
# nothing, a miss downloads ~250 MB. Needs root (debootstrap and apt in a
# chroot) and the mirror ($VFIOD_LAB_MIRROR, default
# http://deb.debian.org/debian; security updates from
# $VFIOD_LAB_SECURITY_MIRROR, default http://deb.debian.org/debian-security).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lab-lib.sh"

SUITE=trixie
MIRROR=${VFIOD_LAB_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${VFIOD_LAB_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# the base of rootfs-systemd.sh: PID 1, the system bus, udev, modules-load.d
INCLUDE=systemd,systemd-sysv,dbus,udev,kmod
# from trixie-backports: libvirtd with its QEMU driver and virsh, the emulator
BACKPORTS_PACKAGES="libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu qemu-system-x86"
# from trixie: iptables is the first firewall alternative libvirt's network
# driver accepts; procps gives the tests pgrep/ps; the libraries vfiod
# (built on the Debian 12 host) links that libvirt does not bring, as a
# package of vfiod would depend on them: same sonames in Debian 13
# (libnl-genl-3.so.200, libjson-c.so.5), so the world's own are used and
# the runner copies none of the host's
PACKAGES="iptables procps libnl-genl-3-200 libjson-c5"
# what the world is: a rebuild that resolves other series fails
WANT_LIBVIRT=12.9
WANT_QEMU=11.1
WANT_SYSTEMD=257

command -v debootstrap >/dev/null 2>&1 || lab_die "debootstrap not installed (tests/setup.sh)"
[ "$(id -u)" -eq 0 ] || lab_die "debootstrap needs root"

key=$(lab_hash "$SUITE" "$MIRROR" "$SECURITY_MIRROR" "$INCLUDE" "$BACKPORTS_PACKAGES" "$PACKAGES" -- "$0")
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
t_base=$(date +%s)

# The chroot's own apt sources: the suites of the world.
cat >"$r/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
deb $MIRROR $SUITE-backports main
EOF

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
lab_log "installing $BACKPORTS_PACKAGES $PACKAGES (-t $SUITE-backports)"
# shellcheck disable=SC2086
if ! DEBIAN_FRONTEND=noninteractive nice -n 10 chroot "$r" sh -c \
	"apt-get update -qq && apt-get install -y -q --no-install-recommends -t $SUITE-backports \
		$BACKPORTS_PACKAGES $PACKAGES" >>"$log" 2>&1; then
	tail -n 30 "$log" >&2
	lab_die "apt-get install in the chroot failed (log: $log)"
fi
# libvirt 12's secret driver reads its key as an encrypted systemd
# credential (libvirtd.service.d/10-secret.conf: LoadCredentialEncrypted=,
# after virt-secret-init-encryption.service, which makes the key with
# `systemd-creds encrypt` at the first boot). Made here once, with the
# image's own host key (/var/lib/systemd/credential.secret): the lab guest
# boots from an initramfs without TPM, and its first boot's key making
# failed libvirtd's start (seen: "Dependency failed for libvirtd.service").
if ! chroot "$r" sh -c 'dd if=/dev/urandom status=none bs=32 count=1 |
	systemd-creds encrypt --with-key=host --name=secrets-encryption-key - \
		/var/lib/libvirt/secrets/secrets-encryption-key' >>"$log" 2>&1; then
	tail -n 5 "$log" >&2
	lab_die "making libvirt's secrets encryption key failed (log: $log)"
fi
cleanup
trap - EXIT

version() { # PACKAGE: its installed Debian version
	chroot "$r" dpkg-query -W -f '${Version}' "$1"
}
libvirt_version=$(version libvirt-daemon-system)
qemu_version=$(version qemu-system-x86)
systemd_version=$(version systemd)
dbus_version=$(version dbus)
check_series() { # WHAT VERSION WANT: VERSION (epoch and Debian revision aside) is of series WANT
	_v=${2#*:}
	case "$_v" in
	"$3" | "$3".* | "$3"-* | "$3"~* | "$3"+*) ;;
	*) lab_die "$1 is $2, not $3 (log: $log)" ;;
	esac
}
check_series libvirt "$libvirt_version" "$WANT_LIBVIRT"
check_series QEMU "$qemu_version" "$WANT_QEMU"
check_series systemd "$systemd_version" "$WANT_SYSTEMD"

# The default NAT network wants dnsmasq (a recommends) and is not needed:
# a test domain has no network; its autostart would only log errors.
rm -f "$r/etc/libvirt/qemu/networks/autostart/"*.xml

# Trim what a test guest never reads: the image is unpacked into guest RAM.
rm -rf "$r"/usr/share/doc/* "$r"/usr/share/man/* "$r"/usr/share/info/* \
	"$r"/usr/share/locale/* "$r"/var/cache/apt/archives/*.deb \
	"$r"/var/cache/apt/*.bin "$r"/var/lib/apt/lists/* "$r"/var/cache/debconf/*-old \
	"$r"/usr/share/zoneinfo/right "$r"/usr/share/zoneinfo/posix
echo vfiod-lab >"$r/etc/hostname"

lab_log "trixie libvirt rootfs ready in $(($(date +%s) - start)) s" \
	"(debootstrap $((t_base - start)) s; $(du -sm "$r" | cut -f1) MB):" \
	"libvirt $libvirt_version, QEMU $qemu_version, systemd $systemd_version, dbus $dbus_version"
{
	echo "ROOTFS=$r"
	echo "LIBVIRT_VERSION=$libvirt_version"
	echo "QEMU_VERSION=$qemu_version"
	echo "SYSTEMD_VERSION=$systemd_version"
	echo "DBUS_VERSION=$dbus_version"
	echo "BUILD_SECONDS=$(($(date +%s) - start))"
} >"$out/rootfs.env.tmp"
mv "$out/rootfs.env.tmp" "$out/rootfs.env"
cat "$out/rootfs.env"
