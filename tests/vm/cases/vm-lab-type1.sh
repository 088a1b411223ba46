# vfiod-kernels: distro test
# The legacy type1 path on a real kernel: vfiod's inventory against the
# guest's sysfs, binding edu to vfio-pci and back, and the RLIMIT_MEMLOCK
# accounting of type1 DMA mappings made by an unprivileged VMM (uid 1000,
# no CAP_IPC_LOCK), as QEMU makes them.

# shellcheck source-path=SCRIPTDIR source=../../vmm/vmm-lib.sh
. /opt/vfiod/tests/vmm/vmm-lib.sh

VFIOCTL=/opt/vfiod/bin/vfioctl

# The edu device is the assigned device of every VMM test here.
edu_to_vfio() {
	EDU=$(lab_device edu)
	bind_vfio "$EDU"
	modprobe vfio_iommu_type1 || true
}

# state vfiod must report for a member bound to DRIVER ("" when unbound),
# or "" when this test does not know the driver
expected_state() {
	case "$1" in
	vfio-pci) echo vfio ;;
	"") echo unbound ;;
	pcieport) echo dma-managed ;;
	e1000e | nvme | ahci | i801_smbus | lpc_ich) echo host-driver ;;
	*) echo "" ;;
	esac
}

testcase_devices_match_sysfs() {
	start_vfiod
	json=$("$VFIOCTL" --json devices)
	stop_vfiod

	sys_list=$(ls /sys/bus/pci/devices | sort)
	json_list=$(echo "$json" | jq -r '.[].address' | sort)
	assert_eq "$sys_list" "$json_list" "PCI functions listed by vfioctl"
	[ "$(echo "$sys_list" | wc -l)" -ge 8 ] || fail "too few PCI functions: $sys_list"

	for bdf in $sys_list; do
		want_driver=$(pci_driver "$bdf")
		want_group=-1
		if [ -L "/sys/bus/pci/devices/$bdf/iommu_group" ]; then
			want_group=$(pci_group "$bdf")
		fi
		got=$(echo "$json" | jq -r --arg a "$bdf" \
			'.[] | select(.address == $a) | "\(.driver // "") \(.iommu_group)"')
		assert_eq "$want_driver $want_group" "$got" "driver and group of $bdf"
	done
}

testcase_groups_match_sysfs() {
	start_vfiod
	json=$("$VFIOCTL" --json groups)
	stop_vfiod

	sys_groups=$(ls /sys/kernel/iommu_groups | sort -n)
	json_groups=$(echo "$json" | jq -r '.[].group' | sort -n)
	assert_eq "$sys_groups" "$json_groups" "IOMMU groups listed by vfioctl"

	for g in $sys_groups; do
		sys_members=$(ls "/sys/kernel/iommu_groups/$g/devices" | sort)
		json_members=$(echo "$json" | jq -r --argjson g "$g" \
			'.[] | select(.group == $g) | .members[].name' | sort)
		assert_eq "$sys_members" "$json_members" "members of group $g"

		any_not_viable=false
		for m in $sys_members; do
			driver=$(pci_driver "$m")
			got=$(echo "$json" | jq -r --argjson g "$g" --arg m "$m" \
				'.[] | select(.group == $g) | .members[] | select(.name == $m) | "\(.driver)|\(.state)|\(.viable)"')
			assert_eq "$driver" "$(echo "$got" | cut -d'|' -f1)" "driver of $m in group $g"
			state=$(expected_state "$driver")
			[ -z "$state" ] || assert_eq "$state" "$(echo "$got" | cut -d'|' -f2)" "state of $m (driver '$driver')"
			[ "$(echo "$got" | cut -d'|' -f3)" = true ] || any_not_viable=true
		done
		# A group is viable exactly when every member is.
		want_viable=true
		[ "$any_not_viable" = false ] || want_viable=false
		assert_eq "$want_viable" \
			"$(echo "$json" | jq -r --argjson g "$g" '.[] | select(.group == $g) | .viable')" \
			"viability of group $g"
	done
}

vfioctl_driver_of() {
	"$VFIOCTL" --json devices | jq -r --arg a "$1" '.[] | select(.address == $a) | .driver // ""'
}

vfioctl_shows_driver() {
	[ "$(vfioctl_driver_of "$1")" = "$2" ]
}

testcase_edu_bind_to_vfio_and_back() {
	edu=$(lab_device edu)
	dev=/sys/bus/pci/devices/$edu
	orig_driver=$(pci_driver "$edu")
	orig_override=$(cat "$dev/driver_override")
	group=$(pci_group "$edu")
	start_vfiod

	bind_vfio "$edu"
	assert_eq vfio-pci "$(pci_driver "$edu")" "sysfs driver of edu after bind"
	[ -c "/dev/vfio/$group" ] || fail "/dev/vfio/$group missing after bind"
	# vfiod learns of the bind from udev, not by polling sysfs on request.
	wait_until 30 vfioctl_shows_driver "$edu" vfio-pci
	state=$("$VFIOCTL" --json groups | jq -r --argjson g "$group" \
		'.[] | select(.group == $g) | "\(.viable) \(.members[0].state)"')
	assert_eq "true vfio" "$state" "group $group as vfiod sees it"

	unbind_vfio "$edu"
	if [ -n "$orig_driver" ]; then
		echo "$edu" >"/sys/bus/pci/drivers/$orig_driver/bind"
	fi
	assert_eq "$orig_driver" "$(pci_driver "$edu")" "edu's driver restored"
	assert_eq "$orig_override" "$(cat "$dev/driver_override")" "edu's driver_override restored"
	wait_until 30 test ! -e "/dev/vfio/$group"
	wait_until 30 vfioctl_shows_driver "$edu" "$orig_driver"
	stop_vfiod
}

testcase_type1_map_charges_vmlck() {
	edu_to_vfio
	vmm_start --type1 "$EDU" --user vmm --memlock 256M --mem 64M
	assert_eq 1000 "$(vmm_field uid "$VMM_SETUP")" "uid of the VMM"
	assert_eq 0000000000000000 "$(vmm_field CapEff "$VMM_SETUP")" "CapEff of the VMM"
	assert_eq 268435456 "$(vmm_field memlock "$VMM_SETUP")" "RLIMIT_MEMLOCK of the VMM"

	vmm_step status
	lck0=$(vmm_field VmLck_kB)
	pin0=$(vmm_field VmPin_kB)
	vmm_step map 0 64M
	vmm_step status
	assert_eq $((lck0 + 65536)) "$(vmm_field VmLck_kB)" "VmLck after mapping 64 MiB"
	# type1 charges locked_vm only; pinned_vm is iommufd's counter.
	assert_eq "$pin0" "$(vmm_field VmPin_kB)" "VmPin after mapping 64 MiB"
	vmm_step unmap 0 64M
	vmm_step status
	assert_eq "$lck0" "$(vmm_field VmLck_kB)" "VmLck after unmapping"
	vmm_stop
}

testcase_type1_map_memfd_charges_vmlck() {
	edu_to_vfio
	vmm_start --type1 "$EDU" --user vmm --memlock 256M --mem 64M --memfd
	vmm_step status
	lck0=$(vmm_field VmLck_kB)
	vmm_step map 0 64M
	vmm_step status
	assert_eq $((lck0 + 65536)) "$(vmm_field VmLck_kB)" "VmLck after mapping 64 MiB of memfd"
	vmm_step unmap 0 64M
	vmm_step status
	assert_eq "$lck0" "$(vmm_field VmLck_kB)" "VmLck after unmapping memfd"
	vmm_stop
}

testcase_type1_map_over_memlock_fails() {
	edu_to_vfio
	# One-shot script mode: steps run in order, every reply on its own line.
	out=$("$VMM_BIN" --type1 "$EDU" --user vmm --memlock 32M --mem 64M \
		--script 'status; map 0 64M; status; map 0 16M; status') && rc=0 || rc=$?
	log "vfd-vmm: $out"
	# A failed step makes the exit status 1, after every step has run.
	assert_eq 1 "$rc" "exit status of vfd-vmm with a refused step"
	assert_eq 33554432 "$(vmm_field memlock "$(echo "$out" | sed -n 1p)")" "RLIMIT_MEMLOCK of the VMM"
	lck0=$(vmm_field VmLck_kB "$(echo "$out" | sed -n 2p)")
	assert_eq "map err=ENOMEM" "$(echo "$out" | sed -n 3p)" "64 MiB MAP_DMA with a 32 MiB limit"
	assert_eq "$lck0" "$(vmm_field VmLck_kB "$(echo "$out" | sed -n 4p)")" "VmLck after the refused map"
	# Within the limit the same VMM maps fine: the refusal was the limit.
	assert_eq "map ok iova=0x0 size=16777216" "$(echo "$out" | sed -n 5p)" "16 MiB MAP_DMA"
	assert_eq $((lck0 + 16384)) "$(vmm_field VmLck_kB "$(echo "$out" | sed -n 6p)")" "VmLck after mapping 16 MiB"
}

testcase_edu_dma_through_type1() {
	edu_to_vfio
	kmsg_mark
	vmm_start --type1 "$EDU" --user vmm --memlock 64M --mem 4M
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
