# vfiod-kernels: test modern
# The seed scenario of the "Memlock limits" issue on iommufd: a VM with
# 256 MiB and one vGPU (tests/kernel's vfiod_test_vgpu) pinning 1000 pages
# through an iommufd access; the charge (per-process accounting, set by
# vfiod) is the 1000 pages. Hot-adding edu raises the limit first; the
# VMM binds its own file of edu's cdev and attaches it to its IOAS; the
# IOAS pins every page once, whoever uses it (iopt_pages), so the charge
# becomes 256 MiB, not 256 MiB + 1000 pages. Hot-removing edu: the VMM
# closes its cdev file (the detach from the IOAS happens on close), vfiod
# proves with the vfiod_mm helper that nothing but the registration holds
# edu's struct vfio_device, gives edu back and lowers the limit; the charge
# is exactly the vGPU's 1000 pages again. Hot-removing the vGPU: 0, and
# the VMM's original limit is back. At every step vfiod's check matches
# and the limit is never below the charge.
# Failure paths: a RemoveDevice while the VMM still has the cdev open is
# refused (DeviceBusy) and changes nothing. Without the helper the group's
# exclusive open is the proof, and a file the VMM never bound is bound by
# vfiod first (testcase_remove_without_helper).

. /opt/vfiod/tests/vmm/vmm-lib.sh
. /opt/vfiod/tests/vm/lib/vm-ownership-lib.sh

MiB256=268435456
PINS=4096000            # 1000 pages of 4 KiB
LIMIT_VGPU=268435456    # mdev-only: the mdev budget, 256 MiB
LIMIT_EDU=335544320     # guest memory + 64 MiB headroom

vm_devices() {
	"$VFIOCTL" --json vm show "$1" | jq -r '[.devices[].name] | sort | join(" ")'
}

# the device cdev files vfiod itself holds open
vfiod_cdev_files() {
	for _vc in "/proc/$(cat "$VFIOD_PIDFILE")"/fd/*; do
		readlink "$_vc"
	done | grep -c '^/dev/vfio/devices/' || true
}

# step_check NAME EXPECTED OBSERVED LIMIT: vfiod's check agrees, the limit covers the charge
step_check() {
	vfioctl vm check-charge seed
	assert_eq "expected $2 observed $3 limit $4 match" "$(cat "$OUT")" "CheckCharge: $1"
	assert_eq "$4 $4" "$(memlock_of "$VMM_PID")" "RLIMIT_MEMLOCK (soft hard): $1"
	[ "$4" -ge "$3" ] || fail "the limit $4 is below the charge $3: $1"
}

testcase_seed_scenario() {
	has_iommufd || skip "no /dev/iommu on this kernel"
	modprobe vfio-pci
	modprobe mdev || fail "modprobe mdev"
	load_test_module vfiod_test_vgpu
	load_test_module vfiod_mm
	EDU=$(lab_device edu)
	BEFORE=$(device_snapshot "$EDU")
	VGPU=$(mdev_create vfiod_vgpu vfiod_vgpu-1)
	kmsg_mark
	start_vfiod

	vmm_spawn --iommufd "$VGPU" --vfiod seed --user vmm --mem 256M
	orig=$(memlock_of "$VMM_PID")
	vfioctl_ok vm register seed --pid "$VMM_PID" --backend iommufd --memory 256M
	vfioctl_ok vm add-device seed "$VGPU"
	vmm_go
	assert_contains "$VMM_SETUP" "rlimit_mode=1" "vfiod's per-process accounting"
	vmm_step map 0 256M
	echo "0x100000 1000" >"/sys/bus/mdev/devices/$VGPU/vgpu/pin" || fail "vGPU pin"
	step_check "vGPU with 1000 pinned pages" 0 "$PINS" "$LIMIT_VGPU"

	# hot-add edu: the limit first, before the VMM can attach anything
	vfioctl_ok vm add-device seed "$EDU"
	assert_eq "$LIMIT_EDU $LIMIT_EDU" "$(memlock_of "$VMM_PID")" "limit raised by AddDevice"
	assert_eq "$PINS" "$(vm_prop seed LockedBytes)" "charge before the VMM attached edu"
	vmm_step hotadd seed "$EDU"
	step_check "edu attached by the VMM" "$MiB256" "$MiB256" "$LIMIT_EDU"
	assert_eq "$MiB256" "$(vm_prop seed PinnedBytes)" "pinned_vm: each page once"

	# refused while the VMM has edu's cdev open: nothing changes
	own=$(vfiod_cdev_files)
	assert_eq 2 "$own" "vfiod's own cdev files (vGPU, edu)"
	vfioctl vm remove-device seed "$EDU"
	assert_refused org.vfiod1.Error.DeviceBusy
	assert_contains "$(cat "$ERR")" "the VMM still has the device open" "the refusal says why"
	assert_contains "$(cat "$ERR")" "open count 1" "the VMM's bound file"
	assert_eq vfio-pci "$(pci_driver "$EDU")" "edu stays on vfio-pci"
	assert_eq "$(echo "$EDU $VGPU" | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')" \
		"$(vm_devices seed)" "edu stays in the VM"
	assert_eq "$own" "$(vfiod_cdev_files)" "vfiod holds its own cdev file again"
	step_check "refused remove" "$MiB256" "$MiB256" "$LIMIT_EDU"

	# hot-remove edu: the VMM closes its cdev, vfiod proves it and gives edu back, then lowers
	vmm_step hotremove "$EDU"
	assert_eq "$PINS" "$(vm_prop seed LockedBytes)" "charge once the VMM closed edu"
	assert_eq "$LIMIT_EDU $LIMIT_EDU" "$(memlock_of "$VMM_PID")" "limit before vfiod gave edu back"
	vfioctl_ok vm remove-device seed "$EDU"
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu given back"
	assert_eq "$VGPU" "$(vm_devices seed)" "only the vGPU is left"
	step_check "edu removed" 0 "$PINS" "$LIMIT_VGPU"

	# hot-remove the vGPU: nothing charged, the original limit back
	vmm_step hotremove "$VGPU"
	assert_eq 0 "$(vm_prop seed LockedBytes)" "charge once the VMM closed the vGPU"
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

# the helper's DEVICE_USERS itself, on edu bound to vfio-pci with nobody
# else around: tests/mm/test-device-users.c (opens, duplicates and closes
# of the cdev, refusals)
testcase_helper_device_users() {
	has_iommufd || skip "no /dev/iommu on this kernel"
	[ -x "$VFIOD_BIN/vfd-mm-test" ] || skip "vfd-mm-test is not built"
	load_test_module vfiod_mm
	EDU=$(lab_device edu)
	BEFORE=$(device_snapshot "$EDU")
	bind_vfio "$EDU"
	kmsg_mark
	VFD_MM_TEST_VFIO_PCI=$EDU "$VFIOD_BIN/vfd-mm-test" \
		-r device_users.registration_alone \
		-r device_users.every_open_file_counts_until_closed \
		-r device_users.refusals \
		-r device_users.policy_refusals >&2 || fail "vfd-mm-test device_users"
	unbind_vfio "$EDU"
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu as before"
	kmsg_assert_clean
}

# without the vfiod_mm helper (daemon/vm-backend-iommufd.c): a bound cdev
# file blocks the group's exclusive open wherever it is, and vfiod binds
# any file it handed out that the VMM left unbound before it lets go of
# its copy. A plain hot-remove works; a VMM that keeps a file of edu it
# never bound, in flight in a unix socket (invisible in /proc), is refused
# (DeviceBusy) while it holds it: first because its bound file stops vfiod
# from binding the other, then because vfiod bound it. Nothing changes,
# and vfiod never waits in the kernel for the unbind.
testcase_remove_without_helper() {
	has_iommufd || skip "no /dev/iommu on this kernel"
	modprobe vfio-pci
	if grep -q '^vfiod_mm ' /proc/modules; then
		rmmod vfiod_mm || fail "rmmod vfiod_mm"
	fi
	EDU=$(lab_device edu)
	BEFORE=$(device_snapshot "$EDU")
	kmsg_mark
	start_vfiod
	vmm_spawn --iommufd "$EDU" --vfiod nohelper --user vmm --mem 16M
	orig=$(memlock_of "$VMM_PID")
	vfioctl_ok vm register nohelper --pid "$VMM_PID" --backend iommufd --memory 16M
	vfioctl_ok vm add-device nohelper "$EDU"
	vmm_go
	limit=$(memlock_of "$VMM_PID")

	# one more file of edu, never bound, in flight
	vmm_step grab-unbound nohelper "$EDU"
	vfioctl vm remove-device nohelper "$EDU"
	assert_refused org.vfiod1.Error.DeviceBusy
	assert_contains "$(cat "$ERR")" "never bound" "refused: the VMM keeps a file it never bound"
	assert_eq vfio-pci "$(pci_driver "$EDU")" "edu stays on vfio-pci"
	assert_eq "$EDU" "$(vm_devices nohelper)" "edu stays in the VM"
	assert_eq "$limit" "$(memlock_of "$VMM_PID")" "limit unchanged"

	# the VMM closes the file it bound: vfiod binds the one in flight, whose group is then held
	vmm_step hotremove "$EDU"
	vfioctl vm remove-device nohelper "$EDU"
	assert_refused org.vfiod1.Error.DeviceBusy
	assert_contains "$(cat "$ERR")" "group" "refused: the file in flight is bound now and holds the group"
	assert_eq vfio-pci "$(pci_driver "$EDU")" "edu stays on vfio-pci"
	assert_eq "$EDU" "$(vm_devices nohelper)" "edu stays in the VM"
	assert_eq "$limit" "$(memlock_of "$VMM_PID")" "limit unchanged"
	vfiod_log | grep -q "stuck in the kernel" && fail "vfiod's unbind waited in the kernel"

	# the file in flight is closed: the remove goes through
	vmm_step drop-inflight
	vfioctl_ok vm remove-device nohelper "$EDU"
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu given back"
	assert_eq "" "$(vm_devices nohelper)" "no device left"
	assert_eq "$orig" "$(memlock_of "$VMM_PID")" "the VMM's original limit"

	# a plain hot-add and hot-remove of edu, without the helper
	vfioctl_ok vm add-device nohelper "$EDU"
	vmm_step hotadd nohelper "$EDU"
	vmm_step hotremove "$EDU"
	vfioctl_ok vm remove-device nohelper "$EDU"
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu given back after the hot-add"
	assert_eq "$orig" "$(memlock_of "$VMM_PID")" "the VMM's original limit again"

	# Release while a file never bound is in flight: the release closes
	# vfiod's iommufd first, yet its copy of that file is bound (to an
	# iommufd opened for it) before it goes, so the release waits for the
	# holder, never in the kernel
	vfioctl_ok vm add-device nohelper "$EDU"
	vmm_step hotadd nohelper "$EDU"
	vmm_step grab-unbound nohelper "$EDU"
	vmm_step hotremove "$EDU"
	vfioctl vm release nohelper
	[ "$RC" -ne 0 ] || fail "Release went through while a file of edu is in flight"
	assert_contains "$(cat "$ERR")" "DeviceBusy" "Release: edu is busy"
	assert_eq releasing "$(vm_state nohelper)" "the VM waits for edu"
	assert_eq vfio-pci "$(pci_driver "$EDU")" "edu stays on vfio-pci while a file of it is in flight"
	sleep 2
	vfiod_log | grep -q "stuck in the kernel" && fail "vfiod's unbind waited in the kernel"
	vmm_step drop-inflight
	wait_until 60 vm_is_gone nohelper
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu given back by the release"
	vmm_stop
	stop_vfiod
	kmsg_assert_clean
}
