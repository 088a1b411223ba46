# vfiod-kernels: distro test
# libvfiod's VM-ownership code on a real kernel, through tests/vfio-probe:
# claiming IOMMU groups by driver_override (and giving them back), the
# refusals, rollback after an injected failure, the type1 container, the
# iommufd context with per-process accounting plus a device cdev bound to
# it, and mdev create/remove.

PROBE=/opt/vfiod/bin/vfio-probe
RECORD=/run/vfio-probe-record.json # in the guest

probe_setup() {
	[ -x "$PROBE" ] || fail "$PROBE not installed"
	modprobe vfio-pci || fail "modprobe vfio-pci"
	modprobe vfio_iommu_type1 || true
}

# the bridge (root port) above BDF
parent_bridge() {
	basename "$(dirname "$(readlink -f "/sys/bus/pci/devices/$1")")"
}

# the NIC on its host driver, e1000e, loaded here if the guest has it
nic_on_host_driver() {
	NIC=$(lab_device e1000e)
	[ -n "$(pci_driver "$NIC")" ] || modprobe e1000e 2>/dev/null || true
	NIC_DRIVER=$(pci_driver "$NIC")
	[ -n "$NIC_DRIVER" ] || skip "no host driver for e1000e in this guest"
}

override_of() {
	cat "/sys/bus/pci/devices/$1/driver_override"
}

testcase_claim_and_release_restore_host_driver() {
	probe_setup
	nic_on_host_driver
	nic=$NIC before=$NIC_DRIVER

	"$PROBE" claim "$nic" >"$RECORD"
	assert_eq vfio-pci "$(pci_driver "$nic")" "driver of $nic after the claim"
	assert_eq vfio-pci "$(override_of "$nic")" "driver_override of $nic after the claim"
	assert_contains "$(cat "$RECORD")" "\"original_driver\":\"$before\"" "the record"
	group=$(pci_group "$nic")
	[ -c "/dev/vfio/$group" ] || fail "/dev/vfio/$group missing after the claim"

	"$PROBE" release "$RECORD"
	assert_eq "$before" "$(pci_driver "$nic")" "driver of $nic after the release"
	assert_eq "(null)" "$(override_of "$nic")" "driver_override of $nic after the release"
}

testcase_claim_unbound_device_and_release() {
	probe_setup
	edu=$(lab_device edu)
	unbind_vfio "$edu"
	"$PROBE" claim "$edu" >"$RECORD"
	assert_eq vfio-pci "$(pci_driver "$edu")" "driver of edu after the claim"
	"$PROBE" release "$RECORD"
	assert_eq "" "$(pci_driver "$edu")" "driver of edu after the release"
	assert_eq "(null)" "$(override_of "$edu")" "driver_override of edu after the release"
}

testcase_refuse_ich9_member() {
	probe_setup
	before=$(for f in /sys/kernel/iommu_groups/"$(pci_group 0000:00:1f.2)"/devices/*; do
		echo "$(basename "$f")=$(pci_driver "$(basename "$f")")"; done)
	if out=$("$PROBE" claim 0000:00:1f.2 2>&1); then
		fail "claiming an ICH9 function succeeded: $out"
	fi
	assert_contains "$out" "in use by the host" "the refusal"
	after=$(for f in /sys/kernel/iommu_groups/"$(pci_group 0000:00:1f.2)"/devices/*; do
		echo "$(basename "$f")=$(pci_driver "$(basename "$f")")"; done)
	assert_eq "$before" "$after" "drivers of the ICH9 group"
}

testcase_refuse_bridge() {
	probe_setup
	port=$(parent_bridge "$(lab_device nvme)")
	before=$(pci_driver "$port")
	if out=$("$PROBE" claim "$port" 2>&1); then
		fail "claiming the root port $port succeeded: $out"
	fi
	assert_contains "$out" "not an endpoint" "the refusal"
	assert_eq "$before" "$(pci_driver "$port")" "driver of the root port"
}

testcase_refuse_missing_address() {
	probe_setup
	if out=$("$PROBE" claim 0000:7f:1f.7 2>&1); then
		fail "claiming a missing address succeeded: $out"
	fi
	assert_contains "$out" "No such device" "the refusal"
}

testcase_injected_failure_restores_host_driver() {
	probe_setup
	nic_on_host_driver
	nic=$NIC before=$NIC_DRIVER
	# fails after e1000e let go of the NIC and before the probe: the
	# rollback must bind e1000e again
	"$PROBE" fault bind-member:1 "$nic"
	assert_eq "$before" "$(pci_driver "$nic")" "driver of $nic after the rollback"
	assert_eq "(null)" "$(override_of "$nic")" "driver_override of $nic after the rollback"
}

testcase_injected_failure_midway_in_ich9_group() {
	probe_setup
	# With host members allowed, all of the ICH9 group (00:1f.0, .2, .3)
	# has to move. Failing the second member must put the first one back;
	# failing the third (i801_smbus let go of it already) must also bind
	# i801_smbus again. vfio-probe compares every member's driver.
	"$PROBE" fault bind-member:2 0000:00:1f.3 all
	"$PROBE" fault bind-member:3 0000:00:1f.3 all
	assert_eq i801_smbus "$(pci_driver 0000:00:1f.3)" "driver of the ICH9 SMBus function"
}

testcase_type1_container() {
	probe_setup
	[ -c /dev/vfio/vfio ] || skip "no type1 container"
	"$PROBE" type1 "$(lab_device edu)"
}

testcase_iommufd_context() {
	probe_setup
	has_iommufd || skip "no /dev/iommu on the $(vm_kernel) kernel"
	"$PROBE" iommufd "$(lab_device edu)"
}

testcase_mdev_create_remove() {
	probe_setup
	[ -d /sys/class/mdev_bus/mtty ] || skip "no mtty mdev parent in this guest"
	type=$(ls /sys/class/mdev_bus/mtty/mdev_supported_types | head -n1)
	"$PROBE" mdev mtty "$type"
}
