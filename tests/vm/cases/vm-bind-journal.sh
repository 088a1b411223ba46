# vfiod-kernels: distro test
# The binding journal (daemon/bind-journal.h) on a real kernel: an ad-hoc
# Bind outlives vfiod killed with SIGKILL, and Unbind from the next vfiod
# restores each member's original driver and driver_override exactly;
# a vfiod killed in the middle of a Bind (every member moved, the claim
# not recorded as held yet) has it undone by the next one.

. /opt/vfiod/tests/vm/lib/vm-ownership-lib.sh

BINDINGS=/run/vfiod/bindings

# kill_vfiod: SIGKILL, as a crash: no cleanup at all
kill_vfiod() {
	_kv_pid=$(cat "$VFIOD_PIDFILE")
	kill -KILL "$_kv_pid"
	wait "$_kv_pid" 2>/dev/null || :
	rm -f "$VFIOD_PIDFILE"
}

# the crashed vfiod is gone (it exits 70 at a test crash point)
reap_crashed_vfiod() {
	_rc_pid=$(cat "$VFIOD_PIDFILE")
	wait_until 20 sh -c "[ ! -d /proc/$_rc_pid ] || grep -q '^State:.*Z' /proc/$_rc_pid/status"
	wait "$_rc_pid" 2>/dev/null || :
	rm -f "$VFIOD_PIDFILE"
	vfiod_log | grep -q "TEST CRASH at $1" || fail "vfiod did not reach $1"
}

# bind_kill_unbind BDF: the whole round, BDF's state before and after compared
bind_kill_unbind() {
	before=$(device_snapshot "$1")
	start_vfiod
	vfioctl_ok bind "$1"
	assert_eq vfio-pci "$(pci_driver "$1")" "driver of $1 after Bind"
	assert_eq held "$(jq -r .state "$BINDINGS/$1.json")" "the journal of the claim"
	kill_vfiod
	assert_eq vfio-pci "$(pci_driver "$1")" "driver of $1 after vfiod's SIGKILL"
	start_vfiod
	vfiod_log | grep -q "Claim of $1 held again after vfiod's restart" || fail "claim of $1 not held again"
	vfioctl_ok unbind "$1"
	assert_eq "$before" "$(device_snapshot "$1")" "$1 after Unbind from the restarted vfiod"
	[ ! -e "$BINDINGS/$1.json" ] || fail "journal of $1 left after Unbind"
	stop_vfiod
}

testcase_unbind_after_sigkill_restores_edu() {
	modprobe vfio-pci || fail "modprobe vfio-pci"
	EDU=$(lab_device edu)
	assert_eq "" "$(pci_driver "$EDU")" "edu unbound at the start"
	# an override of its own, which only a record of it can give back
	echo vfiod-test-none >"/sys/bus/pci/devices/$EDU/driver_override"
	bind_kill_unbind "$EDU"
	assert_eq vfiod-test-none "$(cat "/sys/bus/pci/devices/$EDU/driver_override")" "edu's driver_override"
	echo >"/sys/bus/pci/devices/$EDU/driver_override"
}

testcase_unbind_after_sigkill_restores_e1000e_driver() {
	modprobe vfio-pci || fail "modprobe vfio-pci"
	modprobe e1000e 2>/dev/null || skip "no e1000e module on this kernel"
	NIC=$(lab_device e1000e)
	wait_until 30 test -n "$(pci_driver "$NIC")"
	assert_eq e1000e "$(pci_driver "$NIC")" "e1000e on its driver at the start"
	bind_kill_unbind "$NIC"
	assert_eq e1000e "$(pci_driver "$NIC")" "e1000e back on its driver"
}

testcase_crash_mid_bind_is_undone() {
	modprobe vfio-pci || fail "modprobe vfio-pci"
	EDU=$(lab_device edu)
	before=$(device_snapshot "$EDU")
	export VFIOD_TEST_CRASH=bind-claimed
	start_vfiod
	unset VFIOD_TEST_CRASH
	vfioctl bind "$EDU"
	[ "$RC" -ne 0 ] || fail "the Bind answered although vfiod crashed"
	reap_crashed_vfiod bind-claimed
	assert_eq vfio-pci "$(pci_driver "$EDU")" "edu moved before the crash"
	assert_eq planned "$(jq -r .state "$BINDINGS/$EDU.json")" "the journal at the crash"
	start_vfiod
	vfiod_log | grep -q "The claim of $EDU was under way at vfiod's exit: undone." || fail "no undo logged"
	assert_eq "$before" "$(device_snapshot "$EDU")" "edu after the undo"
	[ ! -e "$BINDINGS/$EDU.json" ] || fail "journal left after the undo"
	vfioctl unbind "$EDU"
	assert_refused org.vfiod1.Error.NotBound
	stop_vfiod
}
