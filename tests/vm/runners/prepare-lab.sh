#!/bin/sh
# vm-lab-prepare (meson suite `vm`): prepares every guest kernel and image
# that the vm tests boot, both worlds -- Debian 12's (the distro kernel,
# the test kernel (6.12), the systemd and libvirt rootfs, QEMU 10) and
# Debian 13's (the modern kernel (7.3), the trixie libvirt rootfs with
# libvirt 12.9, QEMU 11.1 and systemd 257) -- before any guest runs. meson starts it first and
# alone (priority, is_parallel: false): a cold cache builds the test kernel
# with both host cores, and a TCG guest booted next to that build loses timer
# interrupts (RCU stalls, a hung task at VFIO release), so no guest may run
# during it. With a warm cache every step is a cache hit.
#
# Usage: prepare-lab.sh SOURCE_ROOT
# Fails when a step fails or does not name an existing image. Prints each
# step's time (a cache hit: 0 s), so a cold run shows what each world costs.
set -eu

lab=$1/tests/lab

check() { # ENV-TEXT KEY SCRIPT SECONDS: the KEY=PATH line must name an existing path
	path=$(printf '%s\n' "$1" | sed -n "s/^$2=//p" | tail -n1)
	if [ -z "$path" ] || [ ! -e "$path" ]; then
		echo "prepare-lab: $3 gave no usable $2 ('$path')" >&2
		exit 1
	fi
	echo "prepare-lab: $3 ($4 s): $2=$path"
}

step() { # WORLD SCRIPT KEY: run tests/lab/SCRIPT, check its KEY, add its time to WORLD's
	t=$(date +%s)
	env=$("$lab/$2")
	t=$(($(date +%s) - t))
	check "$env" "$3" "$2" "$t"
	case "$1" in
	bookworm) bookworm_s=$((bookworm_s + t)) ;;
	trixie) trixie_s=$((trixie_s + t)) ;;
	esac
}

bookworm_s=0 trixie_s=0
step bookworm kernel-distro.sh BZIMAGE
step bookworm kernel-test.sh BZIMAGE
step bookworm rootfs-systemd.sh ROOTFS
step bookworm rootfs-libvirt.sh ROOTFS # libvirt guest tests
step bookworm qemu10.sh QEMU10_BIN
step trixie kernel-modern.sh BZIMAGE
step trixie rootfs-libvirt-trixie.sh ROOTFS # the trixie world's libvirt guest
echo "prepare-lab: Debian 12 world $bookworm_s s, Debian 13 world $trixie_s s"
