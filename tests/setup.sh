#!/bin/sh
# Install everything vfiod's build, tests and lab need on Debian 12.
# Idempotent and non-interactive: packages already present are skipped.
set -eu

PKGS="build-essential meson ninja-build pkg-config gcc clang
libsystemd-dev libudev-dev libvirt-dev libjson-c-dev libnl-3-dev
libnl-genl-3-dev libxml2-dev libkmod-dev dbus-daemon
qemu-system-x86 busybox-static cpio xz-utils zstd kmod
bc bison flex libelf-dev libssl-dev dwarves linux-source-6.12"
# the sanitizer build and fuzz/ (tests/run-tests.sh, fuzz/run.sh): clang's
# sanitizer and libFuzzer runtimes, only recommended by clang
PKGS="$PKGS libclang-rt-14-dev"
# tests/dbus: dbus-send (dbus-bin) and jq drive and check vfiod on a private bus
PKGS="$PKGS dbus-bin jq"
# tests/lab (nested-VM guest image): systemd-udevd + udevadm, Debian's system
# bus configuration (tests/lab/make-initramfs.sh copies both into the guest)
PKGS="$PKGS udev dbus-system-bus-common"
# tests/vm/runners/run-systemd-boot.sh: the Debian rootfs that boots systemd (tests/lab/rootfs-systemd.sh)
PKGS="$PKGS debootstrap"
# docs/man: the manual pages are scdoc sources, turned into roff at build time
PKGS="$PKGS scdoc"
# debian/: dpkg-buildpackage -us -uc -b and lintian (bash-completion for its
# pkg-config file, dh-dkms for the vfiod-dkms package)
PKGS="$PKGS debhelper dh-dkms fakeroot lintian bash-completion"

missing=""
for p in $PKGS; do
	# dpkg-query prints nothing useful for absent packages; test the status
	if ! dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
