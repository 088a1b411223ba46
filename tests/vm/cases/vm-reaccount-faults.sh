# vfiod-kernels: distro test
# Failure paths of hotplug with re-accounting (the "Memlock limits" issue),
# on type1 (both kernels) and iommufd (where /dev/iommu exists), with the
# reference VMM (uid 1000, no capabilities) and the test vGPU pinning 1000
# pages, as in vm-reaccount-type1:
#  - a hot-add whose raised limit would pass the VM's cap is refused
#    before anything changes (driver, limit, devices, journal);
#  - the VMM killed in the middle of a hot-add (edu claimed, limit
#    raised, not attached yet): the VM is released, edu is back on its
#    driver, the vGPU holds no pin, and vfiod_mm reports RELEASED (no pin
#    holder of the dead mm left; the dead mm's locked_vm itself never
#    drops, a kernel fact, docs/vfiod-mm.md);
#  - a fault at each step: the claim (injected: the member's move to
#    vfio-pci fails), and vfiod killed (a test crash point, no cleanup)
#    after the claim, after the raise, after the remove was proven and
#    after the device was given back: the next vfiod undoes the add or
#    finishes the remove from its journal, and the device, the limit and
#    the charge are as before the add / after the remove.

. /opt/vfiod/tests/vmm/vmm-lib.sh
. /opt/vfiod/tests/vm/lib/vm-ownership-lib.sh

MiB256=268435456
PINS=4096000            # 1000 pages of 4 KiB
LIMIT_VGPU=268435456    # mdev-only: the mdev budget, 256 MiB
LIMIT_EDU=335544320     # guest memory + 64 MiB headroom
JOURNAL=/run/vfiod/vms

vm_devices() {
	"$VFIOCTL" --json vm show "$1" | jq -r '[.devices[].name] | join(",")'
}

# state NAME: the charge check, the limit and the devices of VM f, in one line
state_is() {
	vfioctl vm check-charge f
	assert_eq "expected $2 observed $3 limit $4 match" "$(cat "$OUT")" "CheckCharge: $1"
	assert_eq "$4 $4" "$(memlock_of "$VMM_PID")" "RLIMIT_MEMLOCK: $1"
	assert_eq "$5" "$(vm_devices f)" "devices: $1"
	assert_eq null "$(jq -r .transaction "$JOURNAL/f.json")" "no transaction in the journal: $1"
}

# setup BACKEND [vfiod args]: VM f, 256 MiB mapped, the vGPU pinning 1000 pages
setup() {
	BACKEND=$1
	shift
	[ "$BACKEND" = type1 ] || has_iommufd || skip "no /dev/iommu on this kernel"
	modprobe vfio-pci
	modprobe vfio_iommu_type1 || true
	modprobe mdev || fail "modprobe mdev"
	load_test_module vfiod_test_vgpu
	# the proof of a closed device for removes vfiod cannot prove itself (iommufd; a VM adopted after a restart)
	grep -q '^vfiod_mm ' /proc/modules || load_test_module vfiod_mm
	EDU=$(lab_device edu)
	BEFORE=$(device_snapshot "$EDU")
	VGPU=$(mdev_create vfiod_vgpu vfiod_vgpu-1)
	start_vfiod "$@"
	vmm_spawn "--$BACKEND" "$VGPU" --vfiod f --user vmm --mem 256M
	vfioctl_ok vm register f --pid "$VMM_PID" --backend "$BACKEND" --memory 256M $REGISTER_ARGS
	vfioctl_ok vm add-device f "$VGPU"
	vmm_go
	vmm_step map 0 256M
	echo "0x100000 1000" >"/sys/bus/mdev/devices/$VGPU/vgpu/pin" || fail "vGPU pin"
	state_is "vGPU only" 0 "$PINS" "$LIMIT_VGPU" "$VGPU"
}

teardown() {
	vmm_stop
	wait_until 60 vm_is_gone f
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu after the VM"
	mdev_remove "$VGPU"
	stop_vfiod
	[ ! -e "$JOURNAL/f.json" ] || fail "journal of a released VM left"
}

# vfiod dies at POINT during the vfioctl command that follows (no cleanup)
arm_crash() {
	stop_vfiod
	export VFIOD_TEST_CRASH=$1
	start_vfiod
	unset VFIOD_TEST_CRASH
}

# the crashed vfiod is gone; the next one recovers from the journal
recover() {
	[ "$RC" -ne 0 ] || fail "the command answered although vfiod crashed at $1"
	_pid=$(cat "$VFIOD_PIDFILE")
	wait_until 20 sh -c "[ ! -d /proc/$_pid ] || grep -q '^State:.*Z' /proc/$_pid/status"
	wait "$_pid" 2>/dev/null || :
	rm -f "$VFIOD_PIDFILE"
	vfiod_log | grep -q "TEST CRASH at $1" || fail "vfiod did not reach $1"
	start_vfiod
	vfiod_log | grep -q "VM f: adopted again after vfiod's restart" || fail "VM f not adopted after $1"
}

cap_case() {
	REGISTER_ARGS="--memlock-cap 300M" setup "$1"
	vfioctl vm add-device f "$EDU"
	assert_refused org.vfiod1.Error.MemlockCapExceeded
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu untouched by the refused add"
	state_is "after the refused add" 0 "$PINS" "$LIMIT_VGPU" "$VGPU"
	teardown
}

testcase_cap_refuses_before_anything_changes_type1() { cap_case type1; }
testcase_cap_refuses_before_anything_changes_iommufd() { cap_case iommufd; }

vmm_killed_case() {
	REGISTER_ARGS= setup "$1"
	vfioctl_ok vm add-device f "$EDU"
	assert_eq "$LIMIT_EDU $LIMIT_EDU" "$(memlock_of "$VMM_PID")" "limit raised by AddDevice"
	vmm_kill
	wait_until 60 vm_is_gone f
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu back on its driver"
	assert_eq 0 "$(cat "/sys/bus/mdev/devices/$VGPU/vgpu/pinned")" "the vGPU holds no pin"
	wait_until 30 grep -q "VM f: vfiod_mm reports RELEASED" "$VFIOD_LOG"
	[ ! -e "$JOURNAL/f.json" ] || fail "journal of the released VM left"
	mdev_remove "$VGPU"
	stop_vfiod
}

testcase_vmm_killed_mid_hotplug_type1() { vmm_killed_case type1; }
testcase_vmm_killed_mid_hotplug_iommufd() { vmm_killed_case iommufd; }

# the claim itself fails (the 1st member moved to vfio-pci): rolled back
claim_fault_case() {
	REGISTER_ARGS= setup "$1" --test-fault=bind-member:1
	vfioctl vm add-device f "$EDU"
	[ "$RC" -eq 1 ] || fail "the add with a failing claim answered $RC"
	assert_contains "$(cat "$ERR")" "injected test fault" "the error names the fault"
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu back after the failed claim"
	state_is "after the failed claim" 0 "$PINS" "$LIMIT_VGPU" "$VGPU"
	teardown
}

testcase_claim_fault_rolls_back_type1() { claim_fault_case type1; }
testcase_claim_fault_rolls_back_iommufd() { claim_fault_case iommufd; }

# vfiod killed after the claim, then after the raise: the add is undone
add_crash_case() {
	REGISTER_ARGS= setup "$1"
	for point in add-claimed add-raised; do
		arm_crash "$point"
		vfioctl vm add-device f "$EDU"
		recover "$point"
		vfiod_log | grep -q "VM f: the add of $EDU was under way at vfiod's exit: undone" ||
			fail "the add was not undone after $point"
		assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu back after a crash at $point"
		state_is "after a crash at $point" 0 "$PINS" "$LIMIT_VGPU" "$VGPU"
	done
	# the adopted VM takes a hot-add again, end to end
	vfioctl_ok vm add-device f "$EDU"
	vmm_step hotadd f "$EDU"
	state_is "edu attached after the recovery" "$MiB256" "$MiB256" "$LIMIT_EDU" "$VGPU,$EDU"
	vmm_step hotremove "$EDU"
	vfioctl_ok vm remove-device f "$EDU"
	state_is "edu removed after the recovery" 0 "$PINS" "$LIMIT_VGPU" "$VGPU"
	teardown
}

testcase_crash_during_add_is_undone_type1() { add_crash_case type1; }
testcase_crash_during_add_is_undone_iommufd() { add_crash_case iommufd; }

# vfiod killed once the remove is proven, then once edu was given back: finished
remove_crash_case() {
	REGISTER_ARGS= setup "$1"
	for point in remove-proved remove-given-back; do
		vfioctl_ok vm add-device f "$EDU"
		vmm_step hotadd f "$EDU"
		state_is "edu attached before $point" "$MiB256" "$MiB256" "$LIMIT_EDU" "$VGPU,$EDU"
		vmm_step hotremove "$EDU"
		arm_crash "$point"
		vfioctl vm remove-device f "$EDU"
		recover "$point"
		vfiod_log | grep -q "VM f: the remove of $EDU was under way at vfiod's exit: finished" ||
			fail "the remove was not finished after $point"
		assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu given back after a crash at $point"
		state_is "after a crash at $point" 0 "$PINS" "$LIMIT_VGPU" "$VGPU"
	done
	teardown
}

testcase_crash_during_remove_is_finished_type1() { remove_crash_case type1; }
testcase_crash_during_remove_is_finished_iommufd() { remove_crash_case iommufd; }
