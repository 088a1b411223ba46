#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The D-Bus contract itself: the live introspection of /org/vfiod1 equals
# docs/org.vfiod1.Manager.xml, errors carry their stable names, and the
# Version property is the project's version.
. "$(dirname "$0")/lib.sh"

: "${XML_CANON:?XML_CANON must name the xml-canon helper}"
: "${VFIOD_VERSION:?VFIOD_VERSION must be the project version}"

DOC=$SOURCE_ROOT/docs/org.vfiod1.Manager.xml
IFACE=org.vfiod1.Manager
M=$IFACE

# canon FILE: the interface's canonical form, on stdout
canon() {
	"$XML_CANON" "$1" "$IFACE"
}

introspection_equals_the_documented_contract() {
	bus_call org.vfiod1 /org/vfiod1 org.freedesktop.DBus.Introspectable.Introspect
	assert_eq 0 "$RC" "Introspect: $(cat "$ERR")"
	cp "$OUT" "$T/live.xml"
	canon "$T/live.xml" >"$T/live.canon" || fail "the live introspection has no $IFACE"
	canon "$DOC" >"$T/doc.canon" || fail "$DOC has no $IFACE"
	diff -u "$T/doc.canon" "$T/live.canon" || fail "live introspection differs from $DOC (diff above: - doc, + live)"
}

# mutant NAME SED_SCRIPT: a copy of the doc changed by SED_SCRIPT must compare different
mutant() {
	sed "$2" "$DOC" >"$T/mutant.xml"
	cmp -s "$DOC" "$T/mutant.xml" && fail "mutation '$1' did not change the file"
	if canon "$T/mutant.xml" >"$T/mutant.canon" 2>/dev/null &&
		cmp -s "$T/doc.canon" "$T/mutant.canon"; then
		fail "the comparison misses mutation '$1'"
	fi
}

comparison_detects_every_kind_of_difference() {
	canon "$DOC" >"$T/doc.canon"
	mutant "argument renamed" 's/name="address"/name="addr"/'
	mutant "argument type changed" 's/type="u" name="group"/type="i" name="group"/'
	mutant "direction flipped" '/name="parent" direction="in"/s/direction="in"/direction="out"/'
	mutant "method renamed" 's/name="ListMdevs"/name="ListMDevs"/'
	mutant "method removed" '/<method name="ListMdevParents">/,/<\/method>/d'
	mutant "signal argument removed" '/<signal name="InventoryChanged">/,/<\/signal>/{/name="action"/d}'
	mutant "method added" 's|<method name="ListMdevs">|<method name="Extra"/><method name="ListMdevs">|'
	mutant "property made writable" 's/access="read"/access="readwrite"/'
	mutant "annotation removed" '/EmitsChangedSignal/d'
	mutant "annotation added" 's|<method name="ListDevices">|<method name="ListDevices"><annotation name="org.freedesktop.DBus.Deprecated" value="true"/>|'
	mutant "interface renamed" 's/name="org.vfiod1.Manager"/name="org.vfiod1.Manager2"/'
	mutant "methods reordered" '/<method name="ListGroups">/,/<\/method>/d; s|<method name="ListDevices">|<method name="ListGroups"><arg type="aa{sv}" name="groups" direction="out"/></method><method name="ListDevices">|'
}

comparison_ignores_comments_and_whitespace() {
	canon "$DOC" >"$T/doc.canon"
	# more comments, other indentation, attributes in another order: the same contract
	sed -e 's|<method name="ListDevices">|<!-- an extra comment -->\n\t\t<method name="ListDevices"   >|' \
		-e 's|<arg type="s" name="address" direction="in"/>|<arg direction="in" name="address" type="s" />|' \
		-e 's/^ //' "$DOC" >"$T/same.xml"
	cmp -s "$DOC" "$T/same.xml" && fail "the rewrite did not change the file"
	canon "$T/same.xml" >"$T/same.canon"
	diff -u "$T/doc.canon" "$T/same.canon" || fail "the comparison sees a difference in comments or layout"
}

errors_have_stable_names() {
	# bus_call NAME PATH METHOD ARG; expected error name and message
	for c in "GetDevice|string:bogus|org.freedesktop.DBus.Error.InvalidArgs|Invalid PCI address 'bogus'" \
		"GetDevice|string:0000:00:09.0|org.vfiod1.Error.NoSuchDevice|No PCI device 0000:00:09.0" \
		"GetDevice|string:0000:00:1F.4 |org.freedesktop.DBus.Error.InvalidArgs|Invalid PCI address" \
		"GetGroup|uint32:4242|org.vfiod1.Error.NoSuchGroup|No IOMMU group 4242" \
		"GetGroup|uint32:4294967295|org.vfiod1.Error.NoSuchGroup|No IOMMU group 4294967295" \
		"ListMdevTypes|string:nosuchparent|org.vfiod1.Error.NoSuchParent|No mdev parent nosuchparent" \
		"ListMdevTypes|string:../x|org.freedesktop.DBus.Error.InvalidArgs|Invalid mdev parent name" \
		"GetDevice|uint32:1|org.freedesktop.DBus.Error.InvalidArgs|"; do
		method=${c%%|*}; rest=${c#*|}
		arg=${rest%%|*}; rest=${rest#*|}
		name=${rest%%|*}; text=${rest#*|}
		bus_call org.vfiod1 /org/vfiod1 "$M.$method" "$arg"
		[ "$RC" -ne 0 ] || fail "$method $arg succeeded"
		grep -q "^Error $name: .*$text" "$ERR" || fail "$method $arg: expected $name '$text', got: $(cat "$ERR")"
	done
	[ ! -e "$ROOT/sys/kernel/iommu_groups/4242" ] || fail "the fixture has group 4242"
}

lookups_succeed_for_existing_objects() {
	# the control for the errors above: the same methods answer for real objects
	a=$(ls "$ROOT/sys/bus/pci/devices" | head -n1)
	bus_call org.vfiod1 /org/vfiod1 "$M.GetDevice" "string:$a"
	assert_eq 0 "$RC" "GetDevice $a: $(cat "$ERR")"
	g=$(ls "$ROOT/sys/kernel/iommu_groups" | head -n1)
	bus_call org.vfiod1 /org/vfiod1 "$M.GetGroup" "uint32:$g"
	assert_eq 0 "$RC" "GetGroup $g: $(cat "$ERR")"
	p=$(ls "$ROOT/sys/class/mdev_bus" | head -n1)
	bus_call org.vfiod1 /org/vfiod1 "$M.ListMdevTypes" "string:$p"
	assert_eq 0 "$RC" "ListMdevTypes $p: $(cat "$ERR")"
	bus_call org.vfiod1 /org/vfiod1 "$M.ListMdevTypes" "string:"
	assert_eq 0 "$RC" "ListMdevTypes '': $(cat "$ERR")"
}

version_property() {
	bus_call org.vfiod1 /org/vfiod1 org.freedesktop.DBus.Properties.Get "string:$IFACE" string:Version
	assert_eq 0 "$RC" "Get Version: $(cat "$ERR")"
	assert_eq "variant $VFIOD_VERSION" "$(tr -s ' \n' ' ' <"$OUT" | sed 's/^ //; s/ $//')" "Version"
}

# bind_opts ARGS...: Bind through busctl (a{sv} words after the address)
bind_opts() {
	RC=0
	busctl --address="$BUS" -- call org.vfiod1 /org/vfiod1 "$M" Bind 'sa{sv}' "$@" >"$OUT" 2>"$ERR" || RC=$?
}

# an a{sv} of options is read key by key (common/bus-dict.c): each bad key
# or type is named; the control (good options) gets past them to the lookup
bind_options_are_checked() {
	for c in "frobnicate b true|Unknown option 'frobnicate'" \
		"driver s no/such|Option driver must be a driver name" \
		"driver u 1|Option driver must be a driver name" \
		"unbind_host_members s yes|Option unbind_host_members must be a boolean" \
		"driver s vfio-pci driver s vfio_pci_edu|Option driver given twice"; do
		n=1
		case "${c%%|*}" in *" driver "*) n=2 ;; esac
		# shellcheck disable=SC2086 # the a{sv} words
		bind_opts 0000:00:09.0 "$n" ${c%%|*}
		[ "$RC" -ne 0 ] || fail "Bind with ${c%%|*} succeeded"
		grep -q "${c#*|}" "$ERR" || fail "Bind with ${c%%|*}: expected '${c#*|}', got: $(cat "$ERR")"
	done
	bind_opts 0000:00:09.0 2 driver s vfio-pci unbind_host_members b false
	[ "$RC" -ne 0 ] || fail "Bind of a device that does not exist succeeded"
	grep -q "0000:00:09.0: no PCI function at this address" "$ERR" || fail "Bind with good options: $(cat "$ERR")"
}

# HeapInUse: root reads a number (anyone else: test-policy)
heap_in_use_for_root() {
	bus_call org.vfiod1 /org/vfiod1 org.freedesktop.DBus.Properties.Get "string:$IFACE" string:HeapInUse
	assert_eq 0 "$RC" "Get HeapInUse as root: $(cat "$ERR")"
	grep -Eq '^ *variant +uint64 +[1-9][0-9]*$' "$OUT" || fail "HeapInUse as root: $(cat "$OUT")"
}

make_fixture
start_bus
start_vfiod

check "live introspection of /org/vfiod1 equals docs/org.vfiod1.Manager.xml" introspection_equals_the_documented_contract
check "the comparison detects renamed, retyped, added, removed, reordered items" comparison_detects_every_kind_of_difference
check "the comparison ignores comments, indentation and attribute order" comparison_ignores_comments_and_whitespace
check "errors carry stable names: InvalidArgs, NoSuchDevice, NoSuchGroup, NoSuchParent" errors_have_stable_names
check "the same lookups succeed for objects that exist" lookups_succeed_for_existing_objects
check "the Version property is the project version" version_property
check "root reads HeapInUse" heap_in_use_for_root
check "Bind's options: unknown keys and wrong types are named, good ones pass" bind_options_are_checked

done_testing
