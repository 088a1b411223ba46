#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Device names from the udev hardware database below vfiod's root: a fixture
# root without a hwdb gives ids only, no error; with the tiny database of
# tests/fixtures/pci-names.hwdb (compiled by systemd-hwdb) devices, show and
# groups name what it knows, in JSON and in the tables.
. "$(dirname "$0")/lib.sh"

# record ADDRESS: the device record of ADDRESS from the last `devices --json`
record() {
	jq -c --arg a "$1" '.[] | select(.address == $a)' "$T/devices.json"
}

no_hwdb_gives_ids_only() {
	vfioctl --json devices
	assert_vfioctl_ok
	jq -e 'length > 0 and all(.[]; (has("vendor_name") or has("device_name")) | not)' "$OUT" >/dev/null ||
		fail "a root without a hwdb printed names: $(jq -c '[.[] | select(has("vendor_name"))]' "$OUT")"
	vfioctl devices
	assert_vfioctl_ok
	line=$(grep '^0000:01:00.0 ' "$OUT" | tr -s ' ')
	assert_eq "0000:01:00.0 0x10de 0x1e84 0x030000 vfio-pci 2 -" "$line" "table line without names"
	vfioctl --json groups
	assert_vfioctl_ok
	jq -e 'all(.[]; has("member_names") | not)' "$OUT" >/dev/null || fail "groups printed member_names without a hwdb"
}

devices_json_has_names() {
	vfioctl --json devices
	assert_vfioctl_ok
	cp "$OUT" "$T/devices.json"
	assert_eq "NVIDIA Corporation" "$(field "$(record 0000:01:00.0)" vendor_name)" "vendor of the GPU"
	# the function's model, not the subsystem entry the database also has
	assert_eq "TU104 [GeForce RTX 2070 SUPER]" "$(field "$(record 0000:01:00.0)" device_name)" "model of the GPU"
	assert_eq "TU104 HD Audio Controller" "$(field "$(record 0000:01:00.1)" device_name)" "model of the audio function"
	assert_eq "82574L Gigabit Network Connection" "$(field "$(record 0000:03:00.0)" device_name)" "model of the NIC"
	# a vendor the database knows without this model, and one it does not know
	assert_eq "Intel Corporation" "$(field "$(record 0000:00:00.0)" vendor_name)" "vendor only"
	assert_eq "(absent)" "$(field "$(record 0000:00:00.0)" device_name)" "unknown model is left out"
	assert_eq "(absent)" "$(field "$(record 0000:03:01.0)" vendor_name)" "unknown vendor is left out"
	assert_eq "4172" "$(field "$(record 0000:03:01.0)" vendor_id)" "ids stay"
}

devices_table_has_names() {
	vfioctl devices
	assert_vfioctl_ok
	assert_eq "ADDRESS VENDOR DEVICE CLASS DRIVER GROUP NAME" "$(head -n1 "$OUT" | tr -s ' ')" "header"
	assert_eq "0000:01:00.0 0x10de 0x1e84 0x030000 vfio-pci 2 NVIDIA Corporation TU104 [GeForce RTX 2070 SUPER]" \
		"$(grep '^0000:01:00.0 ' "$OUT" | tr -s ' ')" "GPU line"
	assert_eq "Intel Corporation" "$(grep '^0000:00:00.0 ' "$OUT" | tr -s ' ' | cut -d' ' -f7-)" "vendor-only line"
	assert_eq "-" "$(grep '^0000:03:01.0 ' "$OUT" | tr -s ' ' | cut -d' ' -f7-)" "unnamed line"
}

show_has_names() {
	vfioctl --json show 0000:01:00.1
	assert_vfioctl_ok
	assert_eq "NVIDIA Corporation/TU104 HD Audio Controller" \
		"$(jq -r '.device | "\(.vendor_name)/\(.device_name)"' "$OUT")" "show --json device names"
	assert_eq "0000:01:00.0=TU104 [GeForce RTX 2070 SUPER] 0000:01:00.1=TU104 HD Audio Controller" \
		"$(jq -r '[.group.member_names[] | "\(.name)=\(.device_name)"] | join(" ")' "$OUT")" "show --json group names"
	vfioctl show 0000:01:00.1
	assert_vfioctl_ok
	grep -q '^      Device name: TU104 HD Audio Controller$' "$OUT" || fail "no device name line: $(cat "$OUT")"
	grep -q '^      Vendor name: NVIDIA Corporation$' "$OUT" || fail "no vendor name line: $(cat "$OUT")"
	grep -q '^0000:01:00.0 *NVIDIA Corporation TU104 \[GeForce RTX 2070 SUPER\] ' "$OUT" ||
		fail "the group table does not name the GPU: $(cat "$OUT")"
}

groups_have_names() {
	vfioctl --json groups
	assert_vfioctl_ok
	# group 8: a bridge of a known vendor, a named NIC, two functions the database does not know
	assert_eq '[{"name":"0000:00:1e.0","vendor_name":"Intel Corporation","device_name":""},{"name":"0000:03:00.0","vendor_name":"Intel Corporation","device_name":"82574L Gigabit Network Connection"}]' \
		"$(jq -c '.[] | select(.group == 8) | .member_names' "$OUT")" "member_names of group 8"
	assert_eq '{"name":"0000:00:00.0","vendor_name":"Intel Corporation","device_name":""}' \
		"$(jq -c '.[] | select(.group == 0) | .member_names[0]' "$OUT")" "a vendor-only member"
	vfioctl groups
	assert_vfioctl_ok
	assert_eq "GROUP VIABLE DEVICE NAME DRIVER STATE REASON" "$(head -n1 "$OUT" | tr -s ' ')" "header"
	grep -q '^2 .* 0000:01:00.0 *NVIDIA Corporation TU104 \[GeForce RTX 2070 SUPER\] *vfio-pci ' "$OUT" ||
		fail "no named GPU line: $(cat "$OUT")"
	grep -q '^2 .* 0000:01:00.1 *NVIDIA Corporation TU104 HD Audio Controller ' "$OUT" ||
		fail "no named audio line: $(cat "$OUT")"
	grep -q '^8 .* 0000:03:01.0 *- ' "$OUT" || fail "an unnamed member is not '-': $(cat "$OUT")"
}

make_fixture
start_bus
start_vfiod

check "a root without a hardware database: ids only, no error" no_hwdb_gives_ids_only

stop_vfiod || true
add_fixture_hwdb
start_vfiod

check "devices --json names what the fixture's hwdb knows, leaves out the rest" devices_json_has_names
check "devices table: a NAME column as lspci shows it, '-' when unknown" devices_table_has_names
check "show names the device and its group's members" show_has_names
check "groups name their members (member_names; NAME column)" groups_have_names

done_testing
