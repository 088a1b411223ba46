#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vfioctl devices: every PCI function of the fixture, each field read back
# from the fixture's own files; the table shows the same rows.
. "$(dirname "$0")/lib.sh"

DEVICES=$ROOT/sys/bus/pci/devices

# the record of one address from the JSON rows in $T/devices.json
record() {
	jq -c --arg a "$1" '.[] | select(.address == $a)' "$T/devices.json"
}

devices_json_lists_every_function() {
	vfioctl --json devices
	assert_vfioctl_ok
	cp "$OUT" "$T/devices.json"

	# sorted by address: fixed-width lower-case hex sorts like the numbers
	expected=$(ls "$DEVICES" | LC_ALL=C sort)
	[ -n "$expected" ] || fail "the fixture has no PCI functions"
	assert_eq "$expected" "$(jq -r '.[].address' "$T/devices.json")" "addresses in order"
}

devices_json_fields_match_fixture() {
	for a in $(ls "$DEVICES"); do
		d=$DEVICES/$a
		rec=$(record "$a")
		[ -n "$rec" ] || fail "$a missing"

		assert_eq "$(number "$d/vendor")" "$(field "$rec" vendor_id)" "$a vendor_id"
		assert_eq "$(number "$d/device")" "$(field "$rec" device_id)" "$a device_id"
		assert_eq "$(number "$d/subsystem_vendor")" "$(field "$rec" subsystem_vendor_id)" "$a subsystem_vendor_id"
		assert_eq "$(number "$d/subsystem_device")" "$(field "$rec" subsystem_device_id)" "$a subsystem_device_id"
		assert_eq "$(number "$d/class")" "$(field "$rec" class)" "$a class"
		assert_eq "$(cat "$d/numa_node")" "$(field "$rec" numa_node)" "$a numa_node"

		drv=$(link_name "$d/driver")
		assert_eq "${drv:-(absent)}" "$(field "$rec" driver)" "$a driver"

		grp=$(link_name "$d/iommu_group")
		assert_eq "${grp:--1}" "$(field "$rec" iommu_group)" "$a iommu_group"

		# the kernel shows "(null)" for no override
		ovr=$(cat "$d/driver_override")
		[ "$ovr" != "(null)" ] || ovr=
		assert_eq "${ovr:-(absent)}" "$(field "$rec" driver_override)" "$a driver_override"

		# bridges by class: PCI-to-PCI (0x0604) and CardBus (0x0607)
		case $(($(number "$d/class") >> 8)) in
		1540 | 1543) bridge=true ;;
		*) bridge=false ;;
		esac
		assert_eq "$bridge" "$(field "$rec" is_bridge)" "$a is_bridge"

		if [ -f "$d/sriov_totalvfs" ] && [ "$(cat "$d/sriov_totalvfs")" -gt 0 ]; then
			assert_eq "$(cat "$d/sriov_totalvfs")" "$(field "$rec" sriov_totalvfs)" "$a sriov_totalvfs"
			assert_eq "$(cat "$d/sriov_numvfs")" "$(field "$rec" sriov_numvfs)" "$a sriov_numvfs"
			autoprobe=true
			[ "$(cat "$d/sriov_drivers_autoprobe" 2>/dev/null || echo 1)" != 0 ] || autoprobe=false
			assert_eq "$autoprobe" "$(field "$rec" sriov_drivers_autoprobe)" "$a sriov_drivers_autoprobe"
			vfs=$(for l in "$d"/virtfn*; do link_name "$l"; done | LC_ALL=C sort | tr '\n' ' ')
			assert_eq "$vfs" "$(printf '%s\n' "$rec" | jq -r '.virtfns | join(" ")') " "$a virtfns"
		else
			for k in sriov_totalvfs sriov_numvfs virtfns sriov_drivers_autoprobe; do
				assert_eq "(absent)" "$(field "$rec" $k)" "$a $k (not a PF)"
			done
		fi

		pf=$(link_name "$d/physfn")
		assert_eq "${pf:-(absent)}" "$(field "$rec" physfn)" "$a physfn"
	done
}

devices_fixture_covers_the_cases() {
	# guards the checks above against a fixture that lost its interesting parts
	jq -e 'any(.[]; has("driver") | not)' "$T/devices.json" >/dev/null || fail "no unbound function"
	jq -e 'any(.[]; .iommu_group == -1)' "$T/devices.json" >/dev/null || fail "no function without a group"
	jq -e 'any(.[]; has("virtfns"))' "$T/devices.json" >/dev/null || fail "no SR-IOV PF"
	jq -e 'any(.[]; has("physfn"))' "$T/devices.json" >/dev/null || fail "no VF"
	jq -e 'any(.[]; has("driver_override"))' "$T/devices.json" >/dev/null || fail "no driver_override"
}

devices_table_shows_the_same_rows() {
	vfioctl devices
	assert_vfioctl_ok
	assert_eq "ADDRESS VENDOR DEVICE CLASS DRIVER GROUP NAME" "$(head -n1 "$OUT" | tr -s ' ')" "header"
	assert_eq "$(($(ls "$DEVICES" | wc -l) + 1))" "$(wc -l <"$OUT")" "one line per function"

	for a in $(ls "$DEVICES"); do
		d=$DEVICES/$a
		line=$(grep "^$a " "$OUT") || fail "no line for $a"
		drv=$(link_name "$d/driver")
		grp=$(link_name "$d/iommu_group")
		expected="$a $(printf '0x%04x 0x%04x 0x%06x' "$(cat "$d/vendor")" "$(cat "$d/device")" "$(cat "$d/class")") ${drv:--} ${grp:--} -"
		assert_eq "$expected" "$(printf '%s\n' "$line" | tr -s ' ')" "table line of $a"
	done
}

make_fixture
start_bus
start_vfiod

check "devices --json lists every function of the fixture, sorted" devices_json_lists_every_function
check "devices --json fields equal the fixture's sysfs files" devices_json_fields_match_fixture
check "the fixture has unbound, groupless, SR-IOV and override cases" devices_fixture_covers_the_cases
check "devices table has one aligned line per function with hex ids" devices_table_shows_the_same_rows

done_testing
