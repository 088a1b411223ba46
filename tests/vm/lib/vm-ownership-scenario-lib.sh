# shellcheck shell=sh
# The VM-ownership scenario shared by vm-ownership-type1 and
# vm-ownership-iommufd: the including case sets BACKEND
# (type1 or iommufd) and sources this file after vmm-lib.sh and
# vm-ownership-lib.sh; the testcase_* functions below then run for it.

# registers VM NAME for a held VMM with edu and a new mtty mdev; sets EDU, MDEV, BEFORE
setup_vm() {
	[ "$BACKEND" = type1 ] || has_iommufd || skip "no /dev/iommu on this kernel"
	modprobe vfio-pci
	modprobe vfio_iommu_type1 || true
	EDU=$(lab_device edu)
	BEFORE=$(device_snapshot "$EDU")
	start_vfiod
	vmm_spawn --"$BACKEND" "$EDU" --vfiod "$1" --user vmm --memlock 64M --mem 16M
	vfioctl_ok vm register "$1" --pid "$VMM_PID" --backend "$BACKEND" --viommu --memory 16M
	vfioctl_ok vm add-device "$1" "$EDU"
	assert_eq vfio-pci "$(pci_driver "$EDU")" "edu's driver once it belongs to the VM"
	vfioctl_ok vm create-mdev "$1" mtty mtty-2
	MDEV=$(cat "$OUT")
	mdev_exists "$MDEV" || fail "the VM's mdev $MDEV does not exist"
	assert_eq registered "$(vm_state "$1")" "state before GetFds"
}

# the VMM maps memory and DMAs through the vIOMMU with vfiod's descriptors
vmm_runs_dma() {
	vmm_go
	assert_contains "$VMM_SETUP" "uid=1000" "the VMM runs unprivileged"
	assert_contains "$VMM_SETUP" "CapEff=0000000000000000" "the VMM has no capabilities"
	assert_eq active "$(vm_state "$1")" "state after GetFds"
	# the VMM asked for them itself, unprivileged: vfiod's VMM check let it through
	vfiod_log | grep -q "VM $1: descriptors to pid $VMM_PID (uid 1000)" ||
		fail "vfiod did not hand the descriptors to the unprivileged VMM (pid $VMM_PID)"
	if [ "$BACKEND" = iommufd ]; then
		# vfiod switched the iommufd to per-process accounting before handing it out
		assert_contains "$VMM_SETUP" "rlimit_mode=1" "the iommufd's RLIMIT_MODE"
	fi
	vmm_step map 0x100000 1M
	vmm_step edu-dma 0x100000 1024
	vmm_step map 0x200000 1M 1M
	vmm_step unmap 0x100000 1M
	# the vIOMMU isolates: an unmapped IOVA reaches no memory
	vmm_step edu-blocked 0x100000 1024
	vmm_step map 0x100000 1M
	# vfiod observes the VMM's accounting (type1: VmLck, iommufd per-process: VmLck too)
	locked=$("$VFIOCTL" --json vm show "$1" | jq -r .locked_bytes)
	[ "$locked" -ge 1048576 ] || fail "LockedBytes $locked, expected >= 1 MiB while 1 MiB is mapped"
}

assert_given_back() {
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu's driver and driver_override after release"
	wait_until 30 mdev_gone "$MDEV"
}

testcase_release_gives_everything_back() {
	setup_vm vm-rel
	vmm_runs_dma vm-rel
	# asked while the VMM holds its descriptors: DeviceBusy, the rest waits
	# until it lets go (here: its exit)
	vfioctl vm release vm-rel
	assert_refused org.vfiod1.Error.DeviceBusy
	assert_eq releasing "$(vm_state vm-rel)" "state right after Release with a live VMM"
	assert_eq vfio-pci "$(pci_driver "$EDU")" "edu stays on vfio-pci while the VMM holds it"
	vmm_stop
	wait_until 60 vm_is_gone vm-rel
	assert_given_back
	stop_vfiod
}

testcase_vmm_exit_without_release_cleans_up() {
	setup_vm vm-exit
	vmm_runs_dma vm-exit
	vmm_kill
	wait_until 60 vm_is_gone vm-exit
	assert_given_back
	stop_vfiod
}

testcase_release_before_the_vmm_starts() {
	setup_vm vm-early
	vfioctl_ok vm release vm-early
	assert_eq released "$(cat "$OUT")" "Release without descriptors handed out"
	vm_is_gone vm-early || fail "the VM is still listed"
	assert_given_back
	vmm_kill
	stop_vfiod
}
