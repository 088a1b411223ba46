#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vfiod's life: command line, startup failures, one instance per bus,
# clean exit on SIGTERM; and vfioctl when vfiod or the bus is gone: one
# line, exit 1, never starting anything through bus activation.
. "$(dirname "$0")/lib.sh"

: "${VFIOD_VERSION:?VFIOD_VERSION must be the project version}"

VERBS_NO_ARGS="devices groups mdevs mdev-parents mdev-types"

vfiod_command_line() {
	rc=0; "$VFIOD" --help >"$OUT" 2>"$ERR" || rc=$?
	assert_eq 0 "$rc" "vfiod --help"
	grep -q -- '--bus-address' "$OUT" || fail "--help does not mention --bus-address"
	grep -q -- '--root' "$OUT" || fail "--help does not mention --root"

	rc=0; "$VFIOD" --version >"$OUT" 2>"$ERR" || rc=$?
	assert_eq 0 "$rc" "vfiod --version"
	assert_eq "vfiod $VFIOD_VERSION" "$(cat "$OUT")" "vfiod --version"

	rc=0; "$VFIOD" --frobnicate >"$OUT" 2>"$ERR" || rc=$?
	assert_eq 2 "$rc" "vfiod with an unknown option"
	rc=0; "$VFIOD" extra-argument >"$OUT" 2>"$ERR" || rc=$?
	assert_eq 2 "$rc" "vfiod with an argument"
	grep -q "extra-argument" "$ERR" || fail "the message does not name the argument: $(cat "$ERR")"
}

vfiod_fails_without_root_or_bus() {
	rc=0; "$VFIOD" --bus-address="$BUS" --root="$T/no-such-root" 2>"$ERR" || rc=$?
	assert_eq 1 "$rc" "vfiod with a missing root"
	grep -q "no-such-root" "$ERR" || fail "the message does not name the root: $(cat "$ERR")"

	rc=0; "$VFIOD" --bus-address="unix:path=$T/no-bus" --root="$ROOT" 2>"$ERR" || rc=$?
	assert_eq 1 "$rc" "vfiod with no bus"
	grep -q "Failed to connect" "$ERR" || fail "no connect failure in: $(cat "$ERR")"
}

second_instance_is_refused() {
	rc=0; "$VFIOD" --bus-address="$BUS" --root="$ROOT" 2>"$ERR" || rc=$?
	assert_eq 1 "$rc" "a second vfiod on the same bus"
	grep -q "owned by another process" "$ERR" || fail "no ownership message in: $(cat "$ERR")"
	bus_has_name org.vfiod1 || fail "the first vfiod lost its name"
	vfioctl devices
	assert_vfioctl_ok
}

system_bus_is_the_default() {
	# sd-bus finds the system bus through DBUS_SYSTEM_BUS_ADDRESS: point it here
	rc=0
	DBUS_SYSTEM_BUS_ADDRESS=$BUS "$VFIOCTL" devices >"$OUT" 2>"$ERR" || rc=$?
	assert_eq 0 "$rc" "vfioctl devices on the (redirected) system bus"
	grep -q '^ADDRESS ' "$OUT" || fail "no table"
}

sigterm_stops_cleanly() {
	assert_eq 0 "$VFIOD_RC" "vfiod's exit status after SIGTERM"
	! bus_has_name org.vfiod1 || fail "org.vfiod1 still owned after vfiod exited"
}

stopped_daemon_is_one_line() {
	for verb in $VERBS_NO_ARGS "show 0000:00:02.0" "mdev-types mtty"; do
		# shellcheck disable=SC2086
		vfioctl $verb
		assert_one_line_error 1
		assert_eq "vfioctl: vfiod is not running (org.vfiod1 not on the bus at $BUS)" \
			"$(cat "$ERR")" "message of $verb"
		# shellcheck disable=SC2086
		vfioctl --json $verb
		assert_one_line_error 1 "vfiod is not running"
	done
	rc=0
	DBUS_SYSTEM_BUS_ADDRESS=$BUS "$VFIOCTL" devices >"$OUT" 2>"$ERR" || rc=$?
	RC=$rc
	assert_one_line_error 1
	assert_eq "vfioctl: vfiod is not running (org.vfiod1 not on the system bus)" "$(cat "$ERR")" "system bus message"
}

vfioctl_never_activates() {
	# The bus can start org.vfiod1 (the service file below); vfioctl must not ask it to.
	vfioctl devices
	assert_one_line_error 1 "vfiod is not running"
	sleep 0.5 # an activation would have run the helper by now
	[ ! -e "$T/activated" ] || fail "vfioctl triggered bus activation"

	# control: a call that allows auto-start does run the helper
	bus_call org.vfiod1 /org/vfiod1 org.vfiod1.Manager.ListDevices
	[ -e "$T/activated" ] || fail "the activation helper never ran; the check above proves nothing"
}

no_bus_is_one_line() {
	stop_bus
	for verb in $VERBS_NO_ARGS "show 0000:00:02.0"; do
		# shellcheck disable=SC2086
		vfioctl $verb
		assert_one_line_error 1 "vfiod is not running (cannot connect to the bus at $BUS"
	done
}

make_fixture
mkdir -p "$T/services"
cat >"$T/activate.sh" <<EOF
#!/bin/sh
: >"$T/activated"
exit 1
EOF
chmod +x "$T/activate.sh"
printf '[D-BUS Service]\nName=org.vfiod1\nExec=%s\n' "$T/activate.sh" >"$T/services/org.vfiod1.service"
start_bus "$T/services"

check "vfiod: --help, --version, usage errors exit 2" vfiod_command_line
check "vfiod: a missing root or bus fails startup with a message, exit 1" vfiod_fails_without_root_or_bus
start_vfiod
check "vfiod: a second instance on the same bus exits 1, the first keeps serving" second_instance_is_refused
check "vfioctl uses the system bus by default" system_bus_is_the_default
# vfiod is this shell's child: only this shell can wait for it
VFIOD_RC=0
stop_vfiod || VFIOD_RC=$?
check "vfiod: SIGTERM exits 0 and releases org.vfiod1" sigterm_stops_cleanly
check "vfioctl with vfiod stopped: one line, exit 1, every verb" stopped_daemon_is_one_line
check "vfioctl never starts vfiod through bus activation" vfioctl_never_activates
check "vfioctl without a bus: one line, exit 1" no_bus_is_one_line

done_testing
