#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vfioctl groups: every IOMMU group of the fixture with its members, each
# member's state derived here from the fixture's files and the kernel's
# rules, the group's viability, and a reason per member in the table.
. "$(dirname "$0")/lib.sh"

GROUPS_DIR=$ROOT/sys/kernel/iommu_groups

# expected_state DEVICE_DIR: what the kernel's rules say about a member
#   no driver -> unbound; an mdev with a driver -> vfio (VFIO mdev driver);
#   vfio-pci or a driver whose module holds vfio_pci_core -> vfio;
#   pcieport, pci-stub (driver_managed_dma) -> dma-managed;
#   any other driver -> host-driver (uses DMA itself)
expected_state() {
	drv=$(link_name "$1/driver")
	bus=$(link_name "$1/subsystem")
	if [ -z "$drv" ]; then
		echo unbound
		return
	fi
	mod=$(link_name "$ROOT/sys/bus/$bus/drivers/$drv/module")
	if [ "$bus" = mdev ] || [ "$drv" = vfio-pci ] ||
		{ [ -n "$mod" ] && [ -e "$ROOT/sys/module/vfio_pci_core/holders/$mod" ]; }; then
		echo vfio
	elif [ "$drv" = pcieport ] || [ "$drv" = pci-stub ]; then
		echo dma-managed
	else
		echo host-driver
	fi
}

groups_json_lists_every_group() {
	vfioctl --json groups
	assert_vfioctl_ok
	cp "$OUT" "$T/groups.json"
	expected=$(ls "$GROUPS_DIR" | sort -n)
	[ -n "$expected" ] || fail "the fixture has no IOMMU groups"
	assert_eq "$expected" "$(jq -r '.[].group' "$T/groups.json")" "groups in numeric order"
}

groups_json_members_match_fixture() {
	for g in $(ls "$GROUPS_DIR"); do
		grec=$(jq -c --argjson g "$g" '.[] | select(.group == $g)' "$T/groups.json")
		assert_eq "$(ls "$GROUPS_DIR/$g/devices" | LC_ALL=C sort)" \
			"$(printf '%s\n' "$grec" | jq -r '.members[].name')" "members of group $g"

		all_viable=true
		for name in $(ls "$GROUPS_DIR/$g/devices"); do
			dir=$GROUPS_DIR/$g/devices/$name
			m=$(printf '%s\n' "$grec" | jq -c --arg n "$name" '.members[] | select(.name == $n)')
			state=$(expected_state "$dir")
			viable=true
			[ "$state" != host-driver ] || { viable=false; all_viable=false; }

			assert_eq "$(link_name "$dir/subsystem")" "$(printf '%s\n' "$m" | jq -r .bus)" "bus of $name"
			assert_eq "$(link_name "$dir/driver")" "$(printf '%s\n' "$m" | jq -r .driver)" "driver of $name"
			assert_eq "$state" "$(printf '%s\n' "$m" | jq -r .state)" "state of $name"
			assert_eq "$viable" "$(printf '%s\n' "$m" | jq -r .viable)" "viable of $name"
			reason=$(printf '%s\n' "$m" | jq -r .reason)
			[ -n "$reason" ] || fail "$name has no reason"
			drv=$(link_name "$dir/driver")
			case "$reason" in
			*"$drv"*) ;;
			*) fail "reason of $name does not name its driver $drv: $reason" ;;
			esac
		done
		assert_eq "$all_viable" "$(printf '%s\n' "$grec" | jq -r .viable)" "viable of group $g"
	done
}

groups_fixture_covers_the_cases() {
	jq -e 'any(.[]; .viable)' "$T/groups.json" >/dev/null || fail "no viable group"
	jq -e 'any(.[]; .viable | not)' "$T/groups.json" >/dev/null || fail "no non-viable group"
	jq -e 'any(.[]; (.members | length) > 1 and (.viable | not) and any(.members[]; .viable))' \
		"$T/groups.json" >/dev/null || fail "no mixed multi-device group"
	for s in vfio unbound dma-managed host-driver; do
		jq -e --arg s "$s" 'any(.[].members[]; .state == $s)' "$T/groups.json" >/dev/null ||
			fail "no member in state $s"
	done
}

groups_table_shows_viability_and_reasons() {
	vfioctl groups
	assert_vfioctl_ok
	assert_eq "GROUP VIABLE DEVICE NAME DRIVER STATE REASON" "$(head -n1 "$OUT" | tr -s ' ')" "header"
	n=$(jq '[.[].members[]] | length' "$T/groups.json")
	assert_eq "$((n + 1))" "$(wc -l <"$OUT")" "one line per member"

	jq -r '.[] | .group as $g | (if .viable then "yes" else "no" end) as $v |
		.members[] | "\($g)\t\($v)\t\(.name)\t\(if .driver == "" then "-" else .driver end)\t\(.state)\t\(.reason)"' \
		"$T/groups.json" | while IFS="$(printf '\t')" read -r g v name drv state reason; do
		line=$(grep " $name " "$OUT") || fail "no line for $name"
		assert_eq "$g $v $name - $drv $state $reason" "$(printf '%s\n' "$line" | tr -s ' ')" "table line of $name"
	done
}

make_fixture
start_bus
start_vfiod

check "groups --json lists every IOMMU group of the fixture, numerically" groups_json_lists_every_group
check "groups --json members, states, viability follow the fixture" groups_json_members_match_fixture
check "the fixture has viable, non-viable and mixed groups, every state" groups_fixture_covers_the_cases
check "groups table shows each member with its group's viability and reason" groups_table_shows_viability_and_reasons

done_testing
