# vfiod-kernels: test
# The seed scenario of the "Memlock limits" issue on iommufd, as far as
# vfiod supports it: a VM with 256 MiB and one vGPU (tests/kernel's
# vfiod_test_vgpu) pinning 1000 pages through an iommufd access; the
# charge (per-process accounting, set by vfiod) is the 1000 pages.
# Hot-adding edu raises the limit first; the VMM binds edu's cdev and
# attaches it to its IOAS; the IOAS pins every page once, whoever uses it
# (iopt_pages), so the charge becomes 256 MiB, not 256 MiB + 1000 pages.
# Hot-removing a device from a running VMM is refused on iommufd
# (DeviceBusy): vfiod cannot prove the VMM closed the cdev, and the
# unbind would block until it does. The VMM's exit releases everything.

. /opt/vfiod/tests/vmm/vmm-lib.sh
. /opt/vfiod/tests/vm/cases/vm-ownership-lib.sh

MiB256=268435456
PINS=4096000            # 1000 pages of 4 KiB
LIMIT_VGPU=268435456    # mdev-only: the mdev budget, 256 MiB
LIMIT_EDU=335544320     # guest memory + 64 MiB headroom

memlock_of() {
	awk '/^Max locked memory/ { print $4, $5 }' "/proc/$1/limits"
}

vm_prop() {
	"$VFIOCTL" --json vm show "$1" | jq -r ".$2"
}

step_check() {
	vfioctl vm check-charge seed
	assert_eq "expected $2 observed $3 limit $4 match" "$(cat "$OUT")" "CheckCharge: $1"
	assert_eq "$4 $4" "$(memlock_of "$VMM_PID")" "RLIMIT_MEMLOCK (soft hard): $1"
	[ "$4" -ge "$3" ] || fail "the limit $4 is below the charge $3: $1"
}

testcase_seed_scenario_hot_add() {
	has_iommufd || skip "no /dev/iommu on this kernel"
	modprobe vfio-pci
	modprobe mdev || fail "modprobe mdev"
	load_test_module vfiod_test_vgpu
	EDU=$(lab_device edu)
	BEFORE=$(device_snapshot "$EDU")
	VGPU=$(mdev_create vfiod_vgpu vfiod_vgpu-1)
	kmsg_mark
	start_vfiod

	vmm_spawn --iommufd "$VGPU" --vfiod seed --user vmm --mem 256M
	vfioctl_ok vm register seed --pid "$VMM_PID" --backend iommufd --memory 256M
	vfioctl_ok vm add-device seed "$VGPU"
	vmm_go
	assert_contains "$VMM_SETUP" "rlimit_mode=1" "vfiod's per-process accounting"
	vmm_step map 0 256M
	echo "0x100000 1000" >"/sys/bus/mdev/devices/$VGPU/vgpu/pin" || fail "vGPU pin"
	step_check "vGPU with 1000 pinned pages" 0 "$PINS" "$LIMIT_VGPU"

	vfioctl_ok vm add-device seed "$EDU"
	assert_eq "$LIMIT_EDU $LIMIT_EDU" "$(memlock_of "$VMM_PID")" "limit raised by AddDevice"
	assert_eq "$PINS" "$(vm_prop seed LockedBytes)" "charge before the VMM attached edu"
	vmm_step hotadd seed "$EDU"
	step_check "edu attached by the VMM" "$MiB256" "$MiB256" "$LIMIT_EDU"
	assert_eq "$MiB256" "$(vm_prop seed PinnedBytes)" "pinned_vm: each page once"

	vfioctl vm remove-device seed "$EDU"
	assert_refused org.vfiod1.Error.DeviceBusy
	assert_eq "$LIMIT_EDU $LIMIT_EDU" "$(memlock_of "$VMM_PID")" "limit after the refused remove"

	vfiod_log | grep "VM seed" >&2
	vmm_stop
	wait_until 60 vm_is_gone seed
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu given back after the VMM's exit"
	mdev_remove "$VGPU"
	stop_vfiod
	kmsg_assert_clean
}
