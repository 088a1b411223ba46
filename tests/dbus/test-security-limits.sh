#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The trust boundary against a local user with a bus connection and no
# authorization (issue 11, item 6): arguments over the limits are refused
# before polkit is asked, one uid's flood of calls neither fills vfiod's
# pending polkit queries nor delays another uid's call past 1 s, lines a
# caller can trigger are rate-limited, and a caller is who the bus says
# it is, not whoever holds its connection's pid now.
#
# A stand-in polkit (fake-polkit) answers by uid: ALLOWED is authorized,
# DENIED is refused, FAILING gets an error, FLOODER gets no answer at all
# (vfiod waits its 5 s polkit timeout). The test runs in a pid namespace
# of its own so that it can hand a chosen pid to a process of its choice.

if [ -z "${VFIOD_TEST_PIDNS:-}" ] && [ "$(id -u)" -eq 0 ] &&
	unshare --pid --fork --mount-proc true 2>/dev/null; then
	VFIOD_TEST_PIDNS=1 exec unshare --pid --fork --mount-proc sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

: "${ORPHAN_CALL:?ORPHAN_CALL must name the orphan-call helper}"
: "${FAKE_POLKIT:?FAKE_POLKIT must name the fake-polkit helper}"

# four users without privileges; dbus-daemon refuses uids that have no passwd entry
FLOODER=$(id -u nobody 2>/dev/null || :)
ALLOWED=$(id -u daemon 2>/dev/null || :)
DENIED=$(id -u bin 2>/dev/null || :)
FAILING=$(id -u sys 2>/dev/null || :)
STRING_MAX=4096      # daemon/bus-limits.h
ARRAY_MAX=256
IN_FLIGHT_MAX=16
LOG_BURST=10         # daemon/log.h
FLOOD=150            # above dbus-daemon's max_replies_per_connection (128)
UNCLAIMED=0000:02:00.0

if [ -z "${VFIOD_TEST_PIDNS:-}" ] || ! command -v setpriv >/dev/null 2>&1 ||
	! command -v busctl >/dev/null 2>&1 || [ -z "$FLOODER$ALLOWED$DENIED$FAILING" ] ||
	[ -z "$FLOODER" ] || [ -z "$ALLOWED" ] || [ -z "$DENIED" ] || [ -z "$FAILING" ]; then
	echo "1..0 # SKIP needs root, unshare --pid, setpriv, busctl and the users nobody, daemon, bin, sys"
	exit 0
fi

# as UID CMD...: CMD as UID (and its primary group), without capabilities
as() {
	_uid=$1
	_gid=$(getent passwd "$_uid" | cut -d: -f4)
	shift
	setpriv --reuid="$_uid" --regid="${_gid:-$_uid}" --clear-groups --inh-caps=-all \
		--bounding-set=-all -- "$@"
}

# call_as UID METHOD SIGNATURE ARGS...: busctl call of org.vfiod1.Manager;
# the reply's error name in $ERRNAME ("" on success)
call_as() {
	_uid=$1
	_method=$2
	shift 2
	RC=0
	as "$_uid" env SYSTEMD_LOG_LEVEL=debug busctl --address="$BUS" -- call \
		org.vfiod1 /org/vfiod1 org.vfiod1.Manager "$_method" "$@" >"$OUT" 2>"$ERR" || RC=$?
	ERRNAME=$(sed -n 's/.*error-name=\([^ ]*\).*/\1/p' "$ERR" | tail -n1)
}

assert_error() {
	[ "$ERRNAME" = "$1" ] || fail "$2: expected $1, got '${ERRNAME:-success}': $(tail -n3 "$ERR")"
}

# timed_call_as UID METHOD [STRING...]: a call of org.vfiod1.Manager from a
# connection made beforehand, so that only the call is timed, not the start
# of a client on a loaded machine; its result line in $OUT, the time in $MS
timed_call_as() {
	_uid=$1
	shift
	rm -f "$T/timed.in" "$T/timed.out"
	mkfifo "$T/timed.in"
	as "$_uid" "$ORPHAN_CALL" "$BUS" org.vfiod1 /org/vfiod1 org.vfiod1.Manager "$@" \
		<"$T/timed.in" >"$T/timed.out" 2>&1 &
	_pid=$!
	exec 4>"$T/timed.in"
	poll_until 30 grep -q '^pid ' "$T/timed.out" || fail "no connection: $(cat "$T/timed.out")"
	_start=$(date +%s%N)
	echo go >&4
	poll_until 30 grep -q '^ok$\|^error ' "$T/timed.out" || fail "no answer: $(cat "$T/timed.out")"
	MS=$((($(date +%s%N) - _start) / 1000000))
	exec 4>&-
	wait "$_pid" || :
	tail -n1 "$T/timed.out" >"$OUT"
}

# polkit_queries [UID]: the queries fake-polkit has had (from UID)
polkit_queries() {
	if [ $# -eq 0 ]; then
		grep -c '^[0-9]* ' "$T/polkit.log" || :
	else
		grep -c "^$1 " "$T/polkit.log" || :
	fi
}

# repeat N WORD: N times WORD, space-separated
repeat() {
	_i=0
	while [ "$_i" -lt "$1" ]; do
		printf '%s ' "$2"
		_i=$((_i + 1))
	done
}

# a string of N bytes
string_of() {
	head -c "$1" /dev/zero | tr '\0' x
}

start_fake_polkit() {
	as 0 "$FAKE_POLKIT" "$BUS" "allow=$ALLOWED" "deny=$DENIED" "fail=$FAILING" \
		>"$T/polkit.log" 2>"$T/polkit.err" &
	poll_until 10 grep -q '^ready$' "$T/polkit.log" || bail_out "fake-polkit: $(cat "$T/polkit.err")"
}

oversized_strings_are_refused_before_polkit() {
	before=$(polkit_queries)
	call_as "$DENIED" CreateMdev 'sssa(ss)' mtty mtty-2 "" 1 attr "$(string_of $((STRING_MAX + 1)))"
	assert_error org.vfiod1.Error.ArgumentTooLarge "a string of $((STRING_MAX + 1)) bytes"
	grep -q "argument 4: a string of bytes $((STRING_MAX + 1)), limit $STRING_MAX" "$ERR" ||
		fail "the reason: $(grep error-message "$ERR")"
	assert_eq "$before" "$(polkit_queries)" "polkit queries after the refused call"
	# at the limit: the call goes on, to polkit, which says no
	call_as "$DENIED" CreateMdev 'sssa(ss)' mtty mtty-2 "" 1 attr "$(string_of "$STRING_MAX")"
	assert_error org.freedesktop.DBus.Error.AccessDenied "a string of $STRING_MAX bytes"
	assert_eq $((before + 1)) "$(polkit_queries)" "polkit queries after the call at the limit"
}

arrays_depth_and_size_are_refused_before_polkit() {
	before=$(polkit_queries)
	# shellcheck disable=SC2046 # one word per element
	call_as "$DENIED" CreateMdev 'sssa(ss)' mtty mtty-2 "" $((ARRAY_MAX + 1)) $(repeat $((ARRAY_MAX + 1)) "k v")
	assert_error org.vfiod1.Error.ArgumentTooLarge "an array of $((ARRAY_MAX + 1)) elements"
	# 7 variants in a{sv}: depth 9
	call_as "$DENIED" Bind 'sa{sv}' "$UNCLAIMED" 1 key v v v v v v s deep
	assert_error org.vfiod1.Error.ArgumentTooLarge "containers nested 9 deep"
	# 20 strings of 4000 bytes: within each limit, over 64 KiB in all
	s=$(string_of 4000)
	# shellcheck disable=SC2046
	call_as "$DENIED" CreateMdev 'sssa(ss)' mtty mtty-2 "" 20 $(repeat 20 "k $s")
	assert_error org.vfiod1.Error.ArgumentTooLarge "80000 bytes of arguments"
	assert_eq "$before" "$(polkit_queries)" "polkit queries after the refused calls"
	# at the limits: past the filter, to the handler (an unknown option) or to polkit
	call_as "$DENIED" Bind 'sa{sv}' "$UNCLAIMED" 1 key v v v v v s deep
	[ "$ERRNAME" != org.vfiod1.Error.ArgumentTooLarge ] || fail "depth 8 refused"
	# shellcheck disable=SC2046
	call_as "$DENIED" CreateMdev 'sssa(ss)' mtty mtty-2 "" "$ARRAY_MAX" $(repeat "$ARRAY_MAX" "k v")
	assert_error org.freedesktop.DBus.Error.AccessDenied "an array of $ARRAY_MAX elements"
}

# flood_finished: the flood's calls that have had their answer
flood_finished() {
	find "$T/flood" -name '*.rc' | wc -l
}

# every flood call has reached vfiod: queued at polkit, or answered
flood_has_arrived() {
	[ $(($(polkit_queries "$FLOODER") + $(flood_finished))) -ge "$FLOOD" ]
}

flood_is_over() {
	[ "$(flood_finished)" -ge "$FLOOD" ]
}

flooder_queries_are() {
	[ "$(polkit_queries "$FLOODER")" -eq "$1" ]
}

a_flood_is_capped_and_delays_no_one() {
	mkdir -p "$T/flood"
	i=0
	while [ "$i" -lt "$FLOOD" ]; do
		(
			rc=0
			as "$FLOODER" env SYSTEMD_LOG_LEVEL=debug busctl --address="$BUS" -- call \
				org.vfiod1 /org/vfiod1 org.vfiod1.Manager Unbind s "$UNCLAIMED" \
				>/dev/null 2>"$T/flood/$i.err" || rc=$?
			echo "$rc" >"$T/flood/$i.rc"
		) &
		i=$((i + 1))
	done
	poll_until 60 flood_has_arrived ||
		fail "the flood did not arrive: $(polkit_queries "$FLOODER") at polkit, $(flood_finished) answered"

	# another uid, authorized: its call runs (NotBound: nothing claimed it) at once
	timed_call_as "$ALLOWED" Unbind "$UNCLAIMED"
	echo "the other uid's call took $MS ms: $(cat "$OUT")"
	grep -q "^error org.vfiod1.Error.NotBound: " "$OUT" || fail "the other uid's call: $(cat "$OUT")"
	[ "$MS" -lt $((1000 * TIME_SCALE)) ] || fail "the other uid's call took $MS ms"

	# the flooder: no more than the cap at polkit, the rest refused at once
	assert_eq "$IN_FLIGHT_MAX" "$(polkit_queries "$FLOODER")" "the flooder's queries at polkit"
	refused=$(grep -l "error-name=org.vfiod1.Error.TooManyRequests" "$T"/flood/*.err | wc -l)
	assert_eq $((FLOOD - IN_FLIGHT_MAX)) "$refused" "the flooder's calls refused with TooManyRequests"

	# its slots come back when polkit's answers time out (5 s)
	poll_until 30 flood_is_over || fail "the flood's calls did not end"
	call_as "$FLOODER" Unbind s "$UNCLAIMED" &
	poll_until 10 flooder_queries_are $((IN_FLIGHT_MAX + 1)) ||
		fail "the flooder's slots were not given back"
	kill $! 2>/dev/null || :
}

# reads_are_answered: the read flood's calls that have ended
reads_answered() {
	[ "$(find "$T/reads" -name '*.rc' | wc -l)" -ge "$1" ]
}

a_flood_of_reads_delays_no_one() {
	mkdir -p "$T/reads"
	i=0
	while [ "$i" -lt 100 ]; do
		(
			rc=0
			as "$FLOODER" busctl --address="$BUS" -- call org.vfiod1 /org/vfiod1 \
				org.vfiod1.Manager ListDevices >/dev/null 2>&1 || rc=$?
			echo "$rc" >"$T/reads/$i.rc"
		) &
		i=$((i + 1))
	done
	poll_until 30 reads_answered 20 || fail "the reads are not answered"
	timed_call_as "$ALLOWED" ListDevices
	echo "the other uid's ListDevices took $MS ms"
	assert_eq ok "$(cat "$OUT")" "the other uid's ListDevices"
	[ "$MS" -lt $((1000 * TIME_SCALE)) ] || fail "the other uid's ListDevices took $MS ms"
	poll_until 60 reads_answered 100 || fail "the reads did not end"
	[ -z "$(grep -vx 0 "$T"/reads/*.rc)" ] || fail "some reads failed"
}

caller_triggered_lines_are_rate_limited() {
	before=$(grep -c "polkit gave no answer" "$T/vfiod.log" || :)
	i=0
	while [ "$i" -lt 30 ]; do
		call_as "$FAILING" Unbind s "$UNCLAIMED"
		assert_error org.freedesktop.DBus.Error.AccessDenied "call $i with polkit failing"
		i=$((i + 1))
	done
	after=$(grep -c "polkit gave no answer" "$T/vfiod.log" || :)
	logged=$((after - before))
	echo "30 denials, $logged lines"
	assert_eq "$LOG_BURST" "$logged" "lines for 30 denials in a fresh interval"
	# the next line after the interval (10 s) says how many were dropped
	poll_until 20 one_more_denial_reports_suppressed || fail "no count of the suppressed lines"
	n=$(sed -n 's/.* \([0-9]*\) messages like "polkit gave no answer.*suppressed.*/\1/p' "$T/vfiod.log" | head -n1)
	echo "reported: $n suppressed"
	[ "$n" -ge $((30 - LOG_BURST)) ] || fail "$n lines reported suppressed, at least $((30 - LOG_BURST)) were"
}

one_more_denial_reports_suppressed() {
	call_as "$FAILING" Unbind s "$UNCLAIMED"
	grep -q 'messages like "polkit gave no answer for %s (%s): denying." suppressed' "$T/vfiod.log" && return 0
	sleep 1
	return 1
}

# the pid the orphaned connection's opener had, from orphan-call's first line
orphan_pid() {
	sed -n 's/^pid //p' "$T/orphan.out"
}

orphan_connected() {
	[ -n "$(orphan_pid)" ]
}

a_recycled_pid_does_not_make_a_caller_root() {
	rm -f "$T/orphan.in" "$T/orphan.out"
	mkfifo "$T/orphan.in"
	as "$DENIED" "$ORPHAN_CALL" "$BUS" org.vfiod1 /org/vfiod1 org.vfiod1.Manager \
		Unbind "$UNCLAIMED" <"$T/orphan.in" >"$T/orphan.out" 2>&1 &
	caller=$!
	exec 3>"$T/orphan.in"
	poll_until 10 orphan_connected || fail "orphan-call: $(cat "$T/orphan.out")"
	pid=$(orphan_pid)
	# the next process forked in this namespace gets pid: a root one
	echo $((pid - 1)) >/proc/sys/kernel/ns_last_pid
	sleep 600 &
	root_proc=$!
	[ "$root_proc" -eq "$pid" ] || fail "pid $pid went to $root_proc"
	[ "$(stat -c %u "/proc/$pid")" -eq 0 ] || fail "pid $pid is not root's"
	before=$(polkit_queries "$DENIED")
	echo go >&3
	exec 3>&-
	rc=0
	wait "$caller" || rc=$?
	kill "$root_proc"
	echo "pid $pid (now root's sleep): $(tail -n1 "$T/orphan.out")"
	[ "$rc" -ne 0 ] || fail "the call ran as root"
	grep -q "^error org.freedesktop.DBus.Error.AccessDenied: .*polkit says no" "$T/orphan.out" ||
		fail "not denied by polkit: $(cat "$T/orphan.out")"
	assert_eq $((before + 1)) "$(polkit_queries "$DENIED")" "polkit queries for uid $DENIED"
}

root_and_authorized_callers_still_work() {
	vfioctl unbind "$UNCLAIMED"
	[ "$RC" -ne 0 ] || fail "root's unbind of an unclaimed device succeeded"
	grep -q "NotBound" "$ERR" || fail "root's vfioctl unbind: $(cat "$ERR")"
	call_as 0 Unbind s "$UNCLAIMED"
	assert_error org.vfiod1.Error.NotBound "root's Unbind"
	call_as "$ALLOWED" Unbind s "$UNCLAIMED"
	assert_error org.vfiod1.Error.NotBound "an authorized Unbind"
	call_as "$DENIED" Unbind s "$UNCLAIMED"
	assert_error org.freedesktop.DBus.Error.AccessDenied "a denied Unbind"
}

make_fixture
chmod 755 "$T"
RC=0
as "$FLOODER" test -x "$ORPHAN_CALL" || RC=$?
[ "$RC" -eq 0 ] || { echo "1..0 # SKIP other uids cannot run $ORPHAN_CALL (a private build directory)"; exit 0; }
# the system bus's rules and vfiod's policy, plus polkitd's own (root owns the name)
cat >"$T/policy.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <include>$SOURCE_ROOT/systemd/org.vfiod1.conf</include>
  <policy user="root">
    <allow own="org.freedesktop.PolicyKit1"/>
  </policy>
  <policy context="default">
    <allow send_destination="org.freedesktop.PolicyKit1"/>
  </policy>
</busconfig>
EOF
start_policy_bus "$T/policy.conf"
start_fake_polkit
start_vfiod

check "root, an authorized and a denied caller get what they got before" root_and_authorized_callers_still_work
check "a string over $STRING_MAX bytes is refused before polkit is asked" oversized_strings_are_refused_before_polkit
check "arrays over $ARRAY_MAX, nesting over 8, arguments over 64 KiB are refused before polkit" arrays_depth_and_size_are_refused_before_polkit
check "a caller whose connection's pid root now holds is not taken for root" a_recycled_pid_does_not_make_a_caller_root
check "lines a caller can trigger are rate-limited" caller_triggered_lines_are_rate_limited
check "$FLOOD calls of one uid: $IN_FLIGHT_MAX wait for polkit, another uid's call answers within 1 s" a_flood_is_capped_and_delays_no_one
check "a flood of reads does not delay another uid's call past 1 s" a_flood_of_reads_delays_no_one

done_testing
