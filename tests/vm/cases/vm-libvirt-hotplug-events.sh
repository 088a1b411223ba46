# vfiod-libvirt: run by tests/vm/runners/run-libvirt-test.sh (Debian guest, systemd, libvirtd 9.0, QEMU 7.2)
# vfiod follows libvirt's device events (daemon/libvirt/libvirt-events.c) under its
# shipped unit: a running domain that vfiod holds as a VM gets the edu
# device hot-plugged and unplugged, first behind vfiod's back (virsh
# attach-device/detach-device: vfiod accounts after the fact), then in the
# safe order (vfioctl vm add-device/remove-device --libvirt: the limit is
# raised before libvirt's attach, lowered after its detach), and a libvirt
# attach that fails leaves nothing claimed and the limit as it was. A
# libvirtd restart is followed by a reconnect.
#
# The domain sits in SeaBIOS (no guest OS), so nothing in the guest answers
# a hot-unplug request. Machine pc-q35-6.0 keeps QEMU's native hotplug
# (PCIe root ports, SHPC on the pcie-to-pci-bridge; later q35 machines
# hotplug through ACPI, which needs the guest OS to eject): a slot that
# the firmware never powered on lets QEMU plug and unplug without a
# round-trip to the guest.

DOM=vfiod-hotplug
OFF=vfiod-hotplug-off
MDEV=3e1c5a7b-9d2f-4b6e-8a01-5c4d3b2a1f09
XML=/tmp/$DOM.xml

vm_devices() {
	vfiod_vm_prop "$DOM" Devices
}

vm_has_device() { # BDF
	case "$(vm_devices)" in
	*"\"$1\""*) return 0 ;;
	*) return 1 ;;
	esac
}

vm_has_no_device() {
	! vm_has_device "$1"
}

domain_has_hostdev() {
	virsh dumpxml "$DOM" | grep -q "<hostdev"
}

domain_has_no_hostdev() {
	! domain_has_hostdev
}

# the VMM's limit equals vfiod's plan (MemlockLimit)
assert_limit_is_vfiods() { # PID WHAT
	_plan=$(vfiod_vm_prop "$DOM" MemlockLimit)
	_limit=$(memlock_of "$1")
	log "$2: QEMU's RLIMIT_MEMLOCK $_limit, vfiod's MemlockLimit $_plan; $(grep VmLck "/proc/$1/status")"
	assert_eq "$_plan" "$_limit" "$2: QEMU's RLIMIT_MEMLOCK is vfiod's plan"
}

testcase_vfiod_connects_to_libvirt() {
	systemctl is-active -q vfiod || fail "vfiod.service is $(systemctl is-active vfiod)"
	virsh -c qemu:///system version >/dev/null || fail "virsh cannot reach libvirtd"
	t=$(now)
	wait_until 120 sh -c "journalctl -b -u vfiod -o cat | grep -q 'Connected to libvirt at qemu:///system'"
	timing "vfiod-connected-to-libvirt-after" "$(elapsed "$t")"
	modprobe vfio-pci
}

testcase_domain_runs_as_a_vm_of_vfiod() {
	hotplug_domain_xml "$DOM" >"$XML"
	virsh define "$XML" || fail "virsh define"
	t=$(now)
	virsh start "$DOM" || fail "virsh start"
	timing "virsh-start" "$(elapsed "$t")"
	pid=$(qemu_pid "$DOM")
	# no hostdev at start: the hook leaves the domain alone, the test registers it
	# the way the hook would (PrepareVM + AttachVMM, libvirt's DAC driver owns the nodes)
	vfioctl vm prepare "$DOM" --uuid "$(virsh domuuid "$DOM")" --memory 32M --backend type1 \
		--vmm-opens-groups --no-grant --extra-charge 4M || fail "vfioctl vm prepare"
	vfioctl vm attach-vmm "$DOM" --pid "$pid" || fail "vfioctl vm attach-vmm"
	assert_eq '"registered"' "$(vfiod_vm_prop "$DOM" State)" "VM state"
	assert_eq "$pid" "$(vfiod_vm_prop "$DOM" VMMPid)" "VMMPid"
	assert_eq "0" "$(vfiod_vm_prop "$DOM" ExpectedChargeBytes)" "expected charge without devices"
	memlock_of "$pid" >/tmp/limit-before
	log "QEMU pid $pid: RLIMIT_MEMLOCK before any device: $(cat /tmp/limit-before)"
}

testcase_virsh_attach_detach_is_followed() {
	edu=$(lab_device edu)
	pid=$(qemu_pid "$DOM")
	before=$(cat /tmp/limit-before)
	bind_vfio "$edu" # managed='no': the admin put it on vfio-pci
	pci_hostdev_xml "$edu" >/tmp/edu.xml
	n=$(journal_lines)

	t=$(now)
	virsh attach-device "$DOM" /tmp/edu.xml --live || fail "virsh attach-device"
	wait_until 60 vm_has_device "$edu"
	timing "virsh-attach-to-vfiod-device" "$(elapsed "$t")"
	journal_since "$n" | grep -q "libvirt attached $edu (alias hostdev0), which vfiod did not add first" ||
		fail "vfiod did not log the after-the-fact add: $(journal_since "$n")"
	# accounting after the fact: the limit and the expected charge follow the attach
	wait_until 30 sh -c "journalctl -b -u vfiod -o cat | tail -n +$((n + 1)) | grep -q '(libvirt attach): charge'"
	assert_limit_is_vfiods "$pid" "after virsh attach"
	assert_ne "$before" "$(memlock_of "$pid")" "QEMU's limit after the attach"
	assert_eq $((32 * 1048576)) "$(vfiod_vm_prop "$DOM" ExpectedChargeBytes)" "expected charge: guest memory once"
	observed=$(vfiod_vm_prop "$DOM" ObservedChargeBytes)
	log "observed charge $observed, charge matches: $(vfiod_vm_prop "$DOM" ChargeMatches)"
	[ "$observed" -ge $((32 * 1048576)) ] || fail "QEMU has only $observed bytes charged: guest RAM not mapped?"
	assert_eq true "$(vfiod_vm_prop "$DOM" ChargeMatches)" "vfiod's charge check after the attach"

	n=$(journal_lines)
	t=$(now)
	virsh detach-device "$DOM" /tmp/edu.xml --live || fail "virsh detach-device"
	wait_until 60 domain_has_no_hostdev
	wait_until 60 vm_has_no_device "$edu"
	timing "virsh-detach-to-vfiod-given-back" "$(elapsed "$t")"
	journal_since "$n" | grep -q "libvirt detached $edu (alias hostdev0): given back" ||
		fail "no given-back line: $(journal_since "$n")"
	assert_eq "$before" "$(memlock_of "$pid")" "QEMU's limit after the detach: the original again"
	assert_eq 0 "$(vfiod_vm_prop "$DOM" ExpectedChargeBytes)" "expected charge after the detach"
	# given back to what it had before vfiod's claim: vfio-pci, as the admin left it
	assert_eq vfio-pci "$(pci_driver "$edu")" "edu's driver after the detach"
	unbind_vfio "$edu"
}

testcase_vfioctl_libvirt_add_raises_limit_before_attach() {
	edu=$(lab_device edu)
	pid=$(qemu_pid "$DOM")
	before=$(cat /tmp/limit-before)
	assert_eq "" "$(pci_driver "$edu")" "edu's driver before"
	n=$(journal_lines)

	t=$(now)
	vfioctl vm add-device "$DOM" "$edu" --libvirt || fail "vfioctl vm add-device --libvirt"
	timing "vfioctl-add-device-libvirt" "$(elapsed "$t")"
	vm_has_device "$edu" || fail "edu is not a device of the VM"
	domain_has_hostdev || fail "libvirt's domain has no hostdev"
	virsh dumpxml "$DOM" | grep -q "ua-vfiod-${edu%%:*}" || fail "the hostdev lacks vfioctl's alias"
	assert_eq vfio-pci "$(pci_driver "$edu")" "edu's driver: vfiod claimed it"
	wait_until 30 sh -c "journalctl -b -u vfiod -o cat | tail -n +$((n + 1)) | grep -q 'added through vfiod before: now in use'"
	assert_limit_is_vfiods "$pid" "after add-device --libvirt"

	# the order: vfiod raised the limit (AddDevice), and only then saw libvirt's attach
	journal_since "$n" >/tmp/j
	raised=$(grep -n "VM $DOM (add): RLIMIT_MEMLOCK of the VMM (pid $pid) set to" /tmp/j | head -n1 | cut -d: -f1)
	attached=$(grep -n "libvirt attached $edu" /tmp/j | head -n1 | cut -d: -f1)
	log "journal: limit raised at line ${raised:-none}, libvirt's attach seen at line ${attached:-none}"
	[ -n "$raised" ] && [ -n "$attached" ] || fail "missing journal lines: $(cat /tmp/j)"
	[ "$raised" -lt "$attached" ] || fail "the limit was raised after libvirt's attach"
	assert_eq $((32 * 1048576)) "$(vfiod_vm_prop "$DOM" ExpectedChargeBytes)" "expected charge"

	n=$(journal_lines)
	t=$(now)
	vfioctl vm remove-device "$DOM" "$edu" --libvirt || fail "vfioctl vm remove-device --libvirt"
	timing "vfioctl-remove-device-libvirt" "$(elapsed "$t")"
	domain_has_no_hostdev || fail "libvirt still has the hostdev"
	vm_has_no_device "$edu" || fail "edu is still a device of the VM"
	assert_eq "" "$(pci_driver "$edu")" "edu's driver: its original (none) again"
	assert_eq "$before" "$(memlock_of "$pid")" "QEMU's limit after remove-device --libvirt"
}

testcase_mdev_through_vfioctl_libvirt() {
	[ -d /sys/class/mdev_bus/mtty ] || skip "no mtty parent"
	pid=$(qemu_pid "$DOM")
	before=$(cat /tmp/limit-before)
	vfioctl mdev create mtty mtty-1 --uuid "$MDEV" || fail "vfioctl mdev create"

	vfioctl vm add-device "$DOM" "$MDEV" --libvirt || fail "vfioctl vm add-device MDEV --libvirt"
	vm_has_device "$MDEV" || fail "the mdev is not a device of the VM"
	virsh dumpxml "$DOM" | grep -q "uuid='$MDEV'" || fail "libvirt's domain has no mdev hostdev"
	wait_until 30 sh -c "journalctl -b -u vfiod -o cat | grep -q 'libvirt attached $MDEV (alias ua-vfiod-$MDEV), added through vfiod before'"
	assert_limit_is_vfiods "$pid" "with the mdev"

	vfioctl vm remove-device "$DOM" "$MDEV" --libvirt || fail "vfioctl vm remove-device MDEV --libvirt"
	virsh dumpxml "$DOM" | grep -q "uuid='$MDEV'" && fail "libvirt still has the mdev"
	vm_has_no_device "$MDEV" || fail "the mdev is still a device of the VM"
	assert_eq "$before" "$(memlock_of "$pid")" "QEMU's limit after the mdev's removal"
	vfioctl mdev remove "$MDEV" || fail "vfioctl mdev remove"
}

testcase_failed_libvirt_attach_leaves_nothing() {
	edu=$(lab_device edu)
	# a VM of vfiod whose libvirt domain is defined but not running: libvirt refuses the live attach
	hotplug_domain_xml "$OFF" >/tmp/off.xml
	virsh define /tmp/off.xml || fail "virsh define $OFF"
	sleep 600 &
	vmm=$!
	vfioctl vm register "$OFF" --pid "$vmm" --memory 32M --backend type1 --vmm-opens-groups ||
		fail "vfioctl vm register"
	limit=$(memlock_of "$vmm")
	assert_eq "" "$(pci_driver "$edu")" "edu's driver before"

	rc=0
	vfioctl vm add-device "$OFF" "$edu" --libvirt >/tmp/out 2>/tmp/err || rc=$?
	log "add-device --libvirt to a stopped domain: rc $rc: $(cat /tmp/err)"
	assert_eq 1 "$rc" "exit status"
	assert_eq 1 "$(wc -l </tmp/err)" "one line on stderr"
	assert_contains "$(cat /tmp/err)" "libvirt could not attach $edu to domain $OFF" "message"
	assert_contains "$(cat /tmp/err)" "vfiod gave the device back" "message"
	[ ! -s /tmp/out ] || fail "stdout: $(cat /tmp/out)"
	assert_eq "" "$(vfiod_vm_prop "$OFF" Devices | sed 's/^0$//')" "the VM's devices"
	assert_eq "" "$(pci_driver "$edu")" "edu's driver after the failed attach"
	assert_eq "$limit" "$(memlock_of "$vmm")" "the VMM's limit after the failed attach"

	vfioctl vm release "$OFF" || fail "vfioctl vm release"
	kill "$vmm"
	virsh undefine "$OFF" || fail "virsh undefine"
}

testcase_libvirtd_restart_reconnects() {
	edu=$(lab_device edu)
	connected=$(vfiod_journal | grep -c 'Connected to libvirt at')
	t=$(now)
	systemctl restart libvirtd || fail "systemctl restart libvirtd"
	wait_until 120 sh -c "[ \$(journalctl -b -u vfiod -o cat | grep -c 'Connected to libvirt at') -gt $connected ]"
	timing "libvirtd-restart-to-vfiod-reconnected" "$(elapsed "$t")"
	vfiod_journal | grep -q "Lost the connection to libvirt" || fail "vfiod did not notice the restart"
	systemctl is-active -q vfiod || fail "vfiod died with libvirtd's restart"

	# the new connection carries the events: a virsh attach is followed again
	[ "$(virsh domstate "$DOM")" = running ] || skip "the domain did not survive libvirtd's restart"
	bind_vfio "$edu"
	pci_hostdev_xml "$edu" >/tmp/edu.xml
	virsh attach-device "$DOM" /tmp/edu.xml --live || fail "virsh attach-device"
	wait_until 60 vm_has_device "$edu"
	virsh detach-device "$DOM" /tmp/edu.xml --live || fail "virsh detach-device"
	wait_until 60 vm_has_no_device "$edu"
	unbind_vfio "$edu"
}

testcase_vfiod_restart_catches_up_with_libvirt() {
	edu=$(lab_device edu)
	[ "$(virsh domstate "$DOM")" = running ] || skip "the domain is not running"
	pid=$(qemu_pid "$DOM")
	bind_vfio "$edu"
	pci_hostdev_xml "$edu" >/tmp/edu.xml
	systemctl stop vfiod || fail "systemctl stop vfiod"
	# attached while vfiod is away: no event will ever tell it
	virsh attach-device "$DOM" /tmp/edu.xml --live || fail "virsh attach-device"
	n=$(journal_lines)
	systemctl start vfiod || fail "systemctl start vfiod"
	wait_until 60 sh -c "journalctl -b -u vfiod -o cat | tail -n +$((n + 1)) | grep -q 'Connected to libvirt at'"
	# the catch-up runs a few seconds after the connect (libvirt-events.c: CATCH_UP_DELAY_SEC)
	wait_until 120 sh -c "journalctl -b -u vfiod -o cat | tail -n +$((n + 1)) | grep -q \"VM $DOM: libvirt's domain has $edu (alias hostdev0), attached while vfiod was not following libvirt\""
	vm_has_device "$edu" || fail "edu is not a device of the VM after vfiod's restart"
	assert_limit_is_vfiods "$pid" "after vfiod's restart"
	virsh detach-device "$DOM" /tmp/edu.xml --live || fail "virsh detach-device"
	wait_until 60 vm_has_no_device "$edu"
	unbind_vfio "$edu"
}

testcase_destroy_releases_the_vm() {
	[ "$(virsh domstate "$DOM" 2>/dev/null)" = running ] || skip "the domain is not running"
	virsh destroy "$DOM" || fail "virsh destroy"
	# the lifecycle event adds nothing: QEMU's pidfd exit (or the hook) releases the VM
	wait_until 60 sh -c "! vfioctl vm list --json | jq -r '.[].name' | grep -qx '$DOM'"
	# the hook may release it first (it knows the domain's UUID): either way, gone
	vfiod_journal | grep "VM $DOM" | tail -n 5
	# for the record: what vfiod said about libvirt during the case
	vfiod_journal | grep -E "libvirt|RLIMIT_MEMLOCK" | sed 's/^/  vfiod: /'
	virsh undefine "$DOM" || fail "virsh undefine"
}
