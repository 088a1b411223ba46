# vfiod-kernels: distro
# Per-VM ownership (docs/security.md): every VM records the uid that
# registered or prepared it. uid A's VM cannot be changed, released or have
# its secret read by uid B, although polkit authorizes B to manage VMs
# (org.vfiod1.manage-vms): acting on another's VM is the separate action
# org.vfiod1.manage-other-vms, which nobody holds here. B can still manage
# its own VM. Sizes above what the host can hold are refused for everyone.
#
# polkit: the busybox guest has no polkitd; fake-polkit (tests/security)
# stands in as org.freedesktop.PolicyKit1 on the real system bus and answers
# from its command line, so what is tested is vfiod's choice of action and
# its use of the answer.

. /opt/vfiod/tests/vmm/vmm-lib.sh
. /opt/vfiod/tests/vm/lib/vm-ownership-lib.sh

STUB_LOG=/tmp/polkit-stub.log
A=1000
B=1001

# as UID ARGS...: vfioctl ARGS as UID, no capabilities; like vfioctl()
as() {
	_as_uid=$1
	shift
	RC=0
	setpriv --reuid="$_as_uid" --regid="$_as_uid" --clear-groups --inh-caps=-all --bounding-set=-all \
		"$VFIOCTL" "$@" >"$OUT" 2>"$ERR" || RC=$?
	log "uid $_as_uid: vfioctl $* -> $RC $(cat "$OUT" "$ERR" | tr '\n' ' ')" >&2
}

as_ok() {
	as "$@"
	[ "$RC" -eq 0 ] || fail "uid $1: vfioctl $* failed ($RC): $(cat "$ERR")"
}

assert_denied() {
	[ "$RC" -ne 0 ] || fail "$1: allowed: $(cat "$OUT")"
	grep -q "AccessDenied" "$ERR" || fail "$1: not AccessDenied: $(cat "$ERR")"
}

# a process of UID to be a VMM: its pid in PROC
proc_of() {
	# the binary itself, not guest-lib's setpriv function: $! must be the process
	/usr/bin/setpriv --reuid="$1" --regid="$1" --clear-groups sleep 600 &
	PROC=$!
	PROCS="${PROCS:-} $PROC"
	wait_until 10 proc_runs_as "$PROC" "$1"
}

proc_runs_as() {
	[ "$(awk '/^Uid:/ { print $3 }' "/proc/$1/status" 2>/dev/null)" = "$2" ]
}

start_polkit_stub() {
	cat >/etc/dbus-1/system.d/fake-polkit.conf <<-EOC
	<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
	 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
	<busconfig>
	  <policy user="root">
	    <allow own="org.freedesktop.PolicyKit1"/>
	    <allow send_destination="org.freedesktop.PolicyKit1"/>
	  </policy>
	</busconfig>
	EOC
	dbus-send --system --print-reply --dest=org.freedesktop.DBus / \
		org.freedesktop.DBus.ReloadConfig >/dev/null
	/opt/vfiod/bin/fake-polkit unix:path=/run/dbus/system_bus_socket "$@" >"$STUB_LOG" 2>&1 &
	STUB_PID=$!
	wait_until 10 bus_has_name org.freedesktop.PolicyKit1
}

stop_polkit_stub() {
	kill "$STUB_PID"
	wait "$STUB_PID" 2>/dev/null || true
	rm -f /etc/dbus-1/system.d/fake-polkit.conf
}

setup() {
	modprobe vfio-pci
	modprobe vfio_iommu_type1 || true
	EDU=$(lab_device edu)
	BEFORE=$(device_snapshot "$EDU")
	# manage-vms for A and B; any other action (manage-other-vms): no
	start_polkit_stub allow=$A:org.vfiod1.manage-vms allow=$B:org.vfiod1.manage-vms deny=$A deny=$B
	start_vfiod
}

teardown() {
	log "polkit stand-in was asked: $(tr '\n' ';' <"$STUB_LOG")"
	stop_vfiod
	stop_polkit_stub
	for p in $PROCS; do kill "$p" 2>/dev/null || true; done
	PROCS=
}

devices_of() {
	"$VFIOCTL" --json vm show "$1" | jq -r '[.devices[].name] | join(",")'
}

testcase_another_uid_cannot_change_or_release_a_vm() {
	setup
	proc_of $A
	vmm_a=$PROC
	as_ok $A vm register a-vm --pid "$vmm_a" --backend type1 --memory 16M
	as_ok $A vm add-device a-vm "$EDU"
	assert_eq vfio-pci "$(pci_driver "$EDU")" "edu once uid A's VM has it"
	grep -q "^$A org.vfiod1.manage-vms$" "$STUB_LOG" || fail "vfiod did not ask manage-vms for A"

	# B is allowed to manage VMs, but not A's
	as $B vm remove-device a-vm "$EDU"
	assert_denied "RemoveDevice of A's VM by B"
	as $B vm release a-vm
	assert_denied "Release of A's VM by B"
	as $B vm secret a-vm
	assert_denied "GetVMMSecret of A's VM by B"
	as $B vm create-mdev a-vm mtty mtty-1
	assert_denied "CreateMdev for A's VM by B"
	grep -q "^$B org.vfiod1.manage-other-vms$" "$STUB_LOG" ||
		fail "vfiod did not ask manage-other-vms for B: $(cat "$STUB_LOG")"
	assert_eq "$EDU" "$(devices_of a-vm)" "A's VM after B's attempts"
	assert_eq registered "$(vm_state a-vm)" "A's VM's state after B's attempts"
	assert_eq vfio-pci "$(pci_driver "$EDU")" "edu after B's attempts"

	# B may manage a VM of its own, and A may not touch it
	proc_of $B
	as_ok $B vm register b-vm --pid "$PROC" --backend type1 --memory 16M
	as $A vm release b-vm
	assert_denied "Release of B's VM by A"
	assert_eq registered "$(vm_state b-vm)" "B's VM after A's attempt"
	as_ok $B vm release b-vm

	# a VM root registered is nobody else's either
	proc_of 0
	vfioctl_ok vm register root-vm --pid "$PROC" --backend type1 --memory 16M
	as $A vm release root-vm
	assert_denied "Release of root's VM by A"
	vfioctl_ok vm release root-vm

	# the owner can, and everything comes back
	as_ok $A vm secret a-vm
	as_ok $A vm release a-vm
	wait_until 30 vm_is_gone a-vm
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu after A's release"
	teardown
}

testcase_prepare_and_attach_follow_the_same_rule() {
	setup
	# PrepareVM and AttachVMM are reachable through the bus policy for a user
	as_ok $A vm prepare a-prep --backend type1 --vmm-opens-groups --memory 16M
	as_ok $A vm add-device a-prep "$EDU"
	proc_of $B
	as $B vm attach-vmm a-prep --pid "$PROC"
	assert_denied "AttachVMM of A's prepared VM by B"
	assert_eq prepared "$(vm_state a-prep)" "A's prepared VM after B's attempt"
	proc_of $A
	as_ok $A vm attach-vmm a-prep --pid "$PROC"
	assert_eq registered "$(vm_state a-prep)" "A's VM once A named its VMM"
	as_ok $A vm release a-prep
	wait_until 30 vm_is_gone a-prep
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu after release"
	teardown
}

# A user whom polkit lets manage VMs claims nothing that a process outside
# vfiod uses through VFIO. A function already on vfio-pci changes no
# driver at a claim, so the old code let uid A's VM take edu while another
# process held its group (as QEMU of a root libvirt domain holds a
# managed='yes' hostdev that vfiod leaves to libvirt). Refused as in use
# outside vfiod (DeviceBusy); once the holder closed the group the same
# AddDevice goes through. Root's claims are not asked (docs/security.md).
testcase_a_user_claims_nothing_in_use_outside_vfiod() {
	setup
	proc_of $A
	as_ok $A vm register a-vm --pid "$PROC" --backend type1 --memory 16M
	bind_vfio "$EDU"
	group=$(basename "$(readlink "/sys/bus/pci/devices/$EDU/iommu_group")")
	sleep 600 <>"/dev/vfio/$group" &
	holder=$!
	PROCS="${PROCS:-} $holder"
	wait_until 10 sh -c "ls -l /proc/$holder/fd | grep -q ' /dev/vfio/$group\$'"
	as $A vm add-device a-vm "$EDU"
	[ "$RC" -ne 0 ] || fail "uid A's VM got $EDU while another process held group $group"
	grep -q "in use outside vfiod: IOMMU group $group is open .*(org.vfiod1.Error.DeviceBusy)" "$ERR" ||
		fail "not DeviceBusy, in use outside vfiod: $(cat "$ERR")"
	"$VFIOCTL" --json vm show a-vm | jq -e '.devices | length == 0' >/dev/null ||
		fail "A's VM after the refusal: $("$VFIOCTL" --json vm show a-vm)"
	kill "$holder"
	wait "$holder" 2>/dev/null || true
	as_ok $A vm add-device a-vm "$EDU"
	assert_eq "$EDU" "$(devices_of a-vm)" "A's VM once the holder closed the group"
	as_ok $A vm release a-vm
	wait_until 30 vm_is_gone a-vm
	assert_eq vfio-pci "$(pci_driver "$EDU")" "edu given back to vfio-pci, where it was before A's claim"
	unbind_vfio "$EDU"
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu at the end"
	teardown
}

testcase_sizes_beyond_the_host_are_refused() {
	setup
	host=$(awk '/^MemTotal:/ { print $2 * 1024 }' /proc/meminfo)
	proc_of $A
	for opts in "--memory 64G" "--memory 16M --extra-charge 64G" "--memory 16M --memlock-cap 64G"; do
		# shellcheck disable=SC2086 # two words
		as $A vm register big --pid "$PROC" --backend type1 $opts
		[ "$RC" -ne 0 ] || fail "uid A registered a VM with $opts"
		grep -q "InvalidArgs" "$ERR" || fail "$opts: not InvalidArgs: $(cat "$ERR")"
		grep -q "above the host's memory" "$ERR" || fail "$opts: message: $(cat "$ERR")"
		# shellcheck disable=SC2086
		vfioctl vm register big --pid "$PROC" --backend type1 $opts
		[ "$RC" -ne 0 ] || fail "root registered a VM with $opts"
		grep -q "above the host's memory" "$ERR" || fail "root, $opts: message: $(cat "$ERR")"
	done
	assert_eq gone "$(vm_state big)" "no VM was registered"
	# the host's own size is still fine: the bound is the host, not a guess
	as_ok $A vm register fits --pid "$PROC" --backend type1 --memory "$host"
	as_ok $A vm release fits
	teardown
}
