# vfiod-kernels: test distro
# Reset between VMs, and quarantine (issue 15 item 5; docs/reset.md), on a
# real kernel with the real daemon, dbus-daemon and vfioctl. edu is served
# by the lab's VFIO variant driver (tests/kernel/vfiod_edu_vfio.c), whose
# per-device test hook edu_vfio_fail_reset makes VFIO_DEVICE_RESET fail
# (eio) or answer success without resetting (noop); edu_vfio_resets counts
# the resets that reached vfio_pci_core.
#   - the inventory shows each function's reset_method;
#   - a VM's release resets edu through VFIO and checks the reset took
#     (the marker vfiod writes into MSI Message Data is gone);
#   - a reset that fails, and one that "succeeds" without resetting, both
#     quarantine edu: the next VM's claim and a Bind are refused with
#     org.vfiod1.Error.Quarantined naming the reason, across a restart of
#     vfiod, until `vfioctl quarantine clear`; then a VM has it again;
#   - hostile: a caller polkit does not allow cannot clear it, and bogus
#     or unquarantined names fail cleanly, nothing changed.

. /opt/vfiod/tests/vmm/vmm-lib.sh
. /opt/vfiod/tests/vm/lib/vm-ownership-lib.sh

VARIANT=vfiod_edu_vfio
QDIR=/run/vfiod/quarantine
STUB_LOG=/tmp/polkit-stub.log

load_drivers() {
	modprobe vfio-pci
	modprobe vfio_iommu_type1 || true
	modprobe "$VARIANT" || fail "modprobe $VARIANT failed"
	EDU=$(lab_device edu)
	rm -rf "$QDIR"
}

edu_attr() {
	cat "/sys/bus/pci/devices/$EDU/$1"
}

# a VM with edu whose VMM does DMA; $2: the hook's mode, set once edu is on
# the variant (its attributes exist only then); the VMM exits, vfiod releases
edu_vm_does_dma() {
	vmm_spawn --type1 "$EDU" --vfiod "$1" --user vmm --memlock 64M --mem 16M
	vfioctl_ok vm register "$1" --pid "$VMM_PID" --backend type1 --viommu --memory 16M
	vfioctl_ok vm add-device "$1" "$EDU"
	assert_eq "$VARIANT" "$(pci_driver "$EDU")" "edu's driver in VM $1"
	echo "$2" >"/sys/bus/pci/devices/$EDU/edu_vfio_fail_reset"
	vmm_go
	vmm_step map 0x100000 1M
	vmm_step edu-dma 0x100000 1024
	vmm_stop
	wait_until 60 vm_is_gone "$1"
}

# register NAME: a type1 VM whose VMM is a stand-in process
register() {
	sleep 600 &
	VMM_PIDS="${VMM_PIDS:-} $!"
	vfioctl_ok vm register "$1" --pid "$!" --backend type1 --memory 64M
}

quarantined_devices() {
	"$VFIOCTL" --json quarantine list | jq -r '[.[].device] | join(",")'
}

start_polkit_stub() {
	cat >/etc/dbus-1/system.d/fake-polkit.conf <<-EOC
	<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
	 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
	<busconfig>
	  <policy user="root">
	    <allow own="org.freedesktop.PolicyKit1"/>
	    <allow send_destination="org.freedesktop.PolicyKit1"/>
	  </policy>
	</busconfig>
	EOC
	dbus-send --system --print-reply --dest=org.freedesktop.DBus / \
		org.freedesktop.DBus.ReloadConfig >/dev/null
	/opt/vfiod/bin/fake-polkit unix:path=/run/dbus/system_bus_socket "$@" >"$STUB_LOG" 2>&1 &
	STUB_PID=$!
	wait_until 10 bus_has_name org.freedesktop.PolicyKit1
}

stop_polkit_stub() {
	kill "$STUB_PID"
	wait "$STUB_PID" 2>/dev/null || true
	rm -f /etc/dbus-1/system.d/fake-polkit.conf
}

# the claims of a quarantined edu: refused, the reason given, nothing moved
claims_refused() {
	_cr_before=$(device_snapshot "$EDU")
	register "$1"
	vfioctl vm add-device "$1" "$EDU"
	assert_refused org.vfiod1.Error.Quarantined
	assert_contains "$(cat "$ERR")" "$2" "the refusal's reason"
	assert_contains "$(cat "$ERR")" "vfioctl quarantine clear $EDU" "the refusal says how to clear"
	vfioctl bind "$EDU"
	assert_refused org.vfiod1.Error.Quarantined
	assert_eq "$_cr_before" "$(device_snapshot "$EDU")" "edu after the refused claims"
	vfioctl_ok vm release "$1"
}

testcase_inventory_shows_reset_method() {
	load_drivers
	start_vfiod
	want=$(cat "/sys/bus/pci/devices/$EDU/reset_method")
	[ -n "$want" ] || fail "edu has no reset method in this lab"
	vfioctl_ok --json show "$EDU"
	assert_eq "$want" "$(jq -r .device.reset_method "$OUT")" "show's reset_method of edu"
	vfioctl_ok show "$EDU"
	assert_contains "$(cat "$OUT")" "Reset methods: $want" "vfioctl show"
	# ListDevices: every function with a reset_method file has it, the others none
	vfioctl_ok --json devices
	for d in /sys/bus/pci/devices/*; do
		b=$(basename "$d")
		want=$(cat "$d/reset_method" 2>/dev/null || true)
		got=$(jq -r --arg a "$b" '.[] | select(.address == $a) | .reset_method // ""' "$OUT")
		assert_eq "$want" "$got" "reset_method of $b"
	done
	stop_vfiod
}

testcase_release_resets_and_checks() {
	load_drivers
	BEFORE=$(device_snapshot "$EDU")
	start_vfiod
	# edu on the variant before the VM: it stays there after, and the
	# counter of resets that reached vfio_pci_core can be read
	echo "$VARIANT" >"/sys/bus/pci/devices/$EDU/driver_override"
	echo "$EDU" >/sys/bus/pci/drivers_probe
	assert_eq "$VARIANT" "$(pci_driver "$EDU")" "edu bound to the variant by hand"
	assert_eq 0 "$(edu_attr edu_vfio_resets)" "resets before any VM"
	edu_vm_does_dma vm-a off
	assert_eq 1 "$(edu_attr edu_vfio_resets)" "VFIO_DEVICE_RESETs after VM vm-a left"
	vfiod_log | grep -q "VM vm-a: $EDU reset, and the reset checked (msi-data)" ||
		fail "vfiod did not check the reset of $EDU: $(vfiod_log | grep "$EDU" | tail -5)"
	assert_eq "" "$(quarantined_devices)" "the quarantine after a good reset"
	echo "" >"/sys/bus/pci/devices/$EDU/driver_override"
	echo "$EDU" >"/sys/bus/pci/devices/$EDU/driver/unbind"
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu given back by hand"

	# from the host (no driver) to a VM and back: the proof's path
	edu_vm_does_dma vm-b off
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu after VM vm-b"
	vfiod_log | grep -q "VM vm-b: $EDU reset, and the reset checked (msi-data)" ||
		fail "vfiod did not check the reset of $EDU after vm-b"
	assert_eq "" "$(quarantined_devices)" "the quarantine after vm-b"
	stop_vfiod
}

# $1 the hook's mode, $2 what the reason must say
quarantine_cycle() {
	load_drivers
	BEFORE=$(device_snapshot "$EDU")
	start_vfiod
	edu_vm_does_dma vm-bad "$1"
	# given back where it came from all the same, and quarantined
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu after the failed reset"
	assert_eq "$EDU" "$(quarantined_devices)" "the quarantine after mode $1"
	"$VFIOCTL" --json quarantine list >"$OUT"
	assert_eq vm-bad "$(jq -r '.[0].vm' "$OUT")" "the VM it left"
	assert_contains "$(jq -r '.[0].reason' "$OUT")" "$2" "the recorded reason"
	# vfioctl show (GetDevice) says it too, before any claim is tried
	"$VFIOCTL" --json show "$EDU" >"$OUT" || fail "vfioctl show $EDU"
	assert_eq "true vm-bad" "$(jq -r '.device | "\(.quarantined) \(.quarantine_vm)"' "$OUT")" "vfioctl show $EDU"
	assert_contains "$(jq -r '.device.quarantine_reason' "$OUT")" "$2" "the reason vfioctl show gives"
	vfiod_log | grep -q "$EDU is quarantined" || fail "vfiod did not log the quarantine"
	[ -f "$QDIR/$EDU.json" ] || fail "no quarantine record in $QDIR: $(ls -la "$QDIR" 2>&1)"
	claims_refused next-1 "$2"

	# a restart: still quarantined, still refused
	stop_vfiod
	start_vfiod
	assert_eq "$EDU" "$(quarantined_devices)" "the quarantine after a restart"
	claims_refused next-2 "$2"

	# cleared by root: the next VM has it, and its release resets it
	vfioctl_ok quarantine clear "$EDU"
	assert_eq "" "$(quarantined_devices)" "the quarantine after clear"
	"$VFIOCTL" --json show "$EDU" >"$OUT" || fail "vfioctl show $EDU"
	assert_eq false "$(jq -r '.device.quarantined' "$OUT")" "vfioctl show $EDU after the clear"
	[ ! -e "$QDIR/$EDU.json" ] || fail "the record outlived the clear"
	edu_vm_does_dma next-3 off
	assert_eq "" "$(quarantined_devices)" "the quarantine after a VM whose reset worked"
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu after next-3"
	stop_vfiod
}

testcase_failed_reset_quarantines() {
	quarantine_cycle eio "the kernel's reset failed: Input/output error"
}

# the driver answers success, the device was not reset: vfiod's check sees it
testcase_untaken_reset_is_noticed() {
	quarantine_cycle noop "the reset did not take: msi-data"
}

testcase_clear_hostile_callers() {
	load_drivers
	start_vfiod
	edu_vm_does_dma vm-bad eio
	assert_eq "$EDU" "$(quarantined_devices)" "the quarantine"

	# uid 1000 may bind devices, and nothing else: clearing is its own action
	start_polkit_stub allow=1000:org.vfiod1.bind-devices deny=1000
	setpriv --reuid=1000 --regid=1000 --clear-groups --inh-caps=-all --bounding-set=-all \
		"$VFIOCTL" quarantine clear "$EDU" >"$OUT" 2>"$ERR" && fail "uid 1000 cleared the quarantine"
	assert_contains "$(cat "$ERR")" "AccessDenied" "uid 1000's clear"
	grep -q "^1000 org.vfiod1.clear-quarantine$" "$STUB_LOG" ||
		fail "vfiod did not ask polkit for org.vfiod1.clear-quarantine: $(cat "$STUB_LOG")"
	# anyone may list it
	setpriv --reuid=1000 --regid=1000 --clear-groups --inh-caps=-all --bounding-set=-all \
		"$VFIOCTL" quarantine list >"$OUT" 2>"$ERR" || fail "uid 1000 cannot list: $(cat "$ERR")"
	assert_contains "$(cat "$OUT")" "$EDU" "uid 1000's list"
	stop_polkit_stub
	assert_eq "$EDU" "$(quarantined_devices)" "the quarantine after uid 1000's try"

	# bogus names: refused by vfioctl (2) and by vfiod (InvalidArgs), nothing changed
	vfioctl quarantine clear not-a-device
	assert_eq 2 "$RC" "vfioctl's status for a malformed DEVICE"
	RC=0
	dbus-send --system --print-reply --dest=org.vfiod1 /org/vfiod1 \
		org.vfiod1.Manager.ClearQuarantine "string:0000:00:zz.9; rm -rf /" >"$OUT" 2>"$ERR" || RC=$?
	[ "$RC" -ne 0 ] || fail "vfiod accepted a malformed address"
	assert_contains "$(cat "$ERR")" "org.freedesktop.DBus.Error.InvalidArgs" "a malformed address on the bus"
	# well-formed, not quarantined (also: no such function)
	vfioctl quarantine clear 0000:00:1d.7
	assert_refused org.vfiod1.Error.NotQuarantined
	assert_eq "$EDU" "$(quarantined_devices)" "the quarantine after the bogus clears"
	vfioctl_ok quarantine clear "$EDU"
	vfioctl quarantine clear "$EDU"
	assert_refused org.vfiod1.Error.NotQuarantined
	stop_vfiod
}
