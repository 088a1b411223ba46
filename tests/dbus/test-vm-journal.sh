#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The VM journal (daemon/vm-journal.h) on the fixture host: a VM outlives
# a vfiod restart while its VMM runs, is released when its VMM died
# meanwhile, a transaction cut short by a crash is undone, and a corrupt
# journal is set aside without stopping the daemon; a journal whose pid
# now names another process (another uid, another start time) is never
# adopted and that process's RLIMIT_MEMLOCK stays as it was; a journal
# without the VMM's uid is refused. The fixture has no
# /dev/vfio: type1 with vmm_opens_groups, group nodes made by the test
# (vfiod gives them to the VMM's uid, which is what the journal must undo).
# The same on real kernels, with real claims and pins: vm-reaccount-faults.
. "$(dirname "$0")/lib.sh"

command -v prlimit >/dev/null 2>&1 || { echo "1..0 # SKIP prlimit is not installed"; exit 0; }

UUID1=5b2c2f8e-6a0e-4c57-9d51-0d1c7e0a0011
J=

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
	poll_until 5 vm_is_gone keep || fail "the adopted VM outlived its VMM by 5 s"
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
	wait_crashed add-raised
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

# field 22 of /proc/PID/stat (the comm may hold spaces: count after the last ')')
start_time_of() {
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $20 }'
}

# edit_journal NAME JQ-FILTER [jq args]: vfiod is down; the journal is rewritten
edit_journal() {
	_name=$1
	shift
	jq "$@" "$J/$_name.json" >"$T/journal.new" || fail "jq on the journal of $_name"
	mv "$T/journal.new" "$J/$_name.json"
}

# stranger_case VMM_UID START: VM who's VMM (VMM_UID, "" for root) exits
# while vfiod is down and its pid comes to name a stranger (root), with its
# own start time (START "own") or with the old VMM's ("journal"): the
# journal is pointed at it. The journal also says vfiod had set the VMM's
# limit and knows the original (4 MiB), which an adopted VM without
# devices puts back: a lowering, which vfiod may do to a root process even
# without CAP_SYS_RESOURCE (a test sandbox may lack it), so only the
# identity check keeps the stranger's limit (6 MiB) as it is.
stranger_case() {
	spawn_vmm "$1"
	vmm=$VMM
	vfioctl vm register who --uuid "$UUID1" --pid "$vmm" --backend type1 --vmm-opens-groups --memory 64M
	assert_vfioctl_ok
	assert_eq "${1:-0}" "$(jq -r .vmm.uid "$J/who.json")" "the VMM's uid in the journal"
	stop_current_vfiod
	kill "$vmm"
	spawn_vmm
	stranger=$VMM
	prlimit --pid "$stranger" --memlock=6291456:6291456
	edit_journal who '.memlock.applied = 134217728 | .memlock.original_known = true |
		.memlock.original = 4194304 | .memlock.original_hard = 4194304'
	if [ "$2" = own ]; then
		edit_journal who '.vmm.pid = ($p | tonumber) | .vmm.start_time = ($s | tonumber)' \
			--arg p "$stranger" --arg s "$(start_time_of "$stranger")"
	else
		edit_journal who '.vmm.pid = ($p | tonumber)' --arg p "$stranger"
	fi
	start_vfiod
	assert_eq "6291456 6291456" "$(memlock_of "$stranger")" "the stranger's RLIMIT_MEMLOCK"
	[ -z "$(vm_field who name)" ] || fail "VM who adopted with a stranger for its VMM"
	grep -q "VM who: pid $stranger is not its VMM any more" "$T/vfiod.log" ||
		fail "the stranger was not recognized"
	grep -q "VM who: released after vfiod's restart" "$T/vfiod.log" || fail "no release logged"
	[ ! -e "$J/who.json" ] || fail "journal left after the release"
	kill "$stranger"
}

a_stranger_of_another_uid_is_not_adopted() {
	# same pid and start time (the journal names the stranger's), another uid
	stranger_case 4242 own
}

a_stranger_of_another_start_time_is_not_adopted() {
	# same pid and uid, the old VMM's start time
	stranger_case "" journal
}

a_journal_without_the_vmms_uid_is_refused() {
	make_group_node 2
	spawn_vmm
	vfioctl vm register old --uuid "$UUID1" --pid "$VMM" --backend type1 --vmm-opens-groups --memory 64M
	assert_vfioctl_ok
	vfioctl vm add-device old 0000:01:00.0
	assert_vfioctl_ok
	stop_current_vfiod
	edit_journal old 'del(.vmm.uid)'
	prlimit --pid "$VMM" --memlock=6291456:6291456
	start_vfiod
	[ -e "$J/old.json.corrupt" ] || fail "the journal without uid was not set aside"
	grep -q "VM journal .*old.json is unreadable" "$T/vfiod.log" || fail "not reported"
	[ -z "$(vm_field old name)" ] || fail "VM old adopted without a uid to check"
	assert_eq "6291456 6291456" "$(memlock_of "$VMM")" "the process's RLIMIT_MEMLOCK"
	# refused, not released: the devices stay as they are for the operator
	vfioctl bind 0000:01:00.1
	assert_vfioctl_ok
	vfioctl unbind 0000:01:00.1
	assert_vfioctl_ok
	grep -q "VM old: released" "$T/vfiod.log" && fail "VM old was released" || :
	kill "$VMM"
	rm -f "$J/old.json.corrupt"
}

a_corrupt_journal_is_set_aside() {
	spawn_vmm
	vfioctl vm register whole --uuid "$UUID1" --pid "$VMM" --backend type1 --vmm-opens-groups --memory 64M
	assert_vfioctl_ok
	stop_current_vfiod
	mkdir -p "$J"
	printf '{"version": 1, "name": "half' >"$J/half.json"
	printf '{"version": 99}' >"$J/future.json"
	# a whole journal, but with more after it, or under another VM's name
	cp "$J/whole.json" "$J/renamed.json"
	echo ' x' >>"$J/whole.json"
	start_vfiod
	[ -e "$J/half.json.corrupt" ] || fail "the truncated journal was not set aside"
	[ -e "$J/future.json.corrupt" ] || fail "a journal of another version was not set aside"
	[ -e "$J/whole.json.corrupt" ] || fail "a journal with trailing data was not set aside"
	[ -e "$J/renamed.json.corrupt" ] || fail "a journal under another VM's name was not set aside"
	[ -z "$(vm_field whole name)" ] || fail "VM whole adopted from a corrupt journal"
	kill "$VMM"
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
check "a journal whose pid names a process of another uid: not adopted, its RLIMIT_MEMLOCK untouched" a_stranger_of_another_uid_is_not_adopted
check "a journal whose pid names a process of another start time: not adopted, its RLIMIT_MEMLOCK untouched" a_stranger_of_another_start_time_is_not_adopted
check "a journal without the VMM's uid is set aside: nothing adopted, nothing released" a_journal_without_the_vmms_uid_is_refused
check "a corrupt or foreign journal is set aside and reported; vfiod serves on" a_corrupt_journal_is_set_aside

done_testing
