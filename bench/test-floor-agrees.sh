# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench-floor-agrees (unit suite): the benchmarks' floor reader
# (bench/floor-read.c) does the same work as vfioctl. On a generated host of
# 64 functions and 16 mdevs (bench/gen-host.c), the real vfiod on a private
# bus and the floor list the same functions with the same ids, class,
# driver and IOMMU group, and the same group members with the same bus,
# driver, state and bridge flag. Correctness only: nothing here is timed.
#
# meson passes VFIOD, VFIOCTL, GEN_HOST, FLOOR, SOURCE_ROOT.
: "${GEN_HOST:?GEN_HOST must name bench/gen-host}"
: "${FLOOR:?FLOOR must name bench/floor}"

. "$SOURCE_ROOT/tests/dbus/lib.sh"

"$GEN_HOST" "$ROOT" 64 16 || bail_out "gen-host failed"
start_bus
start_vfiod

# floor_devices_decimal: the floor's device lines with the ids in decimal, as --json has them
floor_devices_decimal() {
	"$FLOOR" "$ROOT" devices | while read -r addr vendor device class driver group; do
		printf '%s %d %d %d %s %s\n' "$addr" "$vendor" "$device" "$class" "$driver" "$group"
	done
}

devices_agree() {
	vfioctl --json devices
	assert_vfioctl_ok
	jq -r '.[] | "\(.address) \(.vendor_id) \(.device_id) \(.class) \(.driver // "-") \(if .iommu_group < 0 then "-" else .iommu_group end)"' \
		<"$OUT" >"$T/vfiod.devices"
	floor_devices_decimal >"$T/floor.devices"
	assert_eq 64 "$(wc -l <"$T/vfiod.devices")" "functions vfiod lists"
	# not a vacuous match: the host has drivers, unbound functions and many groups
	assert_eq 9 "$(awk '{ print $5 }' "$T/vfiod.devices" | sort -u | wc -l)" "distinct drivers (and none)"
	diff -u "$T/vfiod.devices" "$T/floor.devices" >&2 || fail "the floor and vfiod list different functions"
}
check "the floor and vfioctl devices list the same functions, ids, drivers and groups" devices_agree

groups_agree() {
	vfioctl --json groups
	assert_vfioctl_ok
	jq -r '.[] | .group as $g | .members[] | "\($g) \(.name) \(.bus) \(if .driver == "" then "-" else .driver end) \(.state)\(if .is_bridge then " bridge" else "" end)"' \
		<"$OUT" >"$T/vfiod.groups"
	"$FLOOR" "$ROOT" groups >"$T/floor.groups"
	# 64 functions and 16 mdevs, each in exactly one group
	assert_eq 80 "$(wc -l <"$T/vfiod.groups")" "group members vfiod lists"
	diff -u "$T/vfiod.groups" "$T/floor.groups" >&2 || fail "the floor and vfiod see different groups"
}
check "the floor and vfioctl groups see the same members, drivers and states" groups_agree

show_agrees() {
	addr=0000:02:00.0
	vfioctl --json show "$addr"
	assert_vfioctl_ok
	"$FLOOR" "$ROOT" show "$addr" >"$T/floor.show"
	assert_eq "$(jq -r '.device.driver // "-"' "$OUT")" \
		"$(sed -n 's/^driver //p' "$T/floor.show")" "driver of $addr"
	assert_eq "$(jq -r '.device.iommu_group' "$OUT")" \
		"$(sed -n 's/^iommu_group //p' "$T/floor.show")" "group of $addr"
	assert_eq "$(jq -r '.group.members | length' "$OUT")" \
		"$(grep -c "^$(jq -r '.device.iommu_group' "$OUT") " "$T/floor.show")" "members of its group"
}
check "the floor and vfioctl show read the same function and group" show_agrees

done_testing
