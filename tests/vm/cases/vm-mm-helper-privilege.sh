# vfiod-kernels: distro test
# Issue 11, item 7: who may reach another process's mm through vfiod_mm.
# A process with CAP_NET_ADMIN alone (a network daemon, a container with
# host networking) can neither TRACK nor get events: every command needs
# CAP_SYS_RESOURCE or CAP_SYS_ADMIN (kernel/netlink.c vfiod_mm_may_use()),
# and events reach only sockets opened with one of them
# (vfiod_mm_event_filter()). vfiod, with its unit's capabilities
# (systemd/vfiod.service.in: CapabilityBoundingSet=CAP_CHOWN
# CAP_SYS_RESOURCE CAP_NET_ADMIN, CapBnd 0x1001001 as vm-systemd-boot
# checks under systemd), still tracks its VMMs and hears their exits; this
# busybox guest has no systemd, so vfiod runs under setpriv with that
# bounding set instead. Its wait for RELEASED has a deadline and a
# fallback (daemon/manager-mm.c).

. /opt/vfiod/tests/vmm/vmm-lib.sh
. /opt/vfiod/tests/vm/lib/vm-ownership-lib.sh

MM_TEST=$VFIOD_BIN/vfd-mm-test
# the unit's CapabilityBoundingSet, in setpriv's words and as CapBnd/CapEff
UNIT_CAPS=-all,+chown,+sys_resource,+net_admin
UNIT_CAPMASK=0000000001001001

mm_setup() {
	[ -x "$MM_TEST" ] || skip "vfd-mm-test is not built"
	load_test_module vfiod_mm
}

# as_root_with CAPS CMD...: uid 0 whose capabilities are exactly CAPS
# (root's permitted and effective sets are its bounding set after exec).
as_root_with() {
	_caps=$1
	shift
	setpriv --bounding-set="$_caps" --inh-caps=-all -- "$@"
}

testcase_net_admin_alone_can_neither_track_nor_receive_events() {
	mm_setup
	kmsg_mark
	"$MM_TEST" -r net_admin_alone_can_neither_track_nor_receive_events \
		-r sys_resource_without_net_admin_gets_eperm -r unprivileged_caller_gets_eperm
	# the same from a separate process that setpriv started
	out=$(as_root_with -all,+net_admin "$MM_TEST" --probe)
	log "CAP_NET_ADMIN alone: $out"
	assert_eq "capeff=0000000000001000 track=EPERM subscribe=EPERM" "$out" \
		"a process with CAP_NET_ADMIN alone"
	kmsg_assert_clean
}

testcase_the_units_capabilities_track_and_receive_events() {
	mm_setup
	kmsg_mark
	"$MM_TEST" -r the_units_capabilities_track_and_receive_events \
		-r sys_admin_with_net_admin_is_enough
	out=$(as_root_with "$UNIT_CAPS" "$MM_TEST" --probe)
	log "the unit's capabilities: $out"
	assert_eq "capeff=$UNIT_CAPMASK track=ok subscribe=ok" "$out" "vfiod's capabilities"
	kmsg_assert_clean
}

# start_vfiod_with_unit_caps: the real daemon, bounded as its unit bounds it
start_vfiod_with_unit_caps() {
	wrap=$(mktemp -d /tmp/unit-caps.XXXXXX)
	cat >"$wrap/vfiod" <<-WRAP
	#!/bin/sh
	exec /usr/bin/setpriv --bounding-set=$UNIT_CAPS --inh-caps=-all -- $VFIOD_BIN/vfiod "\$@"
	WRAP
	chmod +x "$wrap/vfiod"
	_bin=$VFIOD_BIN
	VFIOD_BIN=$wrap
	start_vfiod
	VFIOD_BIN=$_bin
	pid=$(cat "$VFIOD_PIDFILE")
	assert_eq "$UNIT_CAPMASK" "$(sed -n 's/^CapBnd:\t*//p' "/proc/$pid/status")" "vfiod's CapBnd"
	assert_eq "$UNIT_CAPMASK" "$(sed -n 's/^CapEff:\t*//p' "/proc/$pid/status")" "vfiod's CapEff"
}

manager_property() {
	/usr/bin/dbus-send --system --print-reply --dest=org.vfiod1 /org/vfiod1 \
		org.freedesktop.DBus.Properties.Get string:org.vfiod1.Manager "string:$1" |
		sed -n 's/.*variant *string "\(.*\)"/\1/p'
}

log_has() {
	vfiod_log | grep -q "$1"
}

# a VMM stand-in: an unprivileged process with an address space
spawn_vmm() {
	# not run_as_vmm (a function: $! would be a subshell); setpriv execs sleep
	/usr/bin/setpriv --reuid=1000 --regid=1000 --init-groups --inh-caps=-all \
		--bounding-set=-all -- sleep 600 &
	VMM_PID=$!
	wait_until 10 sh -c "grep -q '^Name:.*sleep' /proc/$VMM_PID/status"
}

testcase_vfiod_under_the_units_capabilities_tracks_and_hears_the_exit() {
	mm_setup
	kmsg_mark
	start_vfiod_with_unit_caps
	assert_eq available "$(manager_property MmHelper)" "Manager.MmHelper under the unit's capabilities"
	spawn_vmm
	vfioctl_ok vm register capvm --pid "$VMM_PID" --backend type1 --memory 16M --keep-after-exit
	log_has "VM capvm: vfiod_mm tracks the VMM's mm as handle" || fail "vfiod did not track the VMM"
	kill -KILL "$VMM_PID"
	wait "$VMM_PID" || true
	# only the helper's EXITED event (or a resync after lost events) logs this
	wait_until 60 log_has "VM capvm: the VMM's address space is gone"
	vfioctl_ok vm release capvm
	wait_until 60 log_has "VM capvm: vfiod_mm reports RELEASED"
	vfiod_log | grep -e "VM capvm" -e "vfiod_mm" >&2
	stop_vfiod
	kmsg_assert_clean
}

# RELEASED never comes while something outside vfiod holds the dead mm:
# here an open /proc/PID/mem (it keeps an mm_count reference, as a pin
# holder does). vfiod must not wait for it: Release answers at once, and
# the draining handle goes at its deadline with a warning.
testcase_released_has_a_deadline_and_a_fallback() {
	mm_setup
	kmsg_mark
	VFIOD_TEST_MM_RELEASED_DEADLINE_SEC=5
	export VFIOD_TEST_MM_RELEASED_DEADLINE_SEC
	start_vfiod_with_unit_caps
	unset VFIOD_TEST_MM_RELEASED_DEADLINE_SEC
	spawn_vmm
	vfioctl_ok vm register stuck --pid "$VMM_PID" --backend type1 --memory 16M --keep-after-exit
	exec 9<"/proc/$VMM_PID/mem"
	kill -KILL "$VMM_PID"
	wait "$VMM_PID" || true
	wait_until 60 log_has "VM stuck: the VMM's address space is gone"
	vfioctl_ok vm release stuck
	assert_eq released "$(cat "$OUT")" "Release does not wait for RELEASED"
	log_has "VM stuck: waiting up to 5 s for vfiod_mm to report the VMM's mm RELEASED" ||
		fail "no draining handle: $(vfiod_log | grep 'VM stuck')"
	wait_until 30 log_has "VM stuck: vfiod_mm did not report RELEASED within 5 s"
	vfiod_log | grep "VM stuck: vfiod_mm did not report RELEASED" | grep -q "remain" ||
		fail "the fallback does not say what remains: $(vfiod_log | grep 'VM stuck')"
	log_has "VM stuck: vfiod_mm reports RELEASED" && fail "RELEASED while /proc/PID/mem holds the mm"
	# vfiod let go of its handle: only the test's reference is left
	assert_eq "0" "$("$MM_TEST" --stats-handles)" "handles in the module after the fallback"
	vfiod_log | grep -e "VM stuck" -e "TEST:" >&2
	exec 9<&-
	stop_vfiod
	kmsg_assert_clean
}

# Each socket has a handle cap, and a TRACK whose reply was lost leaves no
# handle behind (tests/mm/test-limits.c).
testcase_one_socket_cannot_take_every_handle() {
	mm_setup
	kmsg_mark
	"$MM_TEST" -r per_socket_handle_cap
	kmsg_assert_clean
}

testcase_a_lost_track_reply_leaves_no_handle() {
	mm_setup
	kmsg_mark
	"$MM_TEST" -r track_reply_lost_destroys_the_handle
	kmsg_assert_clean
}
