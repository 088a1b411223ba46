#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The libvirt hook (cli/libvirt-hook) against the real vfiod on a private
# bus with the fixture host: prepare claims and rolls back, release only
# touches the domain's own VM, the operations vfiod has no part in stay off
# the bus. QEMU and the kernel's reactions (started, memlock, binding) are
# the vm suite's (vm-libvirt-hook). The fixture's 0000:01:00.0 is on
# vfio-pci already (group 2 with 0000:01:00.1), so claiming it needs no
# kernel reaction.
. "$(dirname "$0")/lib.sh"

: "${VFIOD_LIBVIRT_HOOK:?VFIOD_LIBVIRT_HOOK must name the hook program}"

UUID=6b1b6a2c-0e6f-4b3a-9c1d-2e3f4a5b6c7d
OTHER_UUID=6b1b6a2c-0e6f-4b3a-9c1d-000000000002
MDEV=7d5a3f2e-1c4b-4e8a-9f60-0a1b2c3d4e5f

# domain NAME DEVICES...: a domain XML; DEVICES are PCI addresses or "mdev:UUID"
domain() {
	_name=$1
	shift
	echo "<domain type='qemu'><name>$_name</name><uuid>$UUID</uuid><memory unit='MiB'>64</memory><devices>"
	for _d in "$@"; do
		case "$_d" in
		mdev:*)
			echo "<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address uuid='${_d#mdev:}'/></source></hostdev>"
			;;
		*)
			_b=${_d#0000:}
			echo "<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000'" \
				"bus='0x${_b%%:*}' slot='0x$(echo "$_b" | cut -d: -f2 | cut -d. -f1)' function='0x${_b##*.}'/></source></hostdev>"
			;;
		esac
	done
	echo "</devices></domain>"
}

# hook XMLFILE ARGS...: the hook on the private bus; RC, OUT, ERR
hook() {
	_xml=$1
	shift
	RC=0
	DBUS_SYSTEM_BUS_ADDRESS=$BUS "$VFIOD_LIBVIRT_HOOK" "$@" <"$_xml" >"$OUT" 2>"$ERR" || RC=$?
}

assert_hook_error() { # TEXT: exit 1, one line on stderr holding TEXT, nothing on stdout
	[ "$RC" -eq 1 ] || fail "hook exited $RC, expected 1; stderr: $(cat "$ERR")"
	[ ! -s "$OUT" ] || fail "hook wrote to stdout: $(cat "$OUT")"
	[ "$(wc -l <"$ERR")" -eq 1 ] || fail "expected one line on stderr: $(cat "$ERR")"
	case "$(cat "$ERR")" in
	"vfiod-libvirt-hook: "*"$1"*) ;;
	*) fail "stderr lacks '$1': $(cat "$ERR")" ;;
	esac
}

assert_hook_ok() {
	[ "$RC" -eq 0 ] || fail "hook exited $RC: $(cat "$ERR")"
	[ ! -s "$ERR" ] && [ ! -s "$OUT" ] || fail "hook printed: $(cat "$ERR" "$OUT")"
}

vm_names() {
	"$VFIOCTL" --bus-address="$BUS" --json vm list | jq -r '.[].name' | sort | tr '\n' ' '
}

prepare_claims_the_hostdevs_and_release_gives_them_back() {
	domain lab1 0000:01:00.0 >"$T/lab1.xml"
	hook "$T/lab1.xml" lab1 prepare begin -
	assert_hook_ok
	assert_eq "lab1 " "$(vm_names)" "vfiod's VMs after prepare"
	assert_eq prepared "$(vm_field lab1 state)" "state"
	assert_eq "$UUID" "$(vm_field lab1 uuid)" "uuid"
	assert_eq 67108864 "$(vm_field lab1 memory_bytes)" "memory"
	assert_eq 0000:01:00.0 "$(vm_field lab1 'devices | join(",")')" "devices"
	# stopped: libvirt's cleanup still needs the devices
	hook "$T/lab1.xml" lab1 stopped end -
	assert_hook_ok
	assert_eq "lab1 " "$(vm_names)" "vfiod's VMs after stopped"
	hook "$T/lab1.xml" lab1 release end -
	assert_hook_ok
	assert_eq "" "$(vm_names)" "vfiod's VMs after release"
	# again: a VM vfiod does not hold is nothing to do
	hook "$T/lab1.xml" lab1 release end -
	assert_hook_ok
}

a_failed_prepare_rolls_everything_back() {
	domain lab2 0000:01:00.0 0000:7f:00.0 >"$T/lab2.xml"
	hook "$T/lab2.xml" lab2 prepare begin -
	assert_hook_error "AddDevice 0000:7f:00.0 failed"
	assert_eq "" "$(vm_names)" "vfiod's VMs after the failed prepare"
	# the first device's claim was given back too: it can be claimed again
	domain lab3 0000:01:00.0 >"$T/lab3.xml"
	hook "$T/lab3.xml" lab3 prepare begin -
	assert_hook_ok
	hook "$T/lab3.xml" lab3 release end -
	assert_hook_ok
}

an_mdev_nobody_defined_fails_the_prepare() {
	domain lab4 "mdev:$MDEV" >"$T/lab4.xml"
	hook "$T/lab4.xml" lab4 prepare begin -
	assert_hook_error "mdev $MDEV does not exist and vfiod cannot create it: Cannot create the mdev: $MDEV: vfiod's configuration defines no mdev with this UUID"
	assert_eq "" "$(vm_names)" "vfiod's VMs after the failed prepare"
}

another_vm_of_that_name_is_never_touched() {
	vfioctl vm prepare lab5 --uuid "$OTHER_UUID" --backend type1 --vmm-opens-groups --no-grant
	assert_vfioctl_ok
	domain lab5 0000:01:00.0 >"$T/lab5.xml"
	hook "$T/lab5.xml" lab5 prepare begin -
	assert_hook_error "PrepareVM failed"
	hook "$T/lab5.xml" lab5 release end -
	assert_hook_error "not touching it"
	hook "$T/lab5.xml" lab5 reconnect begin -
	assert_hook_error "not touching it"
	assert_eq "$OTHER_UUID" "$(vm_field lab5 uuid)" "the other VM"
	assert_eq "" "$(vm_field lab5 'devices | join(",")')" "the other VM's devices"
	vfioctl vm release lab5
	assert_vfioctl_ok
}

reconnect_leaves_a_held_vm_alone() {
	domain lab6 0000:01:00.0 >"$T/lab6.xml"
	hook "$T/lab6.xml" lab6 prepare begin -
	assert_hook_ok
	path=$(vm_field lab6 path)
	hook "$T/lab6.xml" lab6 reconnect begin -
	assert_hook_ok
	assert_eq "$path" "$(vm_field lab6 path)" "the VM object after reconnect"
	hook "$T/lab6.xml" lab6 release end -
	assert_hook_ok
}

started_needs_a_prepared_vm() {
	domain lab7 0000:01:00.0 >"$T/lab7.xml"
	hook "$T/lab7.xml" lab7 started begin -
	assert_hook_error "vfiod holds no VM 'lab7'"
	assert_eq "" "$(vm_names)" "vfiod's VMs"
}

a_stopped_vfiod_is_reported() {
	domain lab8 0000:01:00.0 >"$T/lab8.xml"
	hook "$T/lab8.xml" lab8 prepare begin -
	assert_hook_error "vfiod is not running"
}

make_fixture
start_bus
start_vfiod
check "prepare claims the hostdevs, release gives them back" prepare_claims_the_hostdevs_and_release_gives_them_back
check "a failed prepare rolls everything back" a_failed_prepare_rolls_everything_back
check "an mdev nobody defined fails the prepare" an_mdev_nobody_defined_fails_the_prepare
check "another VM of the domain's name is never touched" another_vm_of_that_name_is_never_touched
check "reconnect leaves a VM vfiod holds alone" reconnect_leaves_a_held_vm_alone
check "started without prepare fails" started_needs_a_prepared_vm
stop_vfiod || :
check "a stopped vfiod is reported, not activated" a_stopped_vfiod_is_reported
done_testing
