#!/bin/sh
# vm-lab-prepare (meson suite `vm`): prepares every guest kernel and image
# that the vm tests boot -- the distro kernel, the test kernel (6.12), the
# modern kernel (7.3), the systemd and libvirt rootfs and QEMU 10 -- before
# any guest runs. meson starts it first and
# alone (priority, is_parallel: false): a cold cache builds the test kernel
# with both host cores, and a TCG guest booted next to that build loses timer
# interrupts (RCU stalls, a hung task at VFIO release), so no guest may run
# during it. With a warm cache every step is a cache hit.
#
# Usage: prepare-lab.sh SOURCE_ROOT
# Fails when a step fails or does not name an existing image.
set -eu

lab=$1/tests/lab

check() { # ENV-TEXT KEY: the KEY=PATH line must name an existing path
	path=$(printf '%s\n' "$1" | sed -n "s/^$2=//p" | tail -n1)
	if [ -z "$path" ] || [ ! -e "$path" ]; then
		echo "prepare-lab: $3 gave no usable $2 ('$path')" >&2
		exit 1
	fi
	echo "prepare-lab: $3: $2=$path"
}

env=$("$lab/kernel-distro.sh")
check "$env" BZIMAGE kernel-distro.sh
env=$("$lab/kernel-test.sh")
check "$env" BZIMAGE kernel-test.sh
env=$("$lab/kernel-modern.sh")
check "$env" BZIMAGE kernel-modern.sh
env=$("$lab/rootfs-systemd.sh")
check "$env" ROOTFS rootfs-systemd.sh
env=$("$lab/rootfs-libvirt.sh") # libvirt guest tests
check "$env" ROOTFS rootfs-libvirt.sh
env=$("$lab/qemu10.sh")
check "$env" QEMU10_BIN qemu10.sh
