#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# systemd/org.vfiod1.conf on a deny-by-default (system-like) bus: root owns
# org.vfiod1, an unprivileged user can read the inventory with vfioctl but
# can neither own the name nor call anything the policy does not list.
. "$(dirname "$0")/lib.sh"

POLICY=$SOURCE_ROOT/systemd/org.vfiod1.conf

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null 2>&1 || ! id nobody >/dev/null 2>&1; then
	echo "1..0 # SKIP needs root, setpriv and the user nobody"
	exit 0
fi

unprivileged_user_reads_inventory() {
	as_nobody "$VFIOCTL" --bus-address="$BUS" --json devices
	[ "$RC" -eq 0 ] || fail "vfioctl devices as nobody: $(cat "$ERR")"
	assert_eq "$(ls "$ROOT/sys/bus/pci/devices" | wc -l)" "$(jq length "$OUT")" "devices seen by nobody"
	for args in groups mdev-parents mdev-types mdevs "show $(ls "$ROOT/sys/bus/pci/devices" | head -n1)"; do
		# shellcheck disable=SC2086
		as_nobody "$VFIOCTL" --bus-address="$BUS" $args
		[ "$RC" -eq 0 ] || fail "vfioctl $args as nobody: $(cat "$ERR")"
	done
	as_nobody dbus-send --bus="$BUS" --print-reply --dest=org.vfiod1 /org/vfiod1 \
		org.freedesktop.DBus.Properties.Get string:org.vfiod1.Manager string:Version
	[ "$RC" -eq 0 ] || fail "Get Version as nobody: $(cat "$ERR")"
}

unprivileged_user_cannot_own_the_name() {
	as_nobody dbus-send --bus="$BUS" --print-reply --dest=org.freedesktop.DBus \
		/org/freedesktop/DBus org.freedesktop.DBus.RequestName string:org.vfiod1 uint32:0
	[ "$RC" -ne 0 ] || fail "nobody could request org.vfiod1"
	grep -q AccessDenied "$ERR" || fail "not AccessDenied: $(cat "$ERR")"
}

unlisted_methods_are_denied() {
	# the bus denies it before vfiod sees it: AccessDenied, not UnknownMethod
	as_nobody dbus-send --bus="$BUS" --print-reply --dest=org.vfiod1 /org/vfiod1 \
		org.vfiod1.Manager.NotInThePolicy
	[ "$RC" -ne 0 ] || fail "an unlisted method succeeded"
	grep -q AccessDenied "$ERR" || fail "not AccessDenied: $(cat "$ERR")"
	# control: root reaches vfiod, which does not know the method
	bus_call org.vfiod1 /org/vfiod1 org.vfiod1.Manager.NotInThePolicy
	grep -q UnknownMethod "$ERR" || fail "root did not reach vfiod: $(cat "$ERR")"
}

# Manager.HeapInUse is root's: AccessDenied from vfiod (the policy lets
# anyone call Properties.Get), and GetAll leaves it out
heap_in_use_is_roots() {
	as_nobody dbus-send --bus="$BUS" --print-reply=literal --dest=org.vfiod1 /org/vfiod1 \
		org.freedesktop.DBus.Properties.Get string:org.vfiod1.Manager string:HeapInUse
	[ "$RC" -ne 0 ] || fail "uid nobody read HeapInUse: $(cat "$OUT")"
	grep -q "AccessDenied" "$ERR" || fail "HeapInUse as nobody: $(cat "$ERR")"
	grep -q "root's to read" "$ERR" || fail "the denial is not vfiod's: $(cat "$ERR")"
	as_nobody dbus-send --bus="$BUS" --print-reply --dest=org.vfiod1 /org/vfiod1 \
		org.freedesktop.DBus.Properties.GetAll string:org.vfiod1.Manager
	assert_eq 0 "$RC" "GetAll as nobody: $(cat "$ERR")"
	grep -q '"Version"' "$OUT" || fail "GetAll as nobody lacks Version: $(cat "$OUT")"
	! grep -q HeapInUse "$OUT" || fail "GetAll as nobody has HeapInUse"
}

make_fixture
# the unprivileged user needs to reach the socket and run vfioctl
chmod 755 "$T"
as_nobody test -x "$VFIOCTL"
[ "$RC" -eq 0 ] || { echo "1..0 # SKIP nobody cannot run $VFIOCTL (a private build directory)"; exit 0; }
as_nobody test -r "$T/root"
[ "$RC" -eq 0 ] || { echo "1..0 # SKIP nobody cannot reach $T (a private TMPDIR)"; exit 0; }
start_policy_bus "$POLICY"
start_vfiod

check "an unprivileged user reads every part of the inventory" unprivileged_user_reads_inventory
check "an unprivileged user cannot own org.vfiod1" unprivileged_user_cannot_own_the_name
check "methods the policy does not list are denied by the bus" unlisted_methods_are_denied
check "only root reads HeapInUse; GetAll leaves it out" heap_in_use_is_roots

done_testing
