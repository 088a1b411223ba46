# vfiod-kernels: distro test
# vfiod applies the memlock model to the VMM (docs/org.vfiod1.VM.xml,
# "Memory locking"): RLIMIT_MEMLOCK (soft and hard) through prlimit() on
# the pid behind the VMM's pidfd. Registration without devices leaves the
# limit alone; adding edu raises it to the precise policy's limit
# (guest memory + 64 MiB headroom) before the VMM can have the device;
# removing edu lowers it back to the VMM's original limit; a cap refuses
# an add before anything changes (MemlockCapExceeded). After each step
# vfiod compares the charge it expects with what the kernel charges
# (CheckCharge, ChargeMatches) and a mismatch is reported, not hidden.
# The VMM is the reference VMM (uid 1000, no capabilities, no --memlock
# of its own), on type1.

. /opt/vfiod/tests/vmm/vmm-lib.sh
. /opt/vfiod/tests/vm/lib/vm-ownership-lib.sh

MiB64=67108864
LIMIT_64M=134217728 # 64 MiB guest memory + 64 MiB headroom

# memlock_of PID: "soft hard" in bytes from /proc/PID/limits

setup() {
	modprobe vfio-pci
	modprobe vfio_iommu_type1 || true
	EDU=$(lab_device edu)
	BEFORE=$(device_snapshot "$EDU")
	start_vfiod
}

testcase_register_raise_lower() {
	setup
	vmm_spawn --type1 "$EDU" --vfiod rl --user vmm --mem 64M
	orig=$(memlock_of "$VMM_PID")
	vfioctl_ok vm register rl --pid "$VMM_PID" --backend type1 --memory 64M
	assert_eq "$orig" "$(memlock_of "$VMM_PID")" "limit after registering without devices"
	assert_eq true "$(vm_prop rl ChargeMatches)" "nothing charged, nothing expected"

	vfioctl_ok vm add-device rl "$EDU"
	assert_eq "$LIMIT_64M $LIMIT_64M" "$(memlock_of "$VMM_PID")" "limit (soft hard) once edu is the VM's"
	vfiod_log | grep -q "VM rl (add): RLIMIT_MEMLOCK of the VMM (pid $VMM_PID) set to $LIMIT_64M" ||
		fail "no log line for the raise"

	vfioctl_ok vm remove-device rl "$EDU"
	assert_eq "$orig" "$(memlock_of "$VMM_PID")" "limit restored once edu is given back"
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu given back"

	# and with the VMM running: the charge is what the model expects
	vfioctl_ok vm add-device rl "$EDU"
	vmm_go
	assert_contains "$VMM_SETUP" "uid=1000" "the VMM runs unprivileged"
	vmm_step map 0 64M
	vmm_step status
	assert_eq "$LIMIT_64M" "$(vmm_field memlock)" "the limit the VMM sees"
	vfioctl_ok vm check-charge rl
	assert_eq "expected $MiB64 observed $MiB64 limit $LIMIT_64M match" "$(cat "$OUT")" "CheckCharge"
	assert_eq "$MiB64" "$(vm_prop rl ObservedChargeBytes)" "ObservedChargeBytes"
	assert_eq "$MiB64" "$(vm_prop rl ExpectedChargeBytes)" "ExpectedChargeBytes"
	vmm_stop
	wait_until 60 vm_is_gone rl
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu given back after the VMM's exit"
	stop_vfiod
}

testcase_cap_refuses_before_anything_changes() {
	setup
	vmm_spawn --type1 "$EDU" --vfiod cap --user vmm --mem 64M
	orig=$(memlock_of "$VMM_PID")
	vfioctl_ok vm register cap --pid "$VMM_PID" --backend type1 --memory 64M --memlock-cap 100M
	vfioctl vm add-device cap "$EDU"
	assert_refused org.vfiod1.Error.MemlockCapExceeded
	assert_contains "$(cat "$ERR")" "$LIMIT_64M" "the refusal names the limit the device needs"
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu untouched by the refused add"
	assert_eq "$orig" "$(memlock_of "$VMM_PID")" "limit untouched by the refused add"
	assert_eq 0 "$("$VFIOCTL" --json vm show cap | jq '.devices | length')" "no device in the VM"
	vfioctl_ok vm release cap
	vmm_kill
	stop_vfiod
}

testcase_policy_none_leaves_the_limit_alone() {
	setup
	vmm_spawn --type1 "$EDU" --vfiod none --user vmm --mem 64M
	orig=$(memlock_of "$VMM_PID")
	vfioctl_ok vm register none --pid "$VMM_PID" --backend type1 --memory 64M --memlock-policy none
	vfioctl_ok vm add-device none "$EDU"
	assert_eq "$orig" "$(memlock_of "$VMM_PID")" "memlock_policy none: the limit as it was"
	vfioctl_ok vm release none
	vmm_kill
	wait_until 60 vm_is_gone none
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu given back"
	stop_vfiod
}

# the VMM maps half of what it registered: vfiod says so, it does not hide it
testcase_mismatch_is_reported() {
	setup
	vmm_spawn --type1 "$EDU" --vfiod mis --user vmm --mem 64M
	vfioctl_ok vm register mis --pid "$VMM_PID" --backend type1 --memory 64M
	vfioctl_ok vm add-device mis "$EDU"
	vmm_go
	vmm_step map 0 32M
	vfioctl vm check-charge mis
	assert_eq 1 "$RC" "check-charge exit status on a mismatch"
	assert_eq "expected $MiB64 observed 33554432 limit $LIMIT_64M MISMATCH" "$(cat "$OUT")" "CheckCharge"
	assert_eq false "$(vm_prop mis ChargeMatches)" "ChargeMatches"
	vfiod_log | grep -q "VM mis (check): charge MISMATCH: expected $MiB64 bytes, observed 33554432" ||
		fail "no warning about the mismatch in vfiod's log"
	vmm_stop
	wait_until 60 vm_is_gone mis
	stop_vfiod
}

# vgpu_case BACKEND: the first step of the issue's seed scenario: a VM of
# 256 MiB with only a vGPU that pins 1000 pages. Only the vendor driver
# pins in an mdev-only address space: the limit is the mdev budget
# (256 MiB by default, at most guest memory + headroom), the charge is
# exactly the 1000 pages, and vfiod accepts it as vendor pins (expected 0
# plus up to the budget), which no model can predict page by page.
vgpu_case() {
	backend=$1
	name=vgpu-$backend
	[ "$backend" = type1 ] || has_iommufd || skip "no /dev/iommu on this kernel"
	modprobe vfio_iommu_type1 2>/dev/null || true
	modprobe mdev || fail "modprobe mdev"
	load_test_module vfiod_test_vgpu
	VGPU=$(mdev_create vfiod_vgpu vfiod_vgpu-1)
	start_vfiod
	vmm_spawn --"$backend" "$VGPU" --vfiod "$name" --user vmm --mem 256M
	vfioctl_ok vm register "$name" --pid "$VMM_PID" --backend "$backend" --memory 256M
	vfioctl_ok vm add-device "$name" "$VGPU"
	assert_eq "268435456 268435456" "$(memlock_of "$VMM_PID")" "limit (soft hard) of an mdev-only VM"
	vmm_go
	vmm_step map 0 256M
	echo "0x100000 1000" >"/sys/bus/mdev/devices/$VGPU/vgpu/pin" || fail "vGPU pin"
	vfioctl_ok vm check-charge "$name"
	assert_eq "expected 0 observed 4096000 limit 268435456 match" "$(cat "$OUT")" "CheckCharge with 1000 vendor pins"
	assert_eq 4096000 "$(vm_prop "$name" LockedBytes)" "LockedBytes: exactly the vGPU's 1000 pages"
	echo all >"/sys/bus/mdev/devices/$VGPU/vgpu/unpin" || fail "vGPU unpin"
	vfioctl_ok vm check-charge "$name"
	assert_eq "expected 0 observed 0 limit 268435456 match" "$(cat "$OUT")" "CheckCharge after the unpin"
	vmm_stop
	wait_until 60 vm_is_gone "$name"
	mdev_remove "$VGPU"
	stop_vfiod
}

testcase_vgpu_pins_are_the_charge_type1() {
	vgpu_case type1
}

testcase_vgpu_pins_are_the_charge_iommufd() {
	vgpu_case iommufd
}
