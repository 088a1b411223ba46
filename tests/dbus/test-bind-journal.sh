#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The binding journal (daemon/bind-journal.h) on the fixture host: an
# ad-hoc claim outlives a vfiod restart and Unbind then restores what its
# record says; a claim cut short by a crash is undone at the next start;
# hostile journal files are set aside without touching any device; and
# the journals are recovered before the configuration is applied.
#
# The fixture does not imitate the kernel: a driver link never moves, so a
# claim succeeds only on functions that are on vfio-pci already, and what
# vfiod writes (driver_override, drivers/*/bind, unbind) shows in plain
# files. The same on a real kernel, where the drivers do move:
# tests/vm/cases/vm-bind-journal.sh.
. "$(dirname "$0")/lib.sh"

UUID1=5b2c2f8e-6a0e-4c57-9d51-0d1c7e0a0011
B=
DEV=$ROOT/sys/bus/pci/devices
DRV=$ROOT/sys/bus/pci/drivers

# config_item NAME FIELD: a field of the configuration item NAME
config_item() {
	"$VFIOCTL" --bus-address="$BUS" --json config status |
		jq -r --arg n "$1" ".[] | select(.name == \$n) | .$2"
}

a_bind_outlives_a_restart_and_unbind_restores_it() {
	vfioctl bind 0000:02:10.0
	assert_vfioctl_ok
	assert_eq "held 0000:02:10.0 0000:02:10.0 vfio-pci null" \
		"$(jq -r '"\(.state) \(.device) \(.claim.members[0].name) \(.claim.members[0].original_driver) \(.claim.members[0].original_driver_override)"' "$B/0000:02:10.0.json")" \
		"the journal of the claim"
	stop_current_vfiod
	# What a claim of this function would have recorded had it been
	# unbound with driver_override "pci-stub" (the fixture cannot move a
	# driver; vm-bind-journal does it on a real kernel).
	jq '.claim.members[0] |= (.changed = true | .original_driver = null | .original_driver_override = "pci-stub")' \
		"$B/0000:02:10.0.json" >"$T/j" && mv "$T/j" "$B/0000:02:10.0.json"
	: >"$DRV/vfio-pci/unbind"
	start_vfiod
	grep -q "Claim of 0000:02:10.0 held again after vfiod's restart" "$T/vfiod.log" ||
		fail "no adoption logged"
	# still held: nobody else takes it
	vfioctl bind 0000:02:10.0
	assert_one_line_error 1 "(org.vfiod1.Error.OwnedByOtherVM)"
	vfioctl unbind 0000:02:10.0
	assert_vfioctl_ok
	assert_eq 0000:02:10.0 "$(cat "$DRV/vfio-pci/unbind")" "unbound from vfio-pci"
	assert_eq pci-stub "$(cat "$DEV/0000:02:10.0/driver_override")" "its driver_override restored"
	[ ! -e "$B/0000:02:10.0.json" ] || fail "journal left after Unbind"
	vfioctl unbind 0000:02:10.0
	assert_one_line_error 1 "(org.vfiod1.Error.NotBound)"
	echo '(null)' >"$DEV/0000:02:10.0/driver_override"
}

a_crash_in_the_middle_of_a_bind_is_undone() {
	restart_vfiod_crashing bind-planned
	vfioctl bind 0000:02:10.2
	[ "$RC" -ne 0 ] || fail "the bind answered although vfiod crashed"
	wait_crashed bind-planned
	assert_eq "planned igbvf null true" \
		"$(jq -r '.claim.members[0] | "\(input.state) \(.original_driver) \(.original_driver_override) \(.changed)"' \
			"$B/0000:02:10.2.json" "$B/0000:02:10.2.json")" \
		"the journaled plan"
	# the move's first step, the one the crash point comes right before
	echo vfio-pci >"$DEV/0000:02:10.2/driver_override"
	start_vfiod
	grep -q "The claim of 0000:02:10.2 was under way at vfiod's exit: undone." "$T/vfiod.log" ||
		fail "no undo logged"
	assert_eq "" "$(cat "$DEV/0000:02:10.2/driver_override")" "driver_override cleared again"
	[ ! -e "$B/0000:02:10.2.json" ] || fail "journal left after the undo"
	vfioctl unbind 0000:02:10.2
	assert_one_line_error 1 "(org.vfiod1.Error.NotBound)"
	echo '(null)' >"$DEV/0000:02:10.2/driver_override"
}

# hostile NAME: a journal file an attacker or a bad disk could leave
hostile() {
	cat >"$B/$1.json"
}

# a claim of 0000:02:10.2 that would move it back to DRIVER if believed
claim_of() {
	printf '{"version":1,"device":"0000:02:10.2","state":"%s","claim":{"members":[{"name":"%s","group":7,"requested":true,"original_driver":%s,"original_driver_override":null,"changed":true}]}}' "$@"
}

hostile_journals_are_set_aside() {
	stop_current_vfiod
	mkdir -p "$B"
	printf '{"version": 1, "device": "0000:02:1' | hostile 0000:02:10.2
	printf '{"version": 99}' | hostile 0000:00:00.0
	claim_of held 0000:02:10.2 '"igbvf"' | hostile 0000:02:10.0            # named after another function
	claim_of planned 0000:02:10.2 '"../../../../tmp/x"' | hostile 0000:00:01.0
	claim_of planned 0000:2:10.2 '"igbvf"' | hostile 0000:00:02.0          # not canonical
	{ claim_of planned 0000:02:10.2 '"igbvf"'; echo ' trailing'; } | hostile 0000:00:03.0
	claim_of planned 0000:02:10.2 '"igbvf"' | sed 's/"igbvf"/"igb\\u0000vf"/' | hostile 0000:00:04.0
	printf '{"version":1,"device":"0000:02:10.2","state":"planned","claim":{"members":[]}}' | hostile 0000:00:1c.0
	{ printf '{"version":1,"pad":"'; head -c 5000000 /dev/zero | tr '\0' a; printf '"}'; } | hostile 0000:00:1e.0
	printf '{"version":1,"x":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}' | hostile 0000:00:1f.4
	ln -s /etc/hostname "$B/0000:03:00.0.json"
	: >"$DRV/igbvf/bind"
	start_vfiod
	for f in 0000:02:10.2 0000:00:00.0 0000:02:10.0 0000:00:01.0 0000:00:02.0 0000:00:03.0 \
		0000:00:04.0 0000:00:1c.0 0000:00:1e.0 0000:00:1f.4 0000:03:00.0; do
		[ -e "$B/$f.json.corrupt" ] || [ -L "$B/$f.json.corrupt" ] || fail "$f.json was not set aside"
		[ ! -e "$B/$f.json" ] && [ ! -L "$B/$f.json" ] || fail "$f.json is still there"
		grep -q "Binding journal .*/$f.json is unreadable" "$T/vfiod.log" || fail "$f.json not reported"
	done
	assert_eq "" "$(cat "$DRV/igbvf/bind")" "nothing bound back from a hostile journal"
	assert_eq "(null)" "$(cat "$DEV/0000:02:10.2/driver_override")" "no driver_override written"
	[ ! -e /tmp/x ] || fail "a driver name from a journal became a path"
	vfioctl unbind 0000:02:10.2
	assert_one_line_error 1 "(org.vfiod1.Error.NotBound)"
	rm -f "$B"/*.corrupt
}

journals_are_recovered_before_the_configuration() {
	make_group_node 2
	spawn_vmm 4242
	vfioctl vm register keep --uuid "$UUID1" --pid "$VMM" --backend type1 --vmm-opens-groups --memory 64M
	assert_vfioctl_ok
	vfioctl vm add-device keep 0000:01:00.0
	assert_vfioctl_ok
	vfioctl bind 0000:02:10.0
	assert_vfioctl_ok
	stop_current_vfiod
	# the configuration names a function of the VM's group, and the held claim's
	mkdir -p "$ROOT/etc/vfiod"
	printf '{"bindings": [{"device": "0000:01:00.1"}, {"device": "0000:02:10.0"}]}\n' \
		>"$ROOT/etc/vfiod/vfiod.json"
	start_vfiod
	# both found owned, so the configuration made no claim of its own
	for d in 0000:01:00.1 0000:02:10.0; do
		assert_eq "applied held by vfiod already" "$(config_item $d state) $(config_item $d message)" \
			"the configuration's binding of $d"
	done
	# no ad-hoc claim was made over the VM's device
	vfioctl unbind 0000:01:00.0
	assert_one_line_error 1 "(org.vfiod1.Error.NotBound)"
	assert_eq "registered 0000:01:00.0" "$(vm_field keep state) $(vm_field keep 'devices | join(",")')" \
		"VM keep"
	vfioctl unbind 0000:02:10.0
	assert_vfioctl_ok
	rm "$ROOT/etc/vfiod/vfiod.json"
	vfioctl vm release keep
	assert_vfioctl_ok
	kill "$VMM"
}

# A binding may name vfio-pci by its module (vfio_pci) or a variant with
# '-' (its module has '_', which is also its driver's name): the device on
# that driver is where the configuration wants it, not drift.
a_binding_named_by_its_module_is_no_drift() {
	stop_current_vfiod
	mkdir -p "$ROOT/etc/vfiod"
	printf '{"bindings": [{"device": "0000:02:10.0", "driver": "vfio_pci"}]}\n' \
		>"$ROOT/etc/vfiod/vfiod.json"
	start_vfiod
	assert_eq "applied vfio-pci" \
		"$(config_item 0000:02:10.0 state) $(config_item 0000:02:10.0 current_driver)" \
		"the binding of 0000:02:10.0 (driver vfio_pci), on vfio-pci ($(config_item 0000:02:10.0 message))"
	vfioctl unbind 0000:02:10.0
	rm "$ROOT/etc/vfiod/vfiod.json"
}

trap 'cleanup_vmms; current_vfiod_or_none; cleanup' EXIT
make_fixture
B=$ROOT/run/vfiod/bindings
start_bus
start_vfiod

check "a Bind outlives a vfiod restart; Unbind then restores its record's originals" a_bind_outlives_a_restart_and_unbind_restores_it
check "a crash in the middle of a Bind is undone at the next start" a_crash_in_the_middle_of_a_bind_is_undone
check "hostile binding journals are set aside and reported; no device is touched" hostile_journals_are_set_aside
check "journals are recovered before the configuration is applied" journals_are_recovered_before_the_configuration
check "a binding naming vfio-pci by its module (vfio_pci) is no drift" a_binding_named_by_its_module_is_no_drift

done_testing
