#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The quarantine (daemon/quarantine.h) against claims through the real
# vfiod and vfioctl on the fixture host. A record is written the way a
# failed reset leaves it (run/vfiod/quarantine/ADDRESS.json) and read at
# start. The reset itself needs a real kernel: tests/vm/cases/vm-reset-quarantine.sh.
. "$(dirname "$0")/lib.sh"

UUID1=5b2c2f8e-6a0e-4c57-9d51-0d1c7e0a0031
Q=

quarantine_record() {
	mkdir -p "$Q"
	printf '{"device":"%s","vm":"old","reason":"the reset did not take","since_usec":1}' "$1" >"$Q/$1.json"
}

# 0000:01:00.0 and 0000:01:00.1 share IOMMU group 2. With 01:00.1
# quarantined, a claim of 01:00.0 would put the group (01:00.1 with it)
# in the new VM's container: the un-reset function's DMA lands in the new
# VM's memory, and a VMM that opens the group opens 01:00.1 too.
a_quarantined_member_keeps_its_group_out() {
	make_group_node 2
	spawn_vmm
	vfioctl vm register q-victim --uuid "$UUID1" --pid "$VMM" --backend type1 --vmm-opens-groups --memory 64M
	assert_vfioctl_ok
	vfioctl vm add-device q-victim 0000:01:00.1
	assert_one_line_error 1 "(org.vfiod1.Error.Quarantined)"
	vfioctl vm add-device q-victim 0000:01:00.0
	assert_one_line_error 1 "(org.vfiod1.Error.Quarantined)"
	grep -q "0000:01:00.0: .*0000:01:00.1" "$ERR" || fail "the quarantined member is not named: $(cat "$ERR")"
	vfioctl bind 0000:01:00.0
	assert_one_line_error 1 "(org.vfiod1.Error.Quarantined)"
	vfioctl quarantine clear 0000:01:00.1
	assert_vfioctl_ok
	vfioctl vm add-device q-victim 0000:01:00.0
	assert_vfioctl_ok
	vfioctl vm release q-victim
	assert_vfioctl_ok
}

# The iGPU 0000:00:02.0, quarantined (its reset failed as it left a VM
# whole), is back on its host driver: an mdev of it is a slice of the
# same un-reset hardware, and goes to no VM either.
an_mdev_of_a_quarantined_parent_stays_out() {
	UUID2=5b2c2f8e-6a0e-4c57-9d51-0d1c7e0a0032
	mdev=83b8f4f2-509f-382f-3c1e-e6bfe0fa1001
	make_group_node 11
	spawn_vmm
	vfioctl vm register q-mdev --uuid "$UUID2" --pid "$VMM" --backend type1 --vmm-opens-groups --memory 64M
	assert_vfioctl_ok
	vfioctl vm add-device q-mdev "$mdev"
	assert_one_line_error 1 "(org.vfiod1.Error.Quarantined)"
	grep -q "0000:00:02.0" "$ERR" || fail "the parent is not named: $(cat "$ERR")"
	vfioctl quarantine clear 0000:00:02.0
	assert_vfioctl_ok
	vfioctl vm add-device q-mdev "$mdev"
	assert_vfioctl_ok
	vfioctl vm release q-mdev
	assert_vfioctl_ok
}

# vfioctl show (GetDevice) tells the operator before a claim does
show_says_quarantined() {
	vfioctl --json show 0000:01:00.1
	assert_vfioctl_ok
	assert_eq "true|the reset did not take|old" \
		"$(jq -r '.device | "\(.quarantined)|\(.quarantine_reason)|\(.quarantine_vm)"' "$OUT")" \
		"GetDevice of the quarantined 0000:01:00.1"
	vfioctl show 0000:01:00.1
	assert_vfioctl_ok
	grep -q "Quarantined: yes" "$OUT" || fail "vfioctl show: no 'Quarantined: yes': $(cat "$OUT")"
	grep -q "Quarantine reason: the reset did not take" "$OUT" || fail "vfioctl show: no reason: $(cat "$OUT")"
	# its group sibling is not quarantined itself (its claim is refused for the sibling)
	vfioctl --json show 0000:01:00.0
	assert_vfioctl_ok
	assert_eq "false|false" "$(jq -r '.device | "\(.quarantined)|\(has("quarantine_reason"))"' "$OUT")" \
		"GetDevice of 0000:01:00.0"
	# the list records carry no quarantine keys (GetDevice only)
	vfioctl --json devices
	assert_vfioctl_ok
	assert_eq 0 "$(jq '[.[] | select(has("quarantined"))] | length' "$OUT")" "ListDevices records with quarantine keys"
}

# once cleared, show says so
show_says_cleared() {
	vfioctl --json show 0000:01:00.1
	assert_vfioctl_ok
	assert_eq "false|false" "$(jq -r '.device | "\(.quarantined)|\(has("quarantine_vm"))"' "$OUT")" \
		"GetDevice of 0000:01:00.1 after the clear"
}

trap 'cleanup_vmms; current_vfiod_or_none; cleanup' EXIT
make_fixture
Q=$ROOT/run/vfiod/quarantine
quarantine_record 0000:01:00.1
quarantine_record 0000:00:02.0
start_bus
start_vfiod

check "vfioctl show says a function is quarantined, why and from which VM" show_says_quarantined
check "a quarantined function keeps every claim of its IOMMU group out" a_quarantined_member_keeps_its_group_out
check "vfioctl show says so once the quarantine is cleared" show_says_cleared
check "an mdev of a quarantined parent goes to no VM" an_mdev_of_a_quarantined_parent_stays_out

done_testing
