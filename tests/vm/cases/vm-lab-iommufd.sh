# vfiod-kernels: test
# The iommufd path: /dev/iommu, an IOAS and edu's VFIO device cdev, mapped
# by an unprivileged VMM (uid 1000, no capabilities). iommufd charges every
# pinned page to VmPin; RLIMIT_MODE decides whether the RLIMIT_MEMLOCK
# charge also shows in the process (mode 1: VmLck) or stays with the user
# (mode 0, the default: invisible in /proc). The limit holds in both modes.

# shellcheck source-path=SCRIPTDIR source=../../vmm/vmm-lib.sh
. /opt/vfiod/tests/vmm/vmm-lib.sh

edu_to_vfio() {
	has_iommufd || fail "the test kernel has no /dev/iommu"
	EDU=$(lab_device edu)
	bind_vfio "$EDU"
	set -- "/sys/bus/pci/devices/$EDU/vfio-dev/"vfio*
	[ -e "$1" ] || fail "edu has no VFIO device cdev"
}

# map_and_measure MODE: map and unmap 64 MiB, leaving the deltas in
# D_LCK/D_PIN (mapped minus before) and the after-unmap values in
# R_LCK/R_PIN minus before (both must be 0)
map_and_measure() {
	vmm_step status
	lck0=$(vmm_field VmLck_kB)
	pin0=$(vmm_field VmPin_kB)
	vmm_step map 0 64M
	vmm_step status
	D_LCK=$(($(vmm_field VmLck_kB) - lck0))
	D_PIN=$(($(vmm_field VmPin_kB) - pin0))
	vmm_step unmap 0 64M
	vmm_step status
	R_LCK=$(($(vmm_field VmLck_kB) - lck0))
	R_PIN=$(($(vmm_field VmPin_kB) - pin0))
}

testcase_rlimit_mode_process_charges_vmlck_and_vmpin() {
	edu_to_vfio
	vmm_start --iommufd "$EDU" --rlimit-mode 1 --user vmm --memlock 256M --mem 64M
	assert_eq 1 "$(vmm_field rlimit_mode "$VMM_SETUP")" "IOMMU_OPTION_RLIMIT_MODE read back"
	assert_eq 0000000000000000 "$(vmm_field CapEff "$VMM_SETUP")" "CapEff of the VMM"
	map_and_measure
	assert_eq 65536 "$D_LCK" "VmLck delta of a 64 MiB IOAS_MAP in mode 1"
	assert_eq 65536 "$D_PIN" "VmPin delta of a 64 MiB IOAS_MAP in mode 1"
	assert_eq "0 0" "$R_LCK $R_PIN" "VmLck/VmPin deltas after IOAS_UNMAP"
	vmm_stop
}

testcase_rlimit_mode_user_charges_vmpin_only() {
	edu_to_vfio
	vmm_start --iommufd "$EDU" --user vmm --memlock 256M --mem 64M
	assert_eq 0 "$(vmm_field rlimit_mode "$VMM_SETUP")" "default IOMMU_OPTION_RLIMIT_MODE"
	map_and_measure
	assert_eq 0 "$D_LCK" "VmLck delta of a 64 MiB IOAS_MAP in mode 0"
	assert_eq 65536 "$D_PIN" "VmPin delta of a 64 MiB IOAS_MAP in mode 0"
	assert_eq "0 0" "$R_LCK $R_PIN" "VmLck/VmPin deltas after IOAS_UNMAP"
	vmm_stop
}

# limit_refuses_map [VMM ARGS]: 64 MiB against a 32 MiB limit fails with
# ENOMEM and charges nothing; 16 MiB then succeeds
limit_refuses_map() {
	edu_to_vfio
	vmm_start --iommufd "$EDU" --user vmm --memlock 32M --mem 64M "$@"
	vmm_step status
	lck0=$(vmm_field VmLck_kB)
	pin0=$(vmm_field VmPin_kB)
	vmm_try map 0 64M
	assert_eq "map err=ENOMEM" "$VMM_REPLY" "64 MiB IOAS_MAP with a 32 MiB limit"
	vmm_step status
	assert_eq "$lck0 $pin0" "$(vmm_field VmLck_kB) $(vmm_field VmPin_kB)" \
		"VmLck/VmPin after the refused map"
	vmm_step map 0 16M
	vmm_step status
	assert_eq $((pin0 + 16384)) "$(vmm_field VmPin_kB)" "VmPin after mapping 16 MiB"
	vmm_stop 1
}

testcase_limit_enforced_in_mode_process() {
	limit_refuses_map --rlimit-mode 1
}

testcase_limit_enforced_in_mode_user() {
	limit_refuses_map
}

testcase_edu_dma_through_iommufd() {
	edu_to_vfio
	kmsg_mark
	vmm_start --iommufd "$EDU" --user vmm --memlock 64M --mem 4M
	vmm_step map 0 1M
	vmm_step map 0x200000 1M 0x200000
	vmm_step edu-dma 0x1000 1024
	assert_eq 1024 "$(vmm_field bytes)" "bytes through edu"
	vmm_step unmap 0x200000 1M
	vmm_step edu-blocked 0x200000 1024
	vmm_stop
	# The vIOMMU refused both directions, and the guest kernel saw it.
	bdf=${EDU#0000:}
	wait_until 10 kmsg_has "DMA Write.*device \\[$bdf\\] fault addr 0x200000"
	wait_until 10 kmsg_has "DMA Read.*device \\[$bdf\\] fault addr 0x200000"
	kmsg_assert_clean
}
