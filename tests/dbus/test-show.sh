#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vfioctl show DEVICE: one function and its group, the same records as
# devices/groups; missing devices are one clear line.
. "$(dirname "$0")/lib.sh"

DEVICES=$ROOT/sys/bus/pci/devices

show_json_equals_list_records() {
	vfioctl --json devices
	assert_vfioctl_ok
	cp "$OUT" "$T/devices.json"
	vfioctl --json groups
	assert_vfioctl_ok
	cp "$OUT" "$T/groups.json"

	for a in $(ls "$DEVICES"); do
		vfioctl --json show "$a"
		assert_vfioctl_ok
		# show adds the VFIO driver a claim takes (one module index read per
		# function, so not in the list); this fixture has no module index
		assert_eq "$(jq -S -c --arg a "$a" '.[] | select(.address == $a)' "$T/devices.json")" \
			"$(jq -S -c '.device | del(.vfio_driver, .vfio_driver_source, .quarantined)' "$OUT")" "device record of $a"
		if [ "$(jq -r .device.is_bridge "$OUT")" = false ]; then
			assert_eq "vfio-pci fallback" "$(jq -r '.device | "\(.vfio_driver) \(.vfio_driver_source)"' "$OUT")" \
				"VFIO driver of $a without module index"
		else
			assert_eq false "$(jq '.device | has("vfio_driver")' "$OUT")" "bridge $a has no VFIO driver"
		fi

		grp=$(link_name "$DEVICES/$a/iommu_group")
		if [ -n "$grp" ]; then
			assert_eq "$(jq -S -c --argjson g "$grp" '.[] | select(.group == $g)' "$T/groups.json")" \
				"$(jq -S -c .group "$OUT")" "group record of $a"
		else
			assert_eq false "$(jq 'has("group")' "$OUT")" "$a has no group, so no group key"
		fi
	done
}

show_text_names_group_viability_and_reasons() {
	for a in $(ls "$DEVICES"); do
		vfioctl show "$a"
		assert_vfioctl_ok
		grep -q "^ *Address: $a\$" "$OUT" || fail "no Address line for $a"
		drv=$(link_name "$DEVICES/$a/driver")
		grep -q "^ *Driver: ${drv:--}\$" "$OUT" || fail "no Driver line '${drv:--}' for $a"

		grp=$(link_name "$DEVICES/$a/iommu_group")
		if [ -z "$grp" ]; then
			grep -q "^ *IOMMU group: -\$" "$OUT" || fail "$a: no 'IOMMU group: -'"
			! grep -q "^IOMMU group " "$OUT" || fail "$a has no group but a group section"
			continue
		fi

		vfioctl --json show "$a"
		viable=$(jq -r .group.viable "$OUT")
		jq -r '.group.members[] | "\(.name) \(.reason)"' "$OUT" >"$T/reasons"
		vfioctl show "$a"
		if [ "$viable" = true ]; then
			grep -q "^IOMMU group $grp: viable" "$OUT" || fail "$a: group $grp not shown viable"
		else
			grep -q "^IOMMU group $grp: not viable" "$OUT" || fail "$a: group $grp not shown non-viable"
		fi
		while read -r name reason; do
			grep "^$name " "$OUT" | grep -qF "$reason" || fail "$a: member $name without its reason '$reason'"
		done <"$T/reasons"
	done
}

show_accepts_upper_case_and_answers_canonically() {
	a=$(ls "$DEVICES" | grep '[a-f]' | head -n1)
	[ -n "$a" ] || fail "the fixture has no address with a hex letter"
	vfioctl --json show "$(echo "$a" | tr 'a-f' 'A-F')"
	assert_vfioctl_ok
	assert_eq "$a" "$(jq -r .device.address "$OUT")" "address"
}

show_missing_device_is_one_line() {
	a=0000:00:09.0
	[ ! -e "$DEVICES/$a" ] || fail "the fixture unexpectedly has $a"
	vfioctl show "$a"
	assert_one_line_error 1
	assert_eq "vfioctl: no PCI device $a" "$(cat "$ERR")" "message"
	vfioctl --json show 0000:00:09.0
	assert_one_line_error 1 "no PCI device $a"
}

make_fixture
start_bus
start_vfiod

check "show --json gives the devices and groups records of every function" show_json_equals_list_records
check "show names driver, group viability and each member's reason" show_text_names_group_viability_and_reasons
check "show takes upper-case hex and answers with the canonical address" show_accepts_upper_case_and_answers_canonically
check "show of a missing device: 'no PCI device', exit 1" show_missing_device_is_one_line

done_testing
