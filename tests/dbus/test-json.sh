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

make_fixture
start_bus
start_vfiod

check "--json on every verb prints non-empty JSON of the right type, wherever it stands" every_verb_prints_valid_json
check "--json numbers and booleans are JSON numbers and booleans" numbers_are_json_numbers
check "every JSON field of every verb is documented in docs/json-fields.md" every_field_is_documented

done_testing
