# vfiod-kernels: distro
# Every refusal of VM ownership on a real kernel comes with a stable D-Bus
# error name and changes nothing: a member of the ICH9 group (whose SMBus
# function holds a host driver), a bridge, a device or mdev another VM
# owns, a missing address, an mdev type with no instance left, and a
# descriptor request from a process that is not the VM's VMM. A failure
# injected in the middle of a group bind leaves every member on its
# original driver.

. /opt/vfiod/tests/vmm/vmm-lib.sh
. /opt/vfiod/tests/vm/lib/vm-ownership-lib.sh

ICH9=0000:00:1f.2

# register NAME: a type1 VM whose VMM is a stand-in process (held in VMM_PIDS)
register() {
	sleep 600 &
	VMM_PIDS="${VMM_PIDS:-} $!"
	vfioctl_ok vm register "$1" --pid "$!" --backend type1 --memory 64M
}

ich9_members() {
	ls "/sys/kernel/iommu_groups/$(pci_group "$ICH9")/devices"
}

devices_of() {
	"$VFIOCTL" --json vm show "$1" | jq -r '[.devices[].name] | join(",")'
}

setup() {
	modprobe vfio-pci
	modprobe vfio_iommu_type1 || true
	start_vfiod "$@"
}

testcase_host_used_group_member() {
	setup
	[ "$(ich9_members | wc -l)" -ge 2 ] || skip "the ICH9 group has one member here"
	before=$(device_snapshot $(ich9_members))
	log "ICH9 group: $before"
	register r1
	vfioctl vm add-device r1 "$ICH9"
	assert_refused org.vfiod1.Error.DeviceBusy
	assert_contains "$(cat "$ERR")" "0000:00:1f.3" "the message names the host-used member"
	assert_eq "$before" "$(device_snapshot $(ich9_members))" "ICH9 members after the refusal"
	assert_eq "" "$(devices_of r1)" "devices of r1"
	vfioctl_ok vm release r1
	stop_vfiod
}

testcase_bridge_and_missing_address() {
	setup
	register r1
	bridge=0000:00:01.0
	before=$(device_snapshot "$bridge")
	vfioctl vm add-device r1 "$bridge"
	assert_refused org.vfiod1.Error.NotEndpoint
	assert_eq "$before" "$(device_snapshot "$bridge")" "the root port after the refusal"
	[ ! -e /sys/bus/pci/devices/0000:00:1d.7 ] || fail "the lab has 00:1d.7"
	vfioctl vm add-device r1 0000:00:1d.7
	assert_refused org.vfiod1.Error.NoSuchDevice
	assert_eq "" "$(devices_of r1)" "devices of r1"
	vfioctl_ok vm release r1
	stop_vfiod
}

testcase_device_owned_by_another_vm() {
	setup
	EDU=$(lab_device edu)
	before=$(device_snapshot "$EDU")
	register r1
	register r2
	vfioctl_ok vm add-device r1 "$EDU"
	vfioctl vm add-device r2 "$EDU"
	assert_refused org.vfiod1.Error.OwnedByOtherVM
	vfioctl bind "$EDU"
	assert_refused org.vfiod1.Error.OwnedByOtherVM
	assert_eq "$EDU" "$(devices_of r1)" "devices of r1"
	assert_eq "" "$(devices_of r2)" "devices of r2"
	assert_eq vfio-pci "$(pci_driver "$EDU")" "edu's driver while r1 owns it"
	vfioctl_ok vm release r1
	assert_eq "$before" "$(device_snapshot "$EDU")" "edu after r1's release"
	# given back, the other VM may have it
	vfioctl_ok vm add-device r2 "$EDU"
	vfioctl_ok vm release r2
	assert_eq "$before" "$(device_snapshot "$EDU")" "edu after r2's release"
	stop_vfiod
}

testcase_second_claim_of_an_mdev() {
	setup
	register r1
	register r2
	vfioctl_ok vm create-mdev r1 mtty mtty-1
	uuid=$(cat "$OUT")
	vfioctl vm add-device r2 "$uuid"
	assert_refused org.vfiod1.Error.MdevClaimed
	vfioctl mdev remove "$uuid"
	assert_refused org.vfiod1.Error.MdevClaimed
	mdev_exists "$uuid" || fail "the refused claims removed the mdev"
	assert_eq "" "$(devices_of r2)" "devices of r2"
	vfioctl_ok vm release r1
	wait_until 30 mdev_gone "$uuid"
	vfioctl_ok vm release r2
	stop_vfiod
}

testcase_mdev_type_without_instances() {
	setup
	types=/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2
	[ -d "$types" ] || skip "no mtty-2 type"
	before=$(ls /sys/bus/mdev/devices | sort)
	created=
	n=$(cat "$types/available_instances")
	while [ "$n" -gt 0 ]; do
		vfioctl_ok mdev create mtty mtty-2
		created="$created $(cat "$OUT")"
		n=$((n - 1))
	done
	assert_eq 0 "$(cat "$types/available_instances")" "instances left"
	vfioctl mdev create mtty mtty-2
	assert_refused org.vfiod1.Error.NoAvailableInstances
	register r1
	vfioctl vm create-mdev r1 mtty mtty-2
	assert_refused org.vfiod1.Error.NoAvailableInstances
	assert_eq "" "$(devices_of r1)" "devices of r1"
	for u in $created; do vfioctl_ok mdev remove "$u"; done
	assert_eq "$before" "$(ls /sys/bus/mdev/devices | sort)" "mdevs after the test"
	vfioctl_ok vm release r1
	stop_vfiod
}

testcase_fds_only_for_the_vmm() {
	setup
	EDU=$(lab_device edu)
	register r1
	vfioctl_ok vm add-device r1 "$EDU"
	path=$("$VFIOCTL" --json vm list | jq -r '.[] | select(.name == "r1") | .path')
	# an unprivileged process that is not r1's VMM
	rc=0
	run_as_vmm dbus-send --system --print-reply --dest=org.vfiod1 "$path" org.vfiod1.VM.GetFds \
		>/tmp/getfds.out 2>/tmp/getfds.err || rc=$?
	[ "$rc" -ne 0 ] || fail "GetFds by a stranger succeeded"
	grep -q "org.vfiod1.Error.NotVMM" /tmp/getfds.err || fail "GetFds by a stranger: $(cat /tmp/getfds.err)"
	assert_eq registered "$(vm_state r1)" "state after the refused request"
	vfioctl_ok vm release r1
	stop_vfiod
}

testcase_injected_failure_mid_group_rolls_back() {
	# the 2nd member that has to move fails after its host driver was unbound
	setup --test-fault bind-member:2
	[ "$(ich9_members | wc -l)" -ge 2 ] || skip "the ICH9 group has one member here"
	before=$(device_snapshot $(ich9_members))
	vfioctl bind "$ICH9" --unbind-host-members
	[ "$RC" -eq 1 ] || fail "the bind with an injected failure succeeded: $(cat "$OUT")"
	assert_eq "$before" "$(device_snapshot $(ich9_members))" "ICH9 members after the rollback"
	grep -q "TEST FAULT armed" "$VFIOD_LOG" || fail "vfiod did not arm the fault"
	stop_vfiod
}
