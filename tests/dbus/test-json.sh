#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# --json on every verb: valid JSON of the documented shape, the same
# wherever --json stands, and every field documented in docs/json-fields.md.
. "$(dirname "$0")/lib.sh"

FIELDS_DOC=$SOURCE_ROOT/docs/json-fields.md
SHOW_ADDRESS=

# every verb with its arguments and the JSON type of its output
verbs() {
	echo "array devices"
	echo "array groups"
	echo "array mdev-parents"
	echo "array mdev-types"
	echo "array mdev-types $(ls "$ROOT/sys/class/mdev_bus" | head -n1)"
	echo "array mdevs"
	echo "object host"
	echo "array vm list"
	echo "object vm show jsonvm"
	# one function with a group and SR-IOV keys, one without a group
	for d in "$ROOT"/sys/bus/pci/devices/*; do
		if [ -f "$d/sriov_totalvfs" ] || [ ! -L "$d/iommu_group" ]; then
			echo "object show $(basename "$d")"
		fi
	done
}

every_verb_prints_valid_json() {
	verbs | while read -r type args; do
		# shellcheck disable=SC2086
		vfioctl --json $args
		assert_vfioctl_ok
		assert_eq "$type" "$(jq -r type "$OUT")" "JSON type of '$args'"
		[ "$(jq length "$OUT")" -gt 0 ] || fail "'$args' printed an empty $type"
		cp "$OUT" "$T/first"
		# shellcheck disable=SC2086
		vfioctl $args --json
		assert_vfioctl_ok
		cmp -s "$T/first" "$OUT" || fail "'$args': --json after the verb prints something else"
	done
}

numbers_are_json_numbers() {
	vfioctl --json devices
	jq -e 'all(.[]; (.vendor_id | type) == "number" and (.class | type) == "number"
		and (.iommu_group | type) == "number" and (.is_bridge | type) == "boolean")' "$OUT" >/dev/null ||
		fail "device ids, class, group or is_bridge are not JSON numbers/booleans"
	vfioctl --json groups
	jq -e 'all(.[]; (.group | type) == "number" and (.viable | type) == "boolean"
		and all(.members[]; (.viable | type) == "boolean" and (.is_bridge | type) == "boolean"))' "$OUT" >/dev/null ||
		fail "group numbers or booleans have the wrong JSON type"
}

every_field_is_documented() {
	[ -f "$FIELDS_DOC" ] || fail "$FIELDS_DOC is missing"
	verbs | while read -r type args; do
		# shellcheck disable=SC2086
		vfioctl --json $args
		assert_vfioctl_ok
		# every object key at any depth
		for key in $(jq -r '[.. | objects | keys[]] | unique | .[]' "$OUT"); do
			grep -q "\`$key\`" "$FIELDS_DOC" || fail "'$args' prints field '$key', which $FIELDS_DOC does not document"
		done
	done
}

# every key at any depth is snake_case, the D-Bus property names of vm show included
every_key_is_snake_case() {
	verbs | while read -r type args; do
		# shellcheck disable=SC2086
		vfioctl --json $args
		assert_vfioctl_ok
		for key in $(jq -r '[.. | objects | keys[]] | unique | .[]' "$OUT"); do
			printf '%s\n' "$key" | grep -Eq '^[a-z][a-z0-9]*(_[a-z0-9]+)*$' ||
				fail "'$args' prints the key '$key', not snake_case"
		done
	done
}

# the optional fields show up where the fixture has them: names from its
# hwdb, a VM with a device and its busy device
optional_fields_are_covered() {
	vfioctl --json devices
	jq -e 'any(.[]; has("vendor_name")) and any(.[]; has("device_name"))' "$OUT" >/dev/null ||
		fail "no device name printed: the fields check would not cover them"
	vfioctl --json groups
	jq -e 'any(.[]; has("member_names"))' "$OUT" >/dev/null || fail "no member_names printed"
	vfioctl --json vm show jsonvm
	jq -e '.devices | length == 1' "$OUT" >/dev/null || fail "vm show: no device: $(cat "$OUT")"
	jq -e 'has("vmm_pid") and has("locked_bytes") and has("busy_device") and has("charge_matches")' "$OUT" \
		>/dev/null || fail "vm show lacks a snake_case property: $(cat "$OUT")"
	assert_eq '{"name":"","status":"","detail":""}' "$(jq -c .busy_device "$OUT")" "busy_device as an object"
}

make_fixture
add_fixture_hwdb
start_bus
start_vfiod

# a VM with one device, for vm list and vm show
trap 'cleanup_vmms; cleanup' EXIT
spawn_vmm
"$VFIOCTL" --bus-address="$BUS" vm register jsonvm --pid "$VMM" --backend type1 --vmm-opens-groups \
	--memory 64M >/dev/null || bail_out "cannot register the VM for vm show"
make_group_node 2
"$VFIOCTL" --bus-address="$BUS" vm add-device jsonvm 0000:01:00.0 || bail_out "cannot give the VM a device"

check "--json on every verb prints non-empty JSON of the right type, wherever it stands" every_verb_prints_valid_json
check "--json numbers and booleans are JSON numbers and booleans" numbers_are_json_numbers
check "every JSON field of every verb is documented in docs/json-fields.md" every_field_is_documented
check "every JSON key of every verb, vm show included, is snake_case" every_key_is_snake_case
check "the fixture makes the optional fields appear (names, vm show)" optional_fields_are_covered

done_testing
