#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vfioctl mdev-parents, mdev-types [PARENT], mdevs against the fixture's
# mdev_bus class, supported types and mdev devices.
. "$(dirname "$0")/lib.sh"

PARENTS=$ROOT/sys/class/mdev_bus
MDEVS=$ROOT/sys/bus/mdev/devices

# optional FILE: its content, or "(absent)"
optional() {
	if [ -f "$1" ]; then cat "$1"; else echo "(absent)"; fi
}

# expected_types [PARENT...]: "parent type" lines in the order vfiod answers
expected_types() {
	for p in "$@"; do
		for t in $(ls "$PARENTS/$p/mdev_supported_types" | LC_ALL=C sort); do
			echo "$p $t"
		done
	done
}

mdev_parents_match_fixture() {
	vfioctl --json mdev-parents
	assert_vfioctl_ok
	parents=$(ls "$PARENTS" | LC_ALL=C sort)
	[ -n "$parents" ] || fail "the fixture has no mdev parents"
	assert_eq "$parents" "$(jq -r '.[].parent' "$OUT")" "parents"
	for p in $parents; do
		rec=$(jq -c --arg p "$p" '.[] | select(.parent == $p)' "$OUT")
		assert_eq "$(ls "$PARENTS/$p/mdev_supported_types" | LC_ALL=C sort | tr '\n' ' ')" \
			"$(printf '%s\n' "$rec" | jq -r '.types | join(" ")') " "types of $p"
		# a PCI parent sits on bus pci; a virtual one (class device) has no bus
		sub=$(readlink "$PARENTS/$p/subsystem")
		case "$sub" in
		*/bus/*) bus=$(basename "$sub") ;;
		*) bus= ;;
		esac
		assert_eq "$bus" "$(field "$rec" bus)" "bus of $p"
		drv=$(link_name "$PARENTS/$p/driver")
		assert_eq "${drv:-(absent)}" "$(field "$rec" driver)" "driver of $p"
	done
}

mdev_types_match_fixture() {
	vfioctl --json mdev-types
	assert_vfioctl_ok
	cp "$OUT" "$T/types.json"
	# shellcheck disable=SC2046
	assert_eq "$(expected_types $(ls "$PARENTS" | LC_ALL=C sort))" \
		"$(jq -r '.[] | "\(.parent) \(.type)"' "$T/types.json")" "parent/type pairs"

	n=$(jq length "$T/types.json")
	i=0
	while [ "$i" -lt "$n" ]; do
		rec=$(jq -c ".[$i]" "$T/types.json")
		dir=$PARENTS/$(field "$rec" parent)/mdev_supported_types/$(field "$rec" type)
		assert_eq "$(optional "$dir/name")" "$(field "$rec" name)" "name of $dir"
		assert_eq "$(optional "$dir/description")" "$(field "$rec" description)" "description of $dir"
		assert_eq "$(cat "$dir/device_api")" "$(field "$rec" device_api)" "device_api of $dir"
		assert_eq "$(cat "$dir/available_instances")" "$(field "$rec" available_instances)" "available_instances of $dir"
		i=$((i + 1))
	done
	jq -e 'any(.[]; has("description") | not)' "$T/types.json" >/dev/null || fail "no type without description"
}

mdev_types_of_one_parent() {
	for p in $(ls "$PARENTS"); do
		vfioctl --json mdev-types "$p"
		assert_vfioctl_ok
		assert_eq "$(expected_types "$p")" "$(jq -r '.[] | "\(.parent) \(.type)"' "$OUT")" "types of $p"
	done
}

mdev_types_table_is_one_line_per_type() {
	vfioctl mdev-types
	assert_vfioctl_ok
	assert_eq "PARENT TYPE NAME API AVAILABLE DESCRIPTION" "$(head -n1 "$OUT" | tr -s ' ')" "header"
	# descriptions hold newlines in sysfs; the table keeps one line per type
	assert_eq "$(($(jq length "$T/types.json") + 1))" "$(wc -l <"$OUT")" "lines"
	jq -r '.[] | "\(.parent) \(.type) \(.available_instances)"' "$T/types.json" |
		while read -r p t avail; do
			grep -q "^$p  *$t  .*  $avail  " "$OUT" || fail "no table line for $p $t with $avail available"
		done
}

mdev_types_unknown_parent_is_one_line() {
	[ ! -e "$PARENTS/nosuchparent" ] || fail "fixture has nosuchparent"
	vfioctl mdev-types nosuchparent
	assert_one_line_error 1
	assert_eq "vfioctl: no mdev parent nosuchparent" "$(cat "$ERR")" "message"
}

mdevs_match_fixture() {
	vfioctl --json mdevs
	assert_vfioctl_ok
	uuids=$(ls "$MDEVS" | LC_ALL=C sort)
	[ -n "$uuids" ] || fail "the fixture has no mdev"
	assert_eq "$uuids" "$(jq -r '.[].uuid' "$OUT")" "mdevs"
	for u in $uuids; do
		rec=$(jq -c --arg u "$u" '.[] | select(.uuid == $u)' "$OUT")
		# an mdev's directory sits below its parent's
		parent=$(basename "$(dirname "$(readlink "$MDEVS/$u")")")
		assert_eq "$parent" "$(field "$rec" parent)" "parent of $u"
		assert_eq "$(link_name "$MDEVS/$u/mdev_type")" "$(field "$rec" type)" "type of $u"
		drv=$(link_name "$MDEVS/$u/driver")
		assert_eq "${drv:-(absent)}" "$(field "$rec" driver)" "driver of $u"
		grp=$(link_name "$MDEVS/$u/iommu_group")
		assert_eq "${grp:--1}" "$(field "$rec" iommu_group)" "iommu_group of $u"
	done

	vfioctl mdevs
	assert_vfioctl_ok
	for u in $uuids; do
		grep -q "^$u  " "$OUT" || fail "no table line for $u"
	done
}

make_fixture
start_bus
start_vfiod

check "mdev-parents: every parent of the fixture with bus, driver, types" mdev_parents_match_fixture
check "mdev-types: every type of every parent with its attributes" mdev_types_match_fixture
check "mdev-types PARENT: only that parent's types" mdev_types_of_one_parent
check "mdev-types table: one line per type, multi-line descriptions folded" mdev_types_table_is_one_line_per_type
check "mdev-types of an unknown parent: 'no mdev parent', exit 1" mdev_types_unknown_parent_is_one_line
check "mdevs: every mdev with parent, type, driver, group" mdevs_match_fixture

done_testing
