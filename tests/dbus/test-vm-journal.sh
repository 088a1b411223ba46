#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The VM journal (daemon/vm-journal.h) on the fixture host: a VM outlives
# a vfiod restart while its VMM runs, is released when its VMM died
# meanwhile, a transaction cut short by a crash is undone, and a corrupt
# journal is set aside without stopping the daemon. The fixture has no
# /dev/vfio: type1 with vmm_opens_groups, group nodes made by the test
# (vfiod gives them to the VMM's uid, which is what the journal must undo).
# The same on real kernels, with real claims and pins: vm-reaccount-faults.
. "$(dirname "$0")/lib.sh"

UUID1=5b2c2f8e-6a0e-4c57-9d51-0d1c7e0a0011
J=

vm_field() {
	"$VFIOCTL" --bus-address="$BUS" --json vm list | jq -r --arg n "$1" ".[] | select(.name == \$n) | .$2"
}

# each check runs in a subshell: the vfiod of the moment is found on the bus
current_vfiod() {
	bus_call org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus.GetConnectionUnixProcessID string:org.vfiod1
	VFIOD_PID=$(awk '{ print $2 }' "$OUT")
	[ -n "$VFIOD_PID" ] || bail_out "no vfiod on the bus"
}

# cleanup() stops $VFIOD_PID: the last one started, by whichever check
current_vfiod_or_none() {
	VFIOD_PID=
	bus_has_name org.vfiod1 && current_vfiod || :
}

# stops the vfiod of the moment; it must be gone before the next one starts
stop_current_vfiod() {
	current_vfiod
	kill -TERM "$VFIOD_PID"
	_i=0
	while kill -0 "$VFIOD_PID" 2>/dev/null || bus_has_name org.vfiod1; do
		_i=$((_i + 1)); [ "$_i" -lt 200 ] || fail "vfiod did not stop"
		sleep 0.05
	done
	VFIOD_PID=
}

restart_vfiod() {
	stop_current_vfiod
	start_vfiod "$@"
}

a_vm_outlives_a_restart_while_its_vmm_runs() {
	make_group_node 2
	spawn_vmm 4242
	vfioctl vm register keep --uuid "$UUID1" --pid "$VMM" --backend type1 --vmm-opens-groups --memory 64M
	assert_vfioctl_ok
	vfioctl vm add-device keep 0000:01:00.0
	assert_vfioctl_ok
	[ -f "$J/keep.json" ] || fail "no journal for VM keep"
	assert_eq "0000:01:00.0" "$(jq -r '.devices[].name' "$J/keep.json")" "device in the journal"
	assert_eq null "$(jq -r '.transaction' "$J/keep.json")" "no transaction after the add"
	assert_eq 4242 "$(stat -c %u "$ROOT/dev/vfio/2")" "group node given"
	id=$(vm_field keep id)

	restart_vfiod
	assert_eq "$id registered $VMM 0000:01:00.0" \
		"$(vm_field keep id) $(vm_field keep state) $(vm_field keep vmm_pid) $(vm_field keep 'devices | join(",")')" \
		"VM keep after the restart"
	grep -q "VM keep: adopted again after vfiod's restart" "$T/vfiod.log" || fail "no adoption logged"
	assert_eq 4242 "$(stat -c %u "$ROOT/dev/vfio/2")" "group node still the VMM's"
	# still owned: nobody else can take the group
	vfioctl bind 0000:01:00.1
	assert_one_line_error 1 "(org.vfiod1.Error.OwnedByOtherVM)"
	# and still followed: the VMM's exit releases it
	kill "$VMM"
	_i=0
	while [ -n "$(vm_field keep name)" ]; do
		_i=$((_i + 1)); [ "$_i" -lt 100 ] || fail "the adopted VM outlived its VMM by 5 s"
		sleep 0.05
	done
	assert_eq 0 "$(stat -c %u "$ROOT/dev/vfio/2")" "group node back after the exit"
	[ ! -e "$J/keep.json" ] || fail "journal left after the release"
}

a_vm_whose_vmm_died_meanwhile_is_released() {
	make_group_node 2
	spawn_vmm 4242
	vfioctl vm register gone --uuid "$UUID1" --pid "$VMM" --backend type1 --vmm-opens-groups --memory 64M
	assert_vfioctl_ok
	vfioctl vm add-device gone 0000:01:00.0
	assert_vfioctl_ok
	stop_current_vfiod
	kill "$VMM"
	wait "$VMM" 2>/dev/null || :
	start_vfiod
	[ -z "$(vm_field gone name)" ] || fail "VM gone adopted although its VMM is dead"
	grep -q "VM gone: released after vfiod's restart" "$T/vfiod.log" || fail "no release logged"
	assert_eq 0 "$(stat -c %u "$ROOT/dev/vfio/2")" "group node given back"
	[ ! -e "$J/gone.json" ] || fail "journal left after the release"
}

a_crash_midway_through_an_add_is_undone() {
	make_group_node 2
	spawn_vmm 4242
	vfioctl vm register cut --uuid "$UUID1" --pid "$VMM" --backend type1 --vmm-opens-groups --memory 64M
	assert_vfioctl_ok
	restart_vfiod_crashing add-raised
	vfioctl vm add-device cut 0000:01:00.0
	[ "$RC" -ne 0 ] || fail "the add answered although vfiod crashed"
	_i=0
	while kill -0 "$VFIOD_PID" 2>/dev/null; do
		_i=$((_i + 1)); [ "$_i" -lt 100 ] || fail "vfiod did not crash"
		sleep 0.05
	done
	VFIOD_PID=
	grep -q "TEST CRASH at add-raised" "$T/vfiod.log" || fail "the crash point was not reached"
	assert_eq "add 0000:01:00.0" "$(jq -r '"\(.transaction.op) \(.transaction.device)"' "$J/cut.json")" \
		"the journal holds the add"
	start_vfiod
	assert_eq "registered " "$(vm_field cut state) $(vm_field cut 'devices | join(",")')" "VM cut after recovery"
	grep -q "VM cut: the add of 0000:01:00.0 was under way at vfiod's exit: undone" "$T/vfiod.log" ||
		fail "no undo logged"
	assert_eq 0 "$(stat -c %u "$ROOT/dev/vfio/2")" "the grant of the undone add taken back"
	assert_eq null "$(jq -r '.transaction' "$J/cut.json")" "transaction cleared"
	vfioctl vm release cut
	assert_vfioctl_ok
}

restart_vfiod_crashing() {
	stop_current_vfiod
	VFIOD_TEST_CRASH=$1 "$VFIOD" --bus-address="$BUS" --root="$ROOT" 2>>"$T/vfiod.log" &
	VFIOD_PID=$!
	_i=0
	while ! bus_has_name org.vfiod1; do
		_i=$((_i + 1)); [ "$_i" -lt 200 ] || bail_out "vfiod did not come back"
		sleep 0.05
	done
}

a_corrupt_journal_is_set_aside() {
	stop_current_vfiod
	mkdir -p "$J"
	printf '{"version": 1, "name": "half' >"$J/half.json"
	printf '{"version": 99}' >"$J/future.json"
	start_vfiod
	[ -e "$J/half.json.corrupt" ] || fail "the truncated journal was not set aside"
	[ -e "$J/future.json.corrupt" ] || fail "a journal of another version was not set aside"
	grep -q "VM journal .*half.json is unreadable" "$T/vfiod.log" || fail "not reported"
	vfioctl vm list
	assert_vfioctl_ok
}

trap 'cleanup_vmms; current_vfiod_or_none; cleanup' EXIT
make_fixture
J=$ROOT/run/vfiod/vms
start_bus
start_vfiod

check "a VM outlives a vfiod restart while its VMM runs, and stays owned and followed" a_vm_outlives_a_restart_while_its_vmm_runs
check "a VM whose VMM died while vfiod was down is released at the start" a_vm_whose_vmm_died_meanwhile_is_released
check "a crash in the middle of an add is undone at the next start" a_crash_midway_through_an_add_is_undone
check "a corrupt or foreign journal is set aside and reported; vfiod serves on" a_corrupt_journal_is_set_aside

done_testing
