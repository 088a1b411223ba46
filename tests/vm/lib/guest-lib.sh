# shellcheck shell=sh
# Helpers for nested-VM test cases (tests/vm/cases/*.sh), sourced inside the
# lab guest (busybox ash) before the case file. Each testcase_* function runs
# in its own shell with `set -e`: a failing command fails the case.
#
#   fail MSG                      the case fails with MSG
#   skip MSG                      the case is skipped (exit 77) with MSG
#   log MSG                       progress line in the guest log
#   assert_eq EXPECTED ACTUAL MSG
#   assert_ne UNEXPECTED ACTUAL MSG
#   assert_contains HAYSTACK NEEDLE MSG
#   assert_fails CMD...           CMD must exit non-zero
#   wait_until SECS CMD...        poll CMD until it succeeds, or fail
#   poll_until SECS CMD...        the same, returning 1 instead of failing
#   vm_kernel                     prints distro|test|modern
#   has_iommufd                   true when /dev/iommu exists
#   lab_device edu|e1000e|nvme    BDF of a lab endpoint
#   pci_group BDF                 IOMMU group number of BDF
#   pci_driver BDF                bound driver name (empty if none)
#   bind_vfio BDF / unbind_vfio BDF
#   start_vfiod [ARGS] / stop_vfiod   the real daemon on the system bus
#   vfiod_log                     what vfiod wrote so far
#   bus_has_name NAME             true if NAME has an owner on the system bus
#   run_as_vmm CMD...             CMD as user vmm (uid 1000), no capabilities
#   mdev_create PARENT TYPE [UUID] / mdev_remove UUID
#   load_test_module NAME         insmod /opt/vfiod/modules/NAME.ko

# busybox ash (Debian's busybox-static) prefers its built-in applets to
# programs found in PATH. These functions make the real kmod and util-linux
# tools win, so cases get the behaviour of a Debian host.
for _gl_tool in modprobe insmod rmmod lsmod modinfo depmod; do
	eval "$_gl_tool() { /usr/sbin/$_gl_tool \"\$@\"; }"
done
setpriv() { /usr/bin/setpriv "$@"; }
unset _gl_tool

VFIOD_BIN=/opt/vfiod/bin
VFIOD_MODULES=/opt/vfiod/modules
VFIOD_TESTS=/opt/vfiod/tests
VFIOD_LOG=/run/vfiod.log
VFIOD_PIDFILE=/run/vfiod.pid

log() {
	echo "  [$(cut -d' ' -f1 /proc/uptime)] $*"
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit 77
}

assert_eq() {
	[ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"
}

assert_ne() {
	[ "$1" != "$2" ] || fail "$3: got '$2', which it must not be"
}

assert_contains() {
	case "$1" in
	*"$2"*) ;;
	*) fail "$3: '$2' not found in: $1" ;;
	esac
}

assert_fails() {
	if "$@"; then
		fail "expected failure: $*"
	fi
}

# wait_until (and poll_until): shared with tests/dbus/lib.sh. TCG guests are
# slow, so callers pass generous limits.
. "$VFIOD_TESTS/lib/wait-until.sh"

vm_kernel() {
	(. /etc/vfiod-lab.env && echo "$FLAVOUR")
}

has_iommufd() {
	[ -c /dev/iommu ]
}

lab_device() {
	case "$1" in
	edu) _ld_id=0x1234:0x11e8 ;;
	e1000e) _ld_id=0x8086:0x10d3 ;;
	nvme) _ld_id=0x1b36:0x0010 ;;
	*) fail "lab_device: unknown device $1" ;;
	esac
	for _ld_d in /sys/bus/pci/devices/*; do
		if [ "$(cat "$_ld_d/vendor"):$(cat "$_ld_d/device")" = "$_ld_id" ]; then
			basename "$_ld_d"
			return 0
		fi
	done
	fail "lab device $1 ($_ld_id) not present"
}

pci_group() {
	[ -L "/sys/bus/pci/devices/$1/iommu_group" ] || fail "$1 has no IOMMU group"
	basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")"
}

pci_driver() {
	if [ -L "/sys/bus/pci/devices/$1/driver" ]; then
		basename "$(readlink "/sys/bus/pci/devices/$1/driver")"
	fi
}

bind_vfio() {
	_bv_dev=/sys/bus/pci/devices/$1
	[ -d "$_bv_dev" ] || fail "bind_vfio: no PCI device $1"
	modprobe vfio-pci || fail "modprobe vfio-pci"
	_bv_drv=$(pci_driver "$1")
	[ "$_bv_drv" = vfio-pci ] && return 0
	[ -z "$_bv_drv" ] || echo "$1" >"$_bv_dev/driver/unbind"
	echo vfio-pci >"$_bv_dev/driver_override"
	echo "$1" >/sys/bus/pci/drivers_probe
	assert_eq vfio-pci "$(pci_driver "$1")" "driver of $1 after bind"
	udevadm settle --timeout=30 || true
	_bv_group=$(pci_group "$1")
	wait_until 30 test -c "/dev/vfio/$_bv_group"
}

unbind_vfio() {
	_ub_dev=/sys/bus/pci/devices/$1
	[ "$(pci_driver "$1")" = vfio-pci ] && echo "$1" >"$_ub_dev/driver/unbind"
	# An empty override (a lone newline) clears it.
	echo >"$_ub_dev/driver_override"
	[ -z "$(pci_driver "$1")" ] || fail "$1 still bound after unbind"
	udevadm settle --timeout=30 || true
}

bus_has_name() {
	dbus-send --system --print-reply --dest=org.freedesktop.DBus \
		/org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner \
		"string:$1" 2>/dev/null | grep -q 'boolean true'
}

# start_vfiod [ARGS]: start the daemon in the background (output in
# $VFIOD_LOG) and wait until it owns org.vfiod1 on the system bus.
start_vfiod() {
	[ -x "$VFIOD_BIN/vfiod" ] || skip "vfiod is not built"
	if [ -f "$VFIOD_PIDFILE" ] && kill -0 "$(cat "$VFIOD_PIDFILE")" 2>/dev/null; then
		fail "start_vfiod: vfiod already running"
	fi
	"$VFIOD_BIN/vfiod" "$@" >>"$VFIOD_LOG" 2>&1 &
	echo $! >"$VFIOD_PIDFILE"
	poll_until 30 vfiod_took_name_or_died || { vfiod_log >&2; fail "vfiod did not take org.vfiod1 within 30 s"; }
	if ! bus_has_name org.vfiod1; then
		vfiod_log >&2
		fail "vfiod exited before taking org.vfiod1"
	fi
}

# true once the vfiod of start_vfiod owns org.vfiod1, or has exited
vfiod_took_name_or_died() {
	bus_has_name org.vfiod1 || ! kill -0 "$(cat "$VFIOD_PIDFILE")" 2>/dev/null
}

# process_has_exited PID: PID is gone or a zombie (exited, not yet reaped)
process_has_exited() {
	[ ! -d "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# stop_vfiod: SIGTERM, wait, and fail unless vfiod exits 0 within 20 s.
stop_vfiod() {
	[ -f "$VFIOD_PIDFILE" ] || fail "stop_vfiod: vfiod not started"
	_st_pid=$(cat "$VFIOD_PIDFILE")
	rm -f "$VFIOD_PIDFILE"
	kill -TERM "$_st_pid" 2>/dev/null || fail "stop_vfiod: vfiod already gone"
	poll_until 20 process_has_exited "$_st_pid" || { kill -KILL "$_st_pid"; fail "vfiod ignored SIGTERM for 20 s"; }
	# vfiod is a child of this shell: wait reports its exit status.
	_st_rc=0
	wait "$_st_pid" || _st_rc=$?
	[ "$_st_rc" = 0 ] || { vfiod_log >&2; fail "vfiod exited with status $_st_rc"; }
}

vfiod_log() {
	cat "$VFIOD_LOG" 2>/dev/null || true
}

# run_as_vmm CMD...: the unprivileged VMM user, with every capability gone
# (a real QEMU has no CAP_IPC_LOCK, which is what RLIMIT_MEMLOCK tests need).
run_as_vmm() {
	setpriv --reuid=1000 --regid=1000 --init-groups \
		--inh-caps=-all --bounding-set=-all -- "$@"
}

mdev_create() {
	_mc_types=/sys/class/mdev_bus/$1/mdev_supported_types
	[ -d "$_mc_types/$2" ] || fail "mdev parent $1 has no type $2"
	_mc_uuid=${3:-$(cat /proc/sys/kernel/random/uuid)}
	echo "$_mc_uuid" >"$_mc_types/$2/create" || fail "creating $2 mdev on $1"
	udevadm settle --timeout=30 || true
	echo "$_mc_uuid"
}

mdev_remove() {
	[ -d "/sys/bus/mdev/devices/$1" ] || fail "no mdev $1"
	echo 1 >"/sys/bus/mdev/devices/$1/remove"
	udevadm settle --timeout=30 || true
}

load_test_module() {
	[ -f "$VFIOD_MODULES/$1.ko" ] || skip "out-of-tree module $1 not built"
	grep -q "^$1 " /proc/modules && return 0
	insmod "$VFIOD_MODULES/$1.ko" || fail "insmod $1.ko"
}
