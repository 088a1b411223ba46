#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vfioctl host and the Manager's kernel feature properties
# (lib/kernel-features.c) on the fixture root: what the tree holds is what
# vfiod reports, read anew at every call; a tree without /dev/iommu or
# /proc/devices is a kernel without iommufd or cdevs, and "auto" gives
# such a host type1. The real kernels are the vm test vm-host-probe's.
. "$(dirname "$0")/lib.sh"

PARAMS=$ROOT/sys/module

host_field() { # host_field KEY: the value vfioctl --json host prints for KEY
	vfioctl --json host
	assert_vfioctl_ok
	jq -r --arg k "$1" '.[$k]' "$OUT"
}

fixture_without_vfio_nodes() {
	assert_eq false "$(host_field iommufd)" "no /dev/iommu in the tree"
	assert_eq false "$(host_field vfio_cdev)" "no /proc/devices in the tree"
	assert_eq false "$(host_field iommufd_rlimit_mode)" "no iommufd, no RLIMIT_MODE"
	assert_eq false "$(host_field ioas_change_process)" "no iommufd, no IOAS_CHANGE_PROCESS"
	assert_eq false "$(host_field type1)" "no /dev/vfio/vfio character device"
	assert_eq absent "$(host_field noiommu)" "no vfio module parameters"
	assert_eq 0 "$(host_field type1_dma_entry_limit)" "vfio_iommu_type1 not loaded"
	assert_eq absent "$(host_field mm_helper)" "no vfiod_mm"
	assert_eq type1 "$(host_field default_backend)" "auto on a host without iommufd"
}

module_parameters_read_at_every_call() {
	mkdir -p "$PARAMS/vfio_iommu_type1/parameters" "$PARAMS/vfio/parameters"
	echo 65535 >"$PARAMS/vfio_iommu_type1/parameters/dma_entry_limit"
	echo N >"$PARAMS/vfio/parameters/enable_unsafe_noiommu_mode"
	assert_eq 65535 "$(host_field type1_dma_entry_limit)" "dma_entry_limit"
	assert_eq off "$(host_field noiommu)" "no-IOMMU mode present, off"
	echo 100 >"$PARAMS/vfio_iommu_type1/parameters/dma_entry_limit"
	echo Y >"$PARAMS/vfio/parameters/enable_unsafe_noiommu_mode"
	assert_eq 100 "$(host_field type1_dma_entry_limit)" "a changed dma_entry_limit shows at once"
	assert_eq on "$(host_field noiommu)" "no-IOMMU mode on"
	assert_eq "t 100" "$(busctl --address="$BUS" get-property org.vfiod1 /org/vfiod1 org.vfiod1.Manager Type1DmaEntryLimit)" \
		"the D-Bus property says the same"
}

cdev_region_only_among_character_devices() {
	mkdir -p "$ROOT/proc"
	printf 'Character devices:\n  1 mem\n511 vfio-dev\n\nBlock devices:\n  8 sd\n' >"$ROOT/proc/devices"
	assert_eq true "$(host_field vfio_cdev)" "a vfio-dev character region"
	printf 'Character devices:\n  1 mem\n\nBlock devices:\n511 vfio-dev\n' >"$ROOT/proc/devices"
	assert_eq false "$(host_field vfio_cdev)" "a block region of that name is no cdev"
	rm -f "$ROOT/proc/devices"
}

text_lists_every_feature() {
	vfioctl host
	assert_vfioctl_ok
	for f in iommufd vfio_cdev iommufd_rlimit_mode ioas_map_file ioas_change_process viommu type1 \
		type1_dma_entry_limit noiommu mm_helper default_backend; do
		grep -q "^$f " "$OUT" || fail "no row for $f: $(cat "$OUT")"
	done
}

auto_backend_follows_the_probe() {
	spawn_vmm
	vfioctl vm register auto1 --pid "$VMM" --backend auto --vmm-opens-groups --memory 64M
	assert_vfioctl_ok
	vfioctl --json vm list
	assert_eq type1 "$(jq -r '.[] | select(.name == "auto1") | .backend' "$OUT")" \
		"--backend auto on a host without iommufd"
	vfioctl vm register bad1 --pid "$VMM" --backend automatic --memory 64M
	[ "$RC" -eq 2 ] || fail "an unknown backend is a usage error, got $RC: $(cat "$ERR")"
}

make_fixture
start_bus
start_vfiod

check "a tree without VFIO nodes is a kernel without iommufd, cdevs or type1" fixture_without_vfio_nodes
check "module parameters are read at every call" module_parameters_read_at_every_call
check "cdevs only from a vfio-dev character region" cdev_region_only_among_character_devices
check "vfioctl host lists every feature" text_lists_every_feature
check "--backend auto follows the probe" auto_backend_follows_the_probe

done_testing
