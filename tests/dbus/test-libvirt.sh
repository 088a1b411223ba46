#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vfiod's libvirt client (daemon/libvirt/libvirt-events.c): optional. vfiod starts
# and serves without libvirt, says once that libvirt is unreachable and
# retries with a growing delay; --libvirt-uri and $VFIOD_LIBVIRT_URI choose
# the URI, "none" (and a fixture root without either) turns it off. The
# connected path uses libvirt's in-process test driver (test:///default):
# no libvirtd needed. vfioctl's --libvirt hotplug: the paths that fail
# before or at libvirt's attach (cli/vm-libvirt.c). Device events need a real libvirtd and QEMU:
# tests/vm/cases/vm-libvirt-hotplug-events.sh.
. "$(dirname "$0")/lib.sh"

# wait_log TEXT [SECONDS]: until vfiod's log has TEXT (bounded)
wait_log() {
	poll_until "${2:-5}" grep -qF -- "$1" "$T/vfiod.log" ||
		fail "vfiod never logged '$1'; log: $(cat "$T/vfiod.log")"
}

command_line() {
	rc=0; "$VFIOD" --help >"$OUT" 2>"$ERR" || rc=$?
	assert_eq 0 "$rc" "vfiod --help"
	grep -q -- '--libvirt-uri' "$OUT" || fail "--help does not mention --libvirt-uri"
	rc=0; "$VFIOD" --bus-address="$BUS" --root="$ROOT" --libvirt-uri= 2>"$ERR" || rc=$?
	assert_eq 2 "$rc" "vfiod with an empty --libvirt-uri="
	grep -q 'libvirt-uri' "$ERR" || fail "the message does not name the option: $(cat "$ERR")"
}

serves_while_libvirt_is_unreachable() {
	wait_log "is not reachable"
	grep -qF "libvirt at $UNREACHABLE is not reachable" "$T/vfiod.log" || fail "the URI is not named"
	grep -q "retrying in 1 s" "$T/vfiod.log" || fail "no retry announced: $(cat "$T/vfiod.log")"
	vfioctl devices
	assert_vfioctl_ok
	grep -q '^0000:00:02.0 ' "$OUT" || fail "no devices listed while libvirt is away"
}

retries_with_backoff() {
	# -v: every attempt after the first is logged at debug level, each delay doubled
	wait_log "retrying in 2 s" 5
	wait_log "retrying in 4 s" 5
	assert_eq 1 "$(grep -c 'retrying in 1 s' "$T/vfiod.log")" "the info line, once per outage"
	! grep -q "Connected to libvirt" "$T/vfiod.log" || fail "connected to a socket that does not exist"
	kill -0 "$VFIOD_PID" || fail "vfiod died while retrying"
}

off_with_a_fixture_root() {
	! grep -q "libvirt at" "$T/vfiod.log" || fail "a fixture root without --libvirt-uri tried libvirt"
	grep -q "Not following libvirt" "$T/vfiod.log" || fail "no debug line saying libvirt is off"
}

env_uri_connects() {
	wait_log "Connected to libvirt at test:///default"
	! grep -q "not reachable" "$T/vfiod.log" || fail "the test driver was reported unreachable"
	vfioctl devices
	assert_vfioctl_ok
}

# ---- without libvirt's client library: vfiod and vfioctl load it only
# when they use it (lib/dlopen.c). A private mount namespace puts an empty
# file over libvirt.so.0, as a host without libvirt0 would have no file:
# dlopen() fails either way ----

LIBVIRT_SO=$(ldconfig -p 2>/dev/null | awk '$1 == "libvirt.so.0" { print $NF; exit }')

# unshare --mount ... sh -c "$HIDE_LIBVIRT" sh "$LIBVIRT_SO" COMMAND...:
# COMMAND where libvirt.so.0 cannot be loaded
# shellcheck disable=SC2016 # expanded by the inner sh
HIDE_LIBVIRT='mount --bind /dev/null "$(readlink -f "$1")" && shift && exec "$@"'
without_libvirt() {
	unshare --mount --propagation private sh -c "$HIDE_LIBVIRT" sh "$LIBVIRT_SO" "$@"
}

can_hide_libvirt() {
	[ -n "$LIBVIRT_SO" ] && without_libvirt true 2>/dev/null
}

serves_without_libvirt_library() {
	wait_log "Not following libvirt's events at test:///default: cannot load libvirt.so.0 (package libvirt0)"
	! grep -q "Connected to libvirt" "$T/vfiod.log" || fail "connected without libvirt's library"
	vfioctl devices
	assert_vfioctl_ok
	grep -q '^0000:00:02.0 ' "$OUT" || fail "no devices listed without libvirt's library"
	[ "$(grep -c "libvirt" "$T/vfiod.log")" -eq 1 ] || fail "more than the one line: $(cat "$T/vfiod.log")"
}

vfioctl_libvirt_verbs_without_library() {
	vfioctl vm register nolib --pid "$VMM" --backend type1 --vmm-opens-groups --memory 64M
	assert_vfioctl_ok
	for verb in add-device remove-device; do
		RC=0
		without_libvirt "$VFIOCTL" --bus-address="$BUS" vm "$verb" nolib 0000:01:00.0 \
			--libvirt-uri test:///default >"$OUT" 2>"$ERR" || RC=$?
		assert_one_line_error 1 \
			"--libvirt needs libvirt's client library: cannot load libvirt.so.0 (package libvirt0): "
	done
	assert_eq "" "$(vm_devices nolib)" "the VM's devices"
	# the verbs that do not use libvirt work without it
	RC=0
	without_libvirt "$VFIOCTL" --bus-address="$BUS" vm add-device nolib 0000:01:00.0 >"$OUT" 2>"$ERR" || RC=$?
	assert_vfioctl_ok
	vfioctl vm release nolib
	assert_vfioctl_ok
}

# ---- vfioctl vm add-device|remove-device --libvirt, against libvirt's
# in-process test driver: its running domain "test" refuses hotplug
# (virDomainAttachDeviceFlags is not supported there), which is the
# failure path of a real libvirt whose attach fails ----

VMM=
vm_devices() {
	"$VFIOCTL" --bus-address="$BUS" --json vm show "$1" | jq -r '.devices | map(.name) | join(",")'
}

failed_attach_gives_the_device_back() {
	make_group_node 2
	vfioctl vm register test --pid "$VMM" --backend type1 --vmm-opens-groups --memory 64M
	assert_vfioctl_ok
	limit=$(memlock_of "$VMM")
	lines=$(wc -l <"$T/vfiod.log")

	vfioctl vm add-device test 0000:01:00.0 --libvirt-uri test:///default
	assert_one_line_error 1 "libvirt could not attach 0000:01:00.0 to domain test: "
	assert_one_line_error 1 "; vfiod gave the device back"
	assert_eq "" "$(vm_devices test)" "the VM's devices after the failed attach"
	assert_eq "$limit" "$(memlock_of "$VMM")" "the VMM's limit after the failed attach"
	assert_eq 0 "$(stat -c %u "$ROOT/dev/vfio/2")" "the group node's owner after the failed attach"
	# it really was claimed first (AddDevice), then given back (RemoveDevice)
	tail -n +"$((lines + 1))" "$T/vfiod.log" >"$T/since"
	added=$(grep -n "VM test: added PCI function 0000:01:00.0" "$T/since" | cut -d: -f1)
	removed=$(grep -n "VM test: removed device 0000:01:00.0" "$T/since" | cut -d: -f1)
	[ -n "$added" ] && [ -n "$removed" ] && [ "$added" -lt "$removed" ] ||
		fail "not added then removed: $(cat "$T/since")"
}

nothing_changes_without_a_domain_or_libvirt() {
	vfioctl vm register lonely --pid "$VMM" --backend type1 --vmm-opens-groups --memory 64M
	assert_vfioctl_ok
	lines=$(wc -l <"$T/vfiod.log")
	vfioctl vm add-device lonely 0000:01:00.0 --libvirt-uri test:///default
	assert_one_line_error 1 "libvirt at test:///default has no domain lonely"
	vfioctl vm add-device lonely 0000:01:00.0 --libvirt-uri "$UNREACHABLE"
	assert_one_line_error 1 "cannot connect to libvirt at $UNREACHABLE"
	vfioctl vm remove-device lonely 0000:01:00.0 --libvirt-uri "$UNREACHABLE"
	assert_one_line_error 1 "cannot connect to libvirt at $UNREACHABLE"
	! tail -n +"$((lines + 1))" "$T/vfiod.log" | grep -q "VM lonely: added" || fail "vfiod was asked to add"
	assert_eq "" "$(vm_devices lonely)" "the VM's devices"
	vfioctl vm release lonely
	assert_vfioctl_ok
}

remove_of_a_device_libvirt_does_not_have() {
	# added without libvirt: the domain has no such hostdev, so only vfiod gives it back
	vfioctl vm add-device test 0000:01:00.0
	assert_vfioctl_ok
	assert_eq "0000:01:00.0" "$(vm_devices test)" "the VM's devices"
	vfioctl vm remove-device test 0000:01:00.0 --libvirt-uri test:///default
	assert_vfioctl_ok
	assert_eq "" "$(vm_devices test)" "the VM's devices after remove-device --libvirt"
	vfioctl vm remove-device test 0000:01:00.0 --libvirt-uri test:///default
	assert_one_line_error 1 "(org.vfiod1.Error.NoSuchDevice)"
}

libvirt_options_are_checked() {
	vfioctl vm add-device test 0000:01:00.0 --timeout 5 --libvirt
	assert_one_line_error 2 "--timeout is for 'vm remove-device --libvirt'"
	vfioctl vm remove-device test 0000:01:00.0 --libvirt --timeout 0
	assert_one_line_error 2 "invalid --timeout '0'"
	vfioctl vm add-device test 0000:01:00.0 --libvirt-uri=
	assert_one_line_error 2 "--libvirt-uri needs a URI"
}

make_fixture
start_bus
check "vfiod: --libvirt-uri in --help; an empty one is a usage error" command_line

UNREACHABLE="qemu+unix:///system?socket=$T/no-such-libvirt-sock"
start_vfiod -v --libvirt-uri="$UNREACHABLE"
check "vfiod serves with libvirt unreachable and says it retries" serves_while_libvirt_is_unreachable
check "vfiod retries libvirt with a doubling delay" retries_with_backoff
stop_vfiod || fail "vfiod exited non-zero after SIGTERM"
: >"$T/vfiod.log"

start_vfiod -v
check "a fixture root without --libvirt-uri leaves libvirt alone" off_with_a_fixture_root
stop_vfiod
: >"$T/vfiod.log"

VFIOD_LIBVIRT_URI=test:///default
export VFIOD_LIBVIRT_URI
start_vfiod
check "\$VFIOD_LIBVIRT_URI chooses the URI; a reachable one connects" env_uri_connects
stop_vfiod
unset VFIOD_LIBVIRT_URI
: >"$T/vfiod.log"

start_vfiod
sleep 600 &
VMM=$!
check "add-device --libvirt: a failed libvirt attach gives the device back, limit unchanged" \
	failed_attach_gives_the_device_back
check "add/remove-device --libvirt: no domain or no libvirt changes nothing" \
	nothing_changes_without_a_domain_or_libvirt
check "remove-device --libvirt of a device the domain does not have: vfiod alone" \
	remove_of_a_device_libvirt_does_not_have
check "vfioctl's libvirt options are checked before anything" libvirt_options_are_checked
if can_hide_libvirt; then
	check "vfioctl --libvirt without libvirt's library: one error naming it, nothing changed" \
		vfioctl_libvirt_verbs_without_library
else
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - vfioctl --libvirt without libvirt's library # SKIP no private mount namespace here"
fi
stop_vfiod
: >"$T/vfiod.log"

if can_hide_libvirt; then
	# exec: $! is vfiod itself (unshare and sh exec too), which SIGTERM must reach
	(exec unshare --mount --propagation private sh -c "$HIDE_LIBVIRT" sh "$LIBVIRT_SO" \
		"$VFIOD" --bus-address="$BUS" --root="$ROOT" --libvirt-uri=test:///default) 2>>"$T/vfiod.log" &
	VFIOD_PID=$!
	poll_until 10 vfiod_took_name_or_died || bail_out "vfiod did not take org.vfiod1 within 10 s"
	check "vfiod without libvirt's library: one warning naming it, then it serves" \
		serves_without_libvirt_library
	stop_vfiod || fail "vfiod exited non-zero after SIGTERM"
else
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - vfiod without libvirt's library # SKIP no private mount namespace here"
fi
kill "$VMM"

done_testing
