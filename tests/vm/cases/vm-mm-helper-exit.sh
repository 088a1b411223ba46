# vfiod-kernels: distro test
# vfiod accounts for what a VMM pinned after the VMM is gone, through the
# vfiod_mm helper. The reference VMM (uid 1000, no capabilities) pins
# 64 MiB through the VFIO context vfiod holds for its VM and is killed.
# The helper's EXITED event reaches vfiod; the VM (registered with
# release_on_exit off) still reports 64 MiB locked after the process is
# gone, through its properties and vfioctl. Once vfiod releases the VM
# and closes its descriptors, the helper reports RELEASED: nothing but
# the helper references the dead mm, which proves every pin holder is gone.
#
# Measured kernel fact (docs/vfiod-mm.md): after the mm exited, type1
# (vfio_lock_acct: `if (async && !mmget_not_zero(mm)) return -ESRCH`) and
# iommufd with RLIMIT_MODE 1 never uncharge, so locked_vm does NOT drop
# to 0: RELEASED comes with the 64 MiB still in the dead mm's counter,
# and vfiod logs them as stale. This case asserts exactly that.
#
# Without the module vfiod works on, says MmHelper "absent", and only
# knows the VMM's memory from /proc while it lives.

. /opt/vfiod/tests/vmm/vmm-lib.sh
. /opt/vfiod/tests/vm/lib/vm-ownership-lib.sh

MiB64=67108864

manager_property() {
	/usr/bin/dbus-send --system --print-reply --dest=org.vfiod1 /org/vfiod1 \
		org.freedesktop.DBus.Properties.Get string:org.vfiod1.Manager "string:$1" |
		sed -n 's/.*variant *string "\(.*\)"/\1/p'
}

vm_list_field() {
	"$VFIOCTL" --json vm list | jq -r --arg n "$1" --arg f "$2" '.[] | select(.name == $n) | .[$f]'
}

vmm_is_exited() {
	[ "$(vm_prop "$1" VMMState)" = exited ]
}

log_has() {
	vfiod_log | grep -q "$1"
}

# exit_case BACKEND: the whole story on one backend
exit_case() {
	backend=$1
	name=exit-$backend
	[ "$backend" = type1 ] || has_iommufd || skip "no /dev/iommu on this kernel"
	load_test_module vfiod_mm
	modprobe vfio-pci
	modprobe vfio_iommu_type1 || true
	EDU=$(lab_device edu)
	BEFORE=$(device_snapshot "$EDU")
	kmsg_mark
	start_vfiod
	assert_eq available "$(manager_property MmHelper)" "Manager.MmHelper with the module loaded"

	# no --memlock: vfiod sets the VMM's limit (precise: 64 MiB + 64 MiB headroom)
	vmm_spawn --"$backend" "$EDU" --vfiod "$name" --user vmm --mem 64M
	vfioctl_ok vm register "$name" --pid "$VMM_PID" --backend "$backend" --memory 64M --keep-after-exit
	log_has "VM $name: vfiod_mm tracks the VMM's mm as handle" || fail "vfiod did not track the VMM"
	vfioctl_ok vm add-device "$name" "$EDU"
	vmm_go
	assert_contains "$VMM_SETUP" "uid=1000" "the VMM runs unprivileged"
	assert_contains "$VMM_SETUP" "CapEff=0000000000000000" "the VMM has no capabilities"
	vmm_step map 0 64M
	vmm_step status
	assert_eq 134217728 "$(vmm_field memlock)" "the VMM's RLIMIT_MEMLOCK as vfiod set it"

	assert_eq alive "$(vm_prop "$name" VMMState)" "VMMState while the VMM runs"
	assert_eq "$MiB64" "$(vm_prop "$name" LockedBytes)" "LockedBytes while the VMM runs"
	vfioctl_ok vm check-charge "$name"
	assert_contains "$(cat "$OUT")" "expected $MiB64 observed $MiB64" "CheckCharge while mapped"
	if [ "$backend" = iommufd ]; then
		assert_eq "$MiB64" "$(vm_prop "$name" PinnedBytes)" "PinnedBytes (iommufd) while the VMM runs"
	fi

	pid=$VMM_PID
	vmm_kill
	wait_until 60 vmm_is_exited "$name"
	[ ! -e "/proc/$pid" ] || fail "the VMM (pid $pid) is still there"
	# the dead mm still carries the pins vfiod's descriptors hold
	assert_eq "$MiB64" "$(vm_prop "$name" LockedBytes)" "LockedBytes after the VMM is gone"
	assert_eq "$MiB64" "$(vm_prop "$name" ExitLockedBytes)" "ExitLockedBytes (the EXITED event)"
	assert_eq exited "$(vm_list_field "$name" vmm_state)" "vfioctl vm list: VMM state"
	assert_eq "$MiB64" "$(vm_list_field "$name" locked_bytes)" "vfioctl vm list: locked bytes"
	assert_eq vfiod_mm "$(vm_list_field "$name" memory_source)" "where the counters come from"
	"$VFIOCTL" vm list >"$OUT"
	grep -q "$name .* exited .*$MiB64" "$OUT" || fail "vm list table lacks the exited VMM's 64 MiB: $(cat "$OUT")"
	log_has "VM $name: the VMM's address space is gone; $MiB64 bytes locked" ||
		fail "vfiod did not log the EXITED event with 64 MiB"
	assert_eq active "$(vm_state "$name")" "the VM stays until Release (release_on_exit off)"
	log_has "VM $name: vfiod_mm reports RELEASED" && fail "RELEASED before vfiod let go of its descriptors"

	vfioctl_ok vm release "$name"
	assert_eq released "$(cat "$OUT")" "Release after the VMM's exit"
	wait_until 60 log_has "VM $name: vfiod_mm reports RELEASED"
	# the kernel never uncharges a dead mm (type1, iommufd mode 1): stale, not pins
	vfiod_log | grep "VM $name: vfiod_mm reports RELEASED" | grep -q "locked 64.0 MiB" ||
		fail "RELEASED without the stale 64 MiB: $(vfiod_log | grep RELEASED)"
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu's driver after release"
	vfiod_log | grep "VM $name" >&2
	stop_vfiod
	kmsg_assert_clean
}

testcase_type1_pins_outlive_the_vmm_until_released() {
	exit_case type1
}

testcase_iommufd_pins_outlive_the_vmm_until_released() {
	exit_case iommufd
}

testcase_without_the_helper_only_proc_while_alive() {
	if grep -q '^vfiod_mm ' /proc/modules; then
		rmmod vfiod_mm || fail "rmmod vfiod_mm"
	fi
	modprobe vfio-pci
	modprobe vfio_iommu_type1 || true
	EDU=$(lab_device edu)
	start_vfiod
	assert_eq absent "$(manager_property MmHelper)" "Manager.MmHelper without the module"
	log_has "accounting after exit unavailable (vfiod_mm not loaded)" || fail "no log line about the missing helper"
	vmm_spawn --type1 "$EDU" --vfiod noh --user vmm --mem 16M
	vfioctl_ok vm register noh --pid "$VMM_PID" --backend type1 --memory 16M --keep-after-exit
	vfioctl_ok vm add-device noh "$EDU"
	vmm_go
	vmm_step map 0 16M
	assert_eq 16777216 "$(vm_prop noh LockedBytes)" "LockedBytes from /proc"
	assert_eq proc "$(vm_list_field noh memory_source)" "where the counters come from"
	vmm_kill
	wait_until 60 vmm_is_exited noh
	# nothing can see the dead mm without the helper: 0, and "none" says so
	assert_eq 0 "$(vm_prop noh LockedBytes)" "LockedBytes after the exit, no helper"
	assert_eq none "$(vm_list_field noh memory_source)" "no source after the exit"
	vfioctl_ok vm release noh
	stop_vfiod
}
