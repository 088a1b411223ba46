# vfiod-kernels: distro test
# The seed scenario of the "Memlock limits" issue on type1: a VM with
# 256 MiB of memory and one vGPU (tests/kernel's vfiod_test_vgpu) that
# pins 1000 pages. The charge is the 1000 pages. Hot-adding edu raises
# the VMM's limit first; the VMM (uid 1000, no capabilities) attaches
# edu's group to its container itself (the attach rule: the replay of its
# mappings pins with the attaching process's mm) and the charge becomes
# 256 MiB, not 256 MiB + 1000 pages. Hot-removing edu (the VMM detaches
# it, vfiod gives it back) returns the charge to exactly the vGPU's 1000
# pages (vfio_iommu_unmap_unpin_reaccount) and the limit is lowered after
# that; hot-removing the vGPU: 0, and the VMM's original limit is back.
# At every step vfiod's check matches (the vGPU's pins are vendor pins,
# allowed up to the mdev budget on top of the expected 0), and the limit
# is never below the charge.

. /opt/vfiod/tests/vmm/vmm-lib.sh
. /opt/vfiod/tests/vm/lib/vm-ownership-lib.sh

MiB256=268435456
PINS=4096000            # 1000 pages of 4 KiB
LIMIT_VGPU=268435456    # mdev-only: the mdev budget, 256 MiB
LIMIT_EDU=335544320     # guest memory + 64 MiB headroom

# step_check NAME EXPECTED OBSERVED LIMIT: vfiod's check agrees, the limit covers the charge
step_check() {
	vfioctl vm check-charge seed
	assert_eq "expected $2 observed $3 limit $4 match" "$(cat "$OUT")" "CheckCharge: $1"
	assert_eq "$4 $4" "$(memlock_of "$VMM_PID")" "RLIMIT_MEMLOCK (soft hard): $1"
	[ "$4" -ge "$3" ] || fail "the limit $4 is below the charge $3: $1"
}

testcase_seed_scenario() {
	modprobe vfio-pci
	modprobe vfio_iommu_type1 || true
	modprobe mdev || fail "modprobe mdev"
	load_test_module vfiod_test_vgpu
	EDU=$(lab_device edu)
	BEFORE=$(device_snapshot "$EDU")
	VGPU=$(mdev_create vfiod_vgpu vfiod_vgpu-1)
	kmsg_mark
	start_vfiod

	vmm_spawn --type1 "$VGPU" --vfiod seed --user vmm --mem 256M
	orig=$(memlock_of "$VMM_PID")
	vfioctl_ok vm register seed --pid "$VMM_PID" --backend type1 --memory 256M
	vfioctl_ok vm add-device seed "$VGPU"
	vmm_go
	assert_contains "$VMM_SETUP" "CapEff=0000000000000000" "the VMM has no capabilities"
	vmm_step map 0 256M
	echo "0x100000 1000" >"/sys/bus/mdev/devices/$VGPU/vgpu/pin" || fail "vGPU pin"
	step_check "vGPU with 1000 pinned pages" 0 "$PINS" "$LIMIT_VGPU"

	# hot-add edu: the limit first, before the VMM can attach anything
	vfioctl_ok vm add-device seed "$EDU"
	assert_eq "$LIMIT_EDU $LIMIT_EDU" "$(memlock_of "$VMM_PID")" "limit raised by AddDevice"
	assert_eq "$PINS" "$(vm_prop seed LockedBytes)" "charge before the VMM attached edu"
	vmm_step hotadd seed "$EDU"
	step_check "edu attached by the VMM" "$MiB256" "$MiB256" "$LIMIT_EDU"

	# hot-remove edu: the VMM detaches, vfiod gives it back, then lowers
	vmm_step hotremove "$EDU"
	assert_eq "$PINS" "$(vm_prop seed LockedBytes)" "charge once the VMM detached edu"
	assert_eq "$LIMIT_EDU $LIMIT_EDU" "$(memlock_of "$VMM_PID")" "limit before vfiod gave edu back"
	vfioctl_ok vm remove-device seed "$EDU"
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu given back"
	step_check "edu removed" 0 "$PINS" "$LIMIT_VGPU"

	# hot-remove the vGPU: nothing charged, the original limit back
	vmm_step hotremove "$VGPU"
	assert_eq 0 "$(vm_prop seed LockedBytes)" "charge once the VMM detached the vGPU"
	vfioctl_ok vm remove-device seed "$VGPU"
	vfioctl vm check-charge seed
	assert_eq "expected 0 observed 0 limit ${orig%% *} match" "$(cat "$OUT")" "CheckCharge: no device"
	assert_eq "$orig" "$(memlock_of "$VMM_PID")" "the VMM's original limit"

	vfiod_log | grep "VM seed" >&2
	vmm_stop
	wait_until 60 vm_is_gone seed
	mdev_remove "$VGPU"
	stop_vfiod
	kmsg_assert_clean
}

# a RemoveDevice while the VMM still has the group attached is refused
# (the unbind would block until the VMM closes the device)
testcase_remove_refused_while_attached() {
	modprobe vfio-pci
	modprobe vfio_iommu_type1 || true
	EDU=$(lab_device edu)
	start_vfiod
	vmm_spawn --type1 "$EDU" --vfiod busy --user vmm --mem 16M
	vfioctl_ok vm register busy --pid "$VMM_PID" --backend type1 --memory 16M
	vfioctl_ok vm add-device busy "$EDU"
	vmm_go
	vfioctl vm remove-device busy "$EDU"
	assert_refused org.vfiod1.Error.DeviceBusy
	assert_contains "$(cat "$ERR")" "still has group" "the refusal says why"
	assert_eq vfio-pci "$(pci_driver "$EDU")" "edu stays with the VM"
	vmm_kill
	wait_until 60 vm_is_gone busy
	stop_vfiod
}
