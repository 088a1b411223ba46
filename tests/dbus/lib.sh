# shellcheck shell=sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Shared by the tests of the `dbus` suite. Each test gets its own private
# dbus-daemon (a generated config, a socket in a temporary directory), the
# synthetic host fixture (tests/fixtures/make-synthetic-host.sh), the real
# vfiod on that bus reading the fixture, and drives it with the real
# vfioctl. Output is TAP: one "ok N"/"not ok N" line per check.
#
# meson passes: VFIOD, VFIOCTL, XML_CANON (built programs), SOURCE_ROOT.
# In a sanitizer build, done_testing adds a test point: no sanitizer reports,
# and TIME_SCALE (latency bounds are multiplied by it) is 3 instead of 1.
#
#   check DESC FUNC [ARGS]  run FUNC in a subshell with set -e; ok/not ok
#   fail MSG                end the current check as failed
#   assert_eq EXPECTED ACTUAL MSG
#   vfioctl ARGS            run vfioctl on the private bus; stdout in $OUT,
#                           stderr in $ERR, exit status in $RC
#   assert_vfioctl_ok       RC 0 and nothing on stderr
#   assert_one_line_error RC  RC as given, exactly one "vfioctl: " line on stderr
#   start_bus / start_policy_bus POLICY / stop_bus, start_vfiod [ARGS] / stop_vfiod
#   bus_call DEST PATH METHOD ARGS (dbus-send syntax), output in $OUT/$ERR/$RC
#   poll_until SECS CMD... / wait_until SECS CMD...  (tests/lib/wait-until.sh)
#   done_testing            the TAP plan; the test's exit status
set -eu

: "${VFIOD:?VFIOD must name the vfiod binary}"
: "${VFIOCTL:?VFIOCTL must name the vfioctl binary}"
: "${SOURCE_ROOT:?SOURCE_ROOT must name the source tree}"

# Every command a check uses, resolved once: a missing tool skips the test.
for tool in dbus-daemon dbus-send busctl jq; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "1..0 # SKIP $tool is not installed (tests/setup.sh installs it)"
		exit 0
	fi
done

T=$(mktemp -d -t vfiod-dbus.XXXXXX)

# A sanitizer build (-Db_sanitize, tests/run-tests.sh's build-asan): every
# program a test starts (vfiod, vfioctl, the helpers, some as other users)
# writes its AddressSanitizer, LeakSanitizer and UBSan reports into one
# directory rather than onto stderr that a check may ignore or expect empty.
# done_testing makes any report a failed test point, cleanup a bail-out
# for those that come later.
SANITIZER_LOGS=
# How many times slower than a plain build the programs run: a test that
# bounds a latency multiplies the bound by it.
TIME_SCALE=1
if grep -qs -e __asan_init -e __ubsan_handle_ "$VFIOD"; then
	TIME_SCALE=3
	SANITIZER_LOGS=$(mktemp -d -t vfiod-sanitizers.XXXXXX)
	chmod 1777 "$SANITIZER_LOGS" # programs run as other users write here too
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$SANITIZER_LOGS/report"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$SANITIZER_LOGS/report"
fi
ROOT=$T/root
OUT=$T/stdout
ERR=$T/stderr
RC=0
BUS=
BUS_PID=
VFIOD_PID=
TAP_N=0
TAP_FAILED=0

cleanup() {
	if [ -n "$VFIOD_PID" ]; then
		kill -TERM "$VFIOD_PID" 2>/dev/null || :
		wait "$VFIOD_PID" 2>/dev/null || :
	fi
	if [ -n "$BUS_PID" ]; then
		kill -TERM "$BUS_PID" 2>/dev/null || :
	fi
	_cleanup_rc=0
	if sanitizer_reports >"$T/sanitizer.log" 2>&1; then
		echo "Bail out! sanitizer reports after the last check:"
		sed 's/^/# /' "$T/sanitizer.log"
		_cleanup_rc=1
	fi
	rm -rf "$T" ${SANITIZER_LOGS:+"$SANITIZER_LOGS"}
	[ "$_cleanup_rc" -eq 0 ] || exit 1
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

bail_out() {
	echo "Bail out! $*"
	exit 1
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

assert_eq() {
	[ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"
}

# check DESC FUNC [ARGS]: one TAP test point; FUNC's output becomes diagnostics on failure
check() {
	_desc=$1
	shift
	TAP_N=$((TAP_N + 1))
	# not in an if/|| context, so that set -e really applies inside
	set +e
	(set -e; "$@") >"$T/check.log" 2>&1
	_rc=$?
	set -e
	if [ "$_rc" -eq 0 ]; then
		echo "ok $TAP_N - $_desc"
	else
		TAP_FAILED=$((TAP_FAILED + 1))
		echo "not ok $TAP_N - $_desc"
		sed 's/^/# /' "$T/check.log"
		if [ -s "$T/vfiod.log" ]; then
			echo "# vfiod log:"
			sed 's/^/#   /' "$T/vfiod.log"
		fi
	fi
}

# sanitizer_reports: prints every sanitizer report so far; false when none
sanitizer_reports() {
	[ -n "$SANITIZER_LOGS" ] || return 1
	_sr_found=1
	for _sr in "$SANITIZER_LOGS"/report.*; do
		[ -e "$_sr" ] || continue
		_sr_found=0
		echo "$(basename "$_sr"):"
		cat "$_sr"
	done
	return "$_sr_found"
}

no_sanitizer_reports() {
	if sanitizer_reports >&2; then
		fail "sanitizer reports (above)"
	fi
}

done_testing() {
	if [ -n "$SANITIZER_LOGS" ]; then
		# vfiod checks for leaks as it exits
		if [ -n "$VFIOD_PID" ]; then
			stop_vfiod || :
		fi
		check "no sanitizer reports from the programs of this test" no_sanitizer_reports
		rm -f "$SANITIZER_LOGS"/report.*
	fi
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}

# poll_until and wait_until, shared with the guests' tests/vm/lib/guest-lib.sh
. "$SOURCE_ROOT/tests/lib/wait-until.sh"

# ---- the private bus ----

# start_bus [SERVICEDIR]: a bus that only this test uses; SERVICEDIR holds
# activatable services (to prove that vfioctl never activates one)
start_bus() {
	_servicedir=
	[ $# -eq 0 ] || _servicedir="<servicedir>$1</servicedir>"
	cat >"$T/bus.conf" <<-EOF
	<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
	 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
	<busconfig>
	  <type>session</type>
	  <listen>unix:path=$T/bus.sock</listen>
	  <auth>EXTERNAL</auth>
	  $_servicedir
	  <policy context="default">
	    <allow send_destination="*" eavesdrop="true"/>
	    <allow eavesdrop="true"/>
	    <allow own="*"/>
	  </policy>
	</busconfig>
	EOF
	# --fork returns once the bus listens: no waiting needed
	dbus-daemon --config-file="$T/bus.conf" --fork --nopidfile \
		--print-address=1 --print-pid=1 >"$T/bus.info" ||
		bail_out "cannot start dbus-daemon"
	BUS=$(sed -n 1p "$T/bus.info")
	BUS_PID=$(sed -n 2p "$T/bus.info")
	[ -n "$BUS" ] && [ -n "$BUS_PID" ] || bail_out "dbus-daemon printed no address/pid"
}

# start_policy_bus POLICY: a bus with the system bus's deny-by-default rules
# (as in dbus-daemon's system.conf) plus the policy file POLICY, which is
# then the only thing that lets anyone own or call org.vfiod1
start_policy_bus() {
	cat >"$T/bus.conf" <<-EOF
	<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
	 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
	<busconfig>
	  <type>system</type>
	  <listen>unix:path=$T/bus.sock</listen>
	  <auth>EXTERNAL</auth>
	  <policy context="default">
	    <allow user="*"/>
	    <deny own="*"/>
	    <deny send_type="method_call"/>
	    <allow send_type="signal"/>
	    <allow send_requested_reply="true" send_type="method_return"/>
	    <allow send_requested_reply="true" send_type="error"/>
	    <allow receive_type="method_call"/>
	    <allow receive_type="method_return"/>
	    <allow receive_type="error"/>
	    <allow receive_type="signal"/>
	    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
	    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
	    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
	  </policy>
	  <include>$1</include>
	</busconfig>
	EOF
	dbus-daemon --config-file="$T/bus.conf" --fork --nopidfile \
		--print-address=1 --print-pid=1 >"$T/bus.info" ||
		bail_out "cannot start dbus-daemon with $1"
	BUS=$(sed -n 1p "$T/bus.info")
	BUS_PID=$(sed -n 2p "$T/bus.info")
	[ -n "$BUS" ] && [ -n "$BUS_PID" ] || bail_out "dbus-daemon printed no address/pid"
}

stop_bus() {
	[ -n "$BUS_PID" ] || return 0
	kill -TERM "$BUS_PID"
	# not our child (it forked): wait for it to be gone instead
	poll_until 10 pid_is_gone "$BUS_PID" || bail_out "dbus-daemon $BUS_PID ignores SIGTERM"
	BUS_PID=
}

# bus_call DEST PATH INTERFACE.METHOD [ARGS]: dbus-send with the reply in $OUT, error in $ERR
bus_call() {
	RC=0
	dbus-send --bus="$BUS" --print-reply=literal --dest="$1" "$2" "$3" \
		${4+"$4"} ${5+"$5"} >"$OUT" 2>"$ERR" || RC=$?
}

bus_has_name() {
	dbus-send --bus="$BUS" --print-reply --dest=org.freedesktop.DBus \
		/org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner "string:$1" \
		2>/dev/null | grep -q 'boolean true'
}

# ---- the fixture and the daemon ----

make_fixture() {
	sh "$SOURCE_ROOT/tests/fixtures/make-synthetic-host.sh" "$ROOT" >/dev/null ||
		bail_out "cannot build the synthetic host fixture"
}

# add_fixture_hwdb: compiles tests/fixtures/pci-names.hwdb into the
# fixture's etc/udev/hwdb.bin, where vfiod (lib/pci-names.c) looks for the
# udev hardware database below its root. vfiod opens it once: call this
# before start_vfiod (or restart it).
add_fixture_hwdb() {
	command -v systemd-hwdb >/dev/null 2>&1 ||
		bail_out "systemd-hwdb is not installed (package systemd; tests/setup.sh)"
	mkdir -p "$ROOT/etc/udev/hwdb.d"
	cp "$SOURCE_ROOT/tests/fixtures/pci-names.hwdb" "$ROOT/etc/udev/hwdb.d/"
	systemd-hwdb --root="$ROOT" update && [ -s "$ROOT/etc/udev/hwdb.bin" ] ||
		bail_out "systemd-hwdb could not compile the fixture's hardware database"
}

# start_vfiod [ARGS]: vfiod on the private bus with the fixture root; waits
# (bounded) until it owns org.vfiod1, which it takes right before READY=1
start_vfiod() {
	"$VFIOD" --bus-address="$BUS" --root="$ROOT" "$@" 2>>"$T/vfiod.log" &
	VFIOD_PID=$!
	poll_until 10 vfiod_took_name_or_died || bail_out "vfiod did not take org.vfiod1 within 10 s"
	if ! bus_has_name org.vfiod1; then
		cat "$T/vfiod.log" >&2
		bail_out "vfiod exited before taking org.vfiod1"
	fi
}

# true once the started vfiod owns org.vfiod1, or has exited
vfiod_took_name_or_died() {
	bus_has_name org.vfiod1 || pid_is_gone "$VFIOD_PID"
}

# pid_is_gone PID: no process PID (any more) that this shell may signal
pid_is_gone() {
	! kill -0 "$1" 2>/dev/null
}

# stop_vfiod: SIGTERM; returns vfiod's exit status. Call it outside
# check: a check's subshell cannot wait for its parent's children.
stop_vfiod() {
	_pid=$VFIOD_PID
	VFIOD_PID=
	kill -TERM "$_pid"
	_rc=0
	wait "$_pid" || _rc=$?
	return "$_rc"
}

# ---- restarts (tests of the journals): the vfiod of the moment ----

# each check runs in a subshell: the vfiod of the moment is found on the bus
current_vfiod() {
	bus_call org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus.GetConnectionUnixProcessID string:org.vfiod1
	VFIOD_PID=$(awk '{ print $2 }' "$OUT")
	[ -n "$VFIOD_PID" ] || bail_out "no vfiod on the bus"
}

# cleanup() stops $VFIOD_PID: the last one started, by whichever check
current_vfiod_or_none() {
	VFIOD_PID=
	bus_has_name org.vfiod1 && current_vfiod || :
}

# true once the vfiod of VFIOD_PID has exited and its name is released
vfiod_is_gone() {
	pid_is_gone "$VFIOD_PID" && ! bus_has_name org.vfiod1
}

# stops the vfiod of the moment; it must be gone before the next one starts
stop_current_vfiod() {
	current_vfiod
	kill -TERM "$VFIOD_PID"
	poll_until 10 vfiod_is_gone || fail "vfiod did not stop"
	VFIOD_PID=
}

restart_vfiod() {
	stop_current_vfiod
	start_vfiod "$@"
}

# restart_vfiod_crashing POINT: a vfiod that dies at POINT ($VFIOD_TEST_CRASH)
restart_vfiod_crashing() {
	stop_current_vfiod
	VFIOD_TEST_CRASH=$1 "$VFIOD" --bus-address="$BUS" --root="$ROOT" 2>>"$T/vfiod.log" &
	VFIOD_PID=$!
	poll_until 10 bus_has_name org.vfiod1 || bail_out "vfiod did not come back"
}

# wait_crashed POINT: the vfiod of restart_vfiod_crashing died at POINT
wait_crashed() {
	poll_until 5 pid_is_gone "$VFIOD_PID" || fail "vfiod did not crash"
	VFIOD_PID=
	grep -q "TEST CRASH at $1" "$T/vfiod.log" || fail "the crash point $1 was not reached"
}

# ---- vfioctl ----

vfioctl() {
	RC=0
	"$VFIOCTL" --bus-address="$BUS" "$@" >"$OUT" 2>"$ERR" || RC=$?
}

assert_vfioctl_ok() {
	[ "$RC" -eq 0 ] || fail "vfioctl exited $RC: $(cat "$ERR")"
	[ ! -s "$ERR" ] || fail "vfioctl succeeded but wrote to stderr: $(cat "$ERR")"
}

# assert_one_line_error RC [TEXT]: exit status RC, stdout empty, stderr one
# "vfioctl: " line (containing TEXT if given)
assert_one_line_error() {
	[ "$RC" -eq "$1" ] || fail "vfioctl exited $RC, expected $1; stderr: $(cat "$ERR")"
	[ ! -s "$OUT" ] || fail "vfioctl wrote to stdout on error: $(cat "$OUT")"
	_lines=$(wc -l <"$ERR")
	[ "$_lines" -eq 1 ] || fail "expected one line on stderr, got $_lines: $(cat "$ERR")"
	case "$(cat "$ERR")" in
	"vfioctl: "*) ;;
	*) fail "stderr does not start with 'vfioctl: ': $(cat "$ERR")" ;;
	esac
	if [ $# -ge 2 ]; then
		case "$(cat "$ERR")" in
		*"$2"*) ;;
		*) fail "stderr lacks '$2': $(cat "$ERR")" ;;
		esac
	fi
}

# as_nobody CMD...: CMD as uid/gid nobody without capabilities; output in
# $OUT/$ERR, status in $RC
as_nobody() {
	RC=0
	setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
		--bounding-set=-all -- "$@" >"$OUT" 2>"$ERR" || RC=$?
}

# field REC KEY: the value of KEY in the JSON record REC, or "(absent)"
# when the record lacks KEY
field() {
	printf '%s\n' "$1" | jq -r --arg k "$2" 'if has($k) then (.[$k] | tostring) else "(absent)" end'
}

# ---- reading the fixture like the kernel's sysfs ----

# link_name PATH: basename of a symlink's target, empty when PATH is no link
link_name() {
	if [ -L "$1" ]; then
		basename "$(readlink "$1")"
	fi
}

# number FILE: a sysfs number (decimal or 0x hex) in decimal
number() {
	printf '%d' "$(cat "$1")"
}

# ---- VM tests: stand-in VMMs and the group nodes of the fixture ----

VMMS=

# process_uid_is PID UID: the process PID runs as UID
process_uid_is() {
	[ "$(stat -c %u "/proc/$1" 2>/dev/null)" = "$2" ]
}

# spawn_vmm [UID]: a stand-in VMM (any process can be one), as UID when
# given (so that a grant of the group node shows); its pid in VMM
spawn_vmm() {
	if [ -n "${1:-}" ]; then
		setpriv --reuid="$1" --regid="$1" --clear-groups sleep 600 &
		VMM=$!
		poll_until 2 process_uid_is "$VMM" "$1" || fail "the stand-in VMM did not start"
	else
		sleep 600 &
		VMM=$!
	fi
	VMMS="$VMMS $VMM"
}

cleanup_vmms() {
	for p in $VMMS; do kill "$p" 2>/dev/null || :; done
}

# a character device node where the kernel would create /dev/vfio/N (root's)
make_group_node() {
	mkdir -p "$ROOT/dev/vfio"
	[ -e "$ROOT/dev/vfio/$1" ] || mknod "$ROOT/dev/vfio/$1" c 1 3
	chown 0:0 "$ROOT/dev/vfio/$1"
}

# the object path of VM NAME, "" when there is none
vm_path() {
	"$VFIOCTL" --bus-address="$BUS" --json vm list | jq -r --arg n "$1" '.[] | select(.name == $n) | .path'
}

# vm_is_gone NAME: vfiod lists no VM NAME
vm_is_gone() {
	[ -z "$(vm_path "$1")" ]
}

# vm_field NAME FIELD: FIELD of VM NAME in `vfioctl --json vm list`
vm_field() {
	"$VFIOCTL" --bus-address="$BUS" --json vm list | jq -r --arg n "$1" ".[] | select(.name == \$n) | .$2"
}

# memlock_of PID: "soft hard" RLIMIT_MEMLOCK of PID in bytes
memlock_of() {
	awk '/^Max locked memory/ { print $4, $5 }' "/proc/$1/limits"
}
