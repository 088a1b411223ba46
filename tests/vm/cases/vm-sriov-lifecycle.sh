# vfiod-kernels: distro
# vfiod-l0: qemu10
# vfiod-devices: igb
# SR-IOV (issue 15 items 1-2) on an igb PF (82576) that QEMU 10 emulates,
# with Debian's igb and igbvf. The lab (tests/vm/README.md, "SR-IOV"):
# the PF and each VF have IOMMU groups of their own. Then the VF lifecycle
# through the real vfiod, dbus-daemon and vfioctl (daemon/sriov.h):
#   - vfioctl sriov set PF --num-vfs 3: the VFs appear with no driver,
#     though igbvf is loaded (autoprobe off), and igbvf logs nothing;
#   - two VMs each get a VF, opened by the reference VMM through type1;
#   - a count change (and a restore) is refused while they are owned,
#     naming the VM and its object path;
#   - release gives the VFs back unbound, --restore brings the PF back to
#     its original count with autoprobe on;
#   - hostile input is refused with nothing changed, and so is a change
#     while a VF is on vfio-pci outside vfiod; a failed write midway and
#     a vfiod crash mid-change leave the PF as it was;
#   - vfiod.json's "sriov" and a binding of one VF are applied at start.

. /opt/vfiod/tests/vmm/vmm-lib.sh
. /opt/vfiod/tests/vm/lib/vm-ownership-lib.sh

JOURNAL=/run/vfiod/sriov
CONFIG_DIR=/etc/vfiod
CONFIG=$CONFIG_DIR/vfiod.json

# igb_pf: BDF of the lab's igb PF (8086:10c9)
igb_pf() {
	for _d in /sys/bus/pci/devices/*; do
		if [ "$(cat "$_d/vendor"):$(cat "$_d/device")" = 0x8086:0x10c9 ]; then
			basename "$_d"
			return 0
		fi
	done
	fail "no igb PF (8086:10c9)"
}

# pf_vfs PF: the PF's VFs, by BDF, in virtfn order
pf_vfs() {
	_i=0
	while [ -L "/sys/bus/pci/devices/$1/virtfn$_i" ]; do
		basename "$(readlink "/sys/bus/pci/devices/$1/virtfn$_i")"
		_i=$((_i + 1))
	done
}

# ext_caps BDF: the PCIe extended capability IDs of BDF (hex) with their
# offsets, in chain order (0xd: ACS, 0xe: ARI, 0x10: SR-IOV)
ext_caps() {
	od -An -tx4 -v -w4 -j256 "/sys/bus/pci/devices/$1/config" | awk '
		{ w[NR - 1] = $1 }
		END {
			off = 256
			while (off >= 256 && n++ < 64) {
				h = w[(off - 256) / 4]
				v = 0
				for (i = 1; i <= 8; i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
				if (v == 0) break
				printf "%x@%x ", v % 65536, off
				off = int(v / 1048576)
			}
		}'
}

# the lab itself: VFs of a group each, apart from the PF (what
# tests/vm/README.md records), and the capabilities that explain it
testcase_vfs_have_groups_of_their_own() {
	pf=$(igb_pf)
	d=/sys/bus/pci/devices/$pf
	[ "$(cat "$d/sriov_totalvfs")" -ge 2 ] || fail "igb PF offers $(cat "$d/sriov_totalvfs") VFs"
	modprobe igb
	assert_eq igb "$(pci_driver "$pf")" "the PF's driver"
	echo 0 >"$d/sriov_drivers_autoprobe"
	echo 3 >"$d/sriov_numvfs"
	udevadm settle --timeout=30 || true
	rp=$(basename "$(dirname "$(readlink -f "$d")")")
	log "root port $rp (group $(pci_group "$rp")): ext caps $(ext_caps "$rp")"
	log "PF $pf (group $(pci_group "$pf")): ext caps $(ext_caps "$pf")"
	assert_contains "$(ext_caps "$rp")" "d@" "the root port's ACS capability"
	seen=" $(pci_group "$pf") $(pci_group "$rp") "
	n=0
	for vf in $(pf_vfs "$pf"); do
		g=$(pci_group "$vf")
		log "VF $vf: group $g ($(ls "/sys/kernel/iommu_groups/$g/devices" | tr '\n' ' ')), ext caps $(ext_caps "$vf")"
		assert_eq "$vf" "$(ls "/sys/kernel/iommu_groups/$g/devices")" "the only member of $vf's group"
		case "$seen" in
		*" $g "*) fail "VF $vf shares group $g" ;;
		esac
		seen="$seen$g "
		n=$((n + 1))
	done
	assert_eq 3 "$n" "VFs created"
	echo 0 >"$d/sriov_numvfs"
	assert_eq "" "$(pf_vfs "$pf")" "VFs left after sriov_numvfs 0"

	# the control for the lifecycle's "no VF on igbvf": with autoprobe on,
	# igbvf takes a new VF at once
	modprobe igbvf
	echo 1 >"$d/sriov_drivers_autoprobe"
	echo 1 >"$d/sriov_numvfs"
	vf=$(pf_vfs "$pf")
	wait_until 30 test "$(pci_driver "$vf")" = igbvf
	echo 0 >"$d/sriov_numvfs"
}

# the PF with igb and igbvf loaded, no VFs, autoprobe on: the host's state
# every testcase starts from and must leave
pf_ready() {
	PF=$(igb_pf)
	D=/sys/bus/pci/devices/$PF
	modprobe vfio-pci
	modprobe vfio_iommu_type1 || true
	modprobe igb
	modprobe igbvf
	wait_until 30 test -n "$(pci_driver "$PF")"
	assert_eq igb "$(pci_driver "$PF")" "the PF's driver"
	# a failed testcase before may have left VFs (each checks its own end state)
	if [ "$(pf_state)" != "0 1" ]; then
		log "resetting the PF from '$(pf_state)'"
		echo 0 >"$D/sriov_numvfs"
		echo 1 >"$D/sriov_drivers_autoprobe"
	fi
	rm -rf "$JOURNAL"
	assert_eq "0 1" "$(pf_state)" "the PF's VF count and autoprobe at the start"
}

# "numvfs autoprobe"
pf_state() {
	echo "$(cat "$D/sriov_numvfs") $(cat "$D/sriov_drivers_autoprobe")"
}

# every VF of the PF: "BDF driver override" lines
vf_snapshot() {
	for _v in $(pf_vfs "$PF"); do
		# an unset override reads "(null)"
		echo "$_v $(pci_driver "$_v") $(sed 's/^(null)$//' "/sys/bus/pci/devices/$_v/driver_override")"
	done
}

# a VM with VF $2, its VMM held in VMM_* (vmm_park moves it aside)
vm_with_vf() {
	vmm_spawn --type1 "$2" --vfiod "$1" --user vmm --memlock 64M --mem 16M
	vfioctl_ok vm register "$1" --pid "$VMM_PID" --backend type1 --viommu --memory 16M
	vfioctl_ok vm add-device "$1" "$2"
	assert_eq vfio-pci "$(pci_driver "$2")" "VF $2 once $1 owns it"
	vmm_go
	vmm_step map 0x100000 1M
}

# the running VMM's descriptors to 5/6 (7/8 are vmm-lib's), so a second can start
vmm_park() {
	PARKED_DIR=$VMM_DIR PARKED_PID=$VMM_PID
	exec 5>&7 6<&8 7>&- 8<&-
}

vmm_unpark() {
	VMM_DIR=$PARKED_DIR VMM_PID=$PARKED_PID
	exec 7>&5 8<&6 5>&- 6<&-
}

testcase_lifecycle_two_vms_refusal_release_restore() {
	pf_ready
	rm -f "$CONFIG"
	start_vfiod
	kmsg_mark

	# no VFs yet, only autoprobe off: the kernel sends no uevent for it,
	# and the inventory must show it all the same
	vfioctl_ok --json show "$PF"
	assert_eq "0 true" "$(jq -r '.device | "\(.sriov_numvfs) \(.sriov_drivers_autoprobe)"' "$OUT")" \
		"the inventory's PF before"
	vfioctl_ok sriov set "$PF" --num-vfs 0
	assert_eq "0 0" "$(pf_state)" "the PF after sriov set --num-vfs 0"
	vfioctl_ok --json show "$PF"
	assert_eq "0 false" "$(jq -r '.device | "\(.sriov_numvfs) \(.sriov_drivers_autoprobe)"' "$OUT")" \
		"the inventory's PF after autoprobe went off"

	vfioctl_ok sriov set "$PF" --num-vfs 3
	VFS=$(pf_vfs "$PF")
	assert_eq 3 "$(echo "$VFS" | wc -w)" "VFs present"
	# igbvf is loaded: with autoprobe on it binds every VF (the lab check above)
	grep -q '^igbvf ' /proc/modules || fail "igbvf is not loaded"
	for v in $VFS; do
		assert_eq "$v  " "$(vf_snapshot | grep "^$v ")" "VF $v: no driver, no override"
	done
	! kmsg_has 'igbvf [0-9a-f:.]+:' || fail "igbvf probed a VF: $(dmesg | grep 'igbvf ' | tail -3)"
	assert_eq "3 0" "$(pf_state)" "numvfs and autoprobe after sriov set"
	assert_eq set "$(jq -r '.state' "$JOURNAL/$PF.json")" "the journal's state"
	assert_eq "0 true" "$(jq -r '"\(.original.num_vfs) \(.original.drivers_autoprobe)"' "$JOURNAL/$PF.json")" \
		"the journaled original"

	# the inventory shows the relation both ways
	vfioctl_ok --json show "$PF"
	assert_eq "3 3" "$(jq -r '.device | "\(.sriov_numvfs) \(.virtfns | length)"' "$OUT")" "the PF's record"
	# shellcheck disable=SC2086 # one address per word
	set -- $VFS
	VF0=$1 VF1=$2 VF2=$3
	vfioctl_ok --json show "$VF1"
	assert_eq "$PF" "$(jq -r '.device.physfn' "$OUT")" "VF $VF1's physfn"

	# two VMs, one VF each, opened through type1
	vm_with_vf vm-sriov-a "$VF0"
	vmm_park
	vm_with_vf vm-sriov-b "$VF1"
	assert_eq "$VF2  " "$(vf_snapshot | grep "^$VF2 ")" "the unclaimed VF stays unbound"

	# no count change, no restore, while they are owned; the owner is named
	for args in "--num-vfs 1" "--num-vfs 0" "--restore"; do
		# shellcheck disable=SC2086 # two words
		vfioctl sriov set "$PF" $args
		assert_refused org.vfiod1.Error.VFsInUse
		assert_contains "$(cat "$ERR")" "VM vm-sriov-a (/org/vfiod1/vm/" "the refusal of '$args' names the owner"
	done
	assert_eq "3 0" "$(pf_state)" "the PF after the refusals"
	assert_eq vfio-pci "$(pci_driver "$VF0")" "VF $VF0 after the refusals"
	assert_eq vfio-pci "$(pci_driver "$VF1")" "VF $VF1 after the refusals"

	# release: the VFs go back unbound, and only then may the count change
	vmm_stop
	wait_until 60 vm_is_gone vm-sriov-b
	vfioctl sriov set "$PF" --num-vfs 2
	assert_refused org.vfiod1.Error.VFsInUse
	assert_contains "$(cat "$ERR")" "VM vm-sriov-a" "the refusal once only vm-sriov-a is left"
	vmm_unpark
	vmm_stop
	wait_until 60 vm_is_gone vm-sriov-a
	for v in $VFS; do
		assert_eq "$v  " "$(vf_snapshot | grep "^$v ")" "VF $v after the release"
	done

	vfioctl_ok sriov set "$PF" --num-vfs 2
	assert_eq "2 0" "$(pf_state)" "a count change once nothing is owned"
	vfioctl_ok sriov set "$PF" --restore
	assert_eq "0 1" "$(pf_state)" "the PF after --restore"
	[ ! -e "$JOURNAL/$PF.json" ] || fail "the journal outlived the restore"
	vfioctl sriov set "$PF" --restore
	assert_refused org.vfiod1.Error.NotBound
	kmsg_assert_clean
	! kmsg_has 'igbvf [0-9a-f:.]+:' || fail "igbvf probed a VF"
	stop_vfiod
}

testcase_hostile_input_changes_nothing() {
	pf_ready
	rm -f "$CONFIG"
	start_vfiod
	EDU=$(lab_device edu)
	for n in 9 65535; do
		vfioctl sriov set "$PF" --num-vfs "$n"
		assert_refused org.freedesktop.DBus.Error.InvalidArgs
		assert_contains "$(cat "$ERR")" "at most $(cat "$D/sriov_totalvfs")" "the refusal of $n VFs"
	done
	for n in -1 2x "" 0x2 99999 " 2"; do
		vfioctl sriov set "$PF" --num-vfs "$n"
		assert_eq 2 "$RC" "vfioctl's exit for --num-vfs '$n'"
	done
	# the bus itself: a u32 above any sriov_totalvfs
	dbus-send --system --print-reply --dest=org.vfiod1 /org/vfiod1 \
		org.vfiod1.Manager.SetSriovNumVFs "string:$PF" uint32:4294967295 >"$OUT" 2>"$ERR" &&
		fail "SetSriovNumVFs took 4294967295"
	assert_contains "$(cat "$ERR")" "InvalidArgs" "the bus refusal of 4294967295"
	vfioctl sriov set "$EDU" --num-vfs 1
	assert_refused org.vfiod1.Error.NotSupported
	vfioctl sriov set 0000:7f:00.0 --num-vfs 1
	assert_refused org.vfiod1.Error.NoSuchDevice
	# a VF is no PF
	echo 0 >"$D/sriov_drivers_autoprobe"
	echo 1 >"$D/sriov_numvfs"
	VF=$(pf_vfs "$PF")
	vfioctl sriov set "$VF" --num-vfs 1
	assert_refused org.vfiod1.Error.NotSupported
	echo 0 >"$D/sriov_numvfs"
	echo 1 >"$D/sriov_drivers_autoprobe"
	# a PF bound to vfio-pci itself
	vfioctl_ok bind "$PF" --unbind-host-members
	vfioctl sriov set "$PF" --num-vfs 1
	assert_refused org.vfiod1.Error.DeviceBusy
	assert_contains "$(cat "$ERR")" "vfio-pci" "the refusal names the PF's driver"
	vfioctl_ok unbind "$PF"
	wait_until 30 test "$(pci_driver "$PF")" = igb
	assert_eq "0 1" "$(pf_state)" "the PF after every refusal"
	[ ! -e "$JOURNAL/$PF.json" ] || fail "a refused change left a journal"

	# a VF on vfio-pci by hand, outside vfiod: no count change (its
	# removal would wait in the kernel for whoever has it open)
	vfioctl_ok sriov set "$PF" --num-vfs 1
	VF=$(pf_vfs "$PF")
	bind_vfio "$VF"
	vfioctl sriov set "$PF" --restore
	assert_refused org.vfiod1.Error.DeviceBusy
	assert_contains "$(cat "$ERR")" "$VF: the VF is on vfio-pci outside vfiod" "the refusal names the VF"
	assert_eq "1 0" "$(pf_state)" "the PF after the refusal"
	unbind_vfio "$VF"
	vfioctl_ok sriov set "$PF" --restore
	assert_eq "0 1" "$(pf_state)" "the PF restored once the VF is free"
	stop_vfiod
}

testcase_failure_midway_leaves_the_pf_as_it_was() {
	pf_ready
	rm -f "$CONFIG"
	# the kernel refuses the write of the count (the fault step before it)
	start_vfiod --test-fault=sysfs-sriov-numvfs:1
	vfioctl sriov set "$PF" --num-vfs 2
	[ "$RC" -eq 1 ] || fail "the failed change answered $RC"
	assert_contains "$(cat "$ERR")" "sriov_numvfs" "the failure names the write"
	assert_eq "0 1" "$(pf_state)" "the PF after the failed change"
	assert_eq "" "$(pf_vfs "$PF")" "VFs after the failed change"
	[ ! -e "$JOURNAL/$PF.json" ] || fail "the failed change left a journal"
	stop_vfiod

	# vfiod dies right after journaling: the next one puts the PF back
	export VFIOD_TEST_CRASH=sriov-planned
	start_vfiod
	unset VFIOD_TEST_CRASH
	vfioctl sriov set "$PF" --num-vfs 2
	[ "$RC" -ne 0 ] || fail "the change answered although vfiod crashed"
	_pid=$(cat "$VFIOD_PIDFILE")
	wait_until 20 process_has_exited "$_pid"
	wait "$_pid" 2>/dev/null || :
	rm -f "$VFIOD_PIDFILE"
	assert_eq changing "$(jq -r .state "$JOURNAL/$PF.json")" "the journal at the crash"
	# as if the crash had come after the writes: VFs there, autoprobe off
	echo 0 >"$D/sriov_drivers_autoprobe"
	echo 2 >"$D/sriov_numvfs"
	start_vfiod
	vfiod_log | grep -q "$PF: the VF count change under way at vfiod's exit was undone" ||
		fail "no undo logged"
	assert_eq "0 1" "$(pf_state)" "the PF after the recovery"
	[ ! -e "$JOURNAL/$PF.json" ] || fail "the journal outlived the recovery"
	stop_vfiod
}

testcase_config_sets_counts_and_binds_one_vf() {
	pf_ready
	# the VFs' addresses: what the PF's offset and stride give
	echo 0 >"$D/sriov_drivers_autoprobe"
	echo 2 >"$D/sriov_numvfs"
	# shellcheck disable=SC2046 # one address per word
	set -- $(pf_vfs "$PF")
	VF0=$1 VF1=$2
	echo 0 >"$D/sriov_numvfs"
	echo 1 >"$D/sriov_drivers_autoprobe"

	mkdir -p "$CONFIG_DIR"
	printf '{"sriov":[{"device":"%s","num_vfs":2}],"bindings":[{"device":"%s"}]}\n' "$PF" "$VF1" >"$CONFIG"
	start_vfiod
	assert_eq "2 0" "$(pf_state)" "the PF once vfiod.json is applied"
	wait_until 30 test "$(pci_driver "$VF1")" = vfio-pci
	assert_eq "$VF0  " "$(vf_snapshot | grep "^$VF0 ")" "the VF the configuration does not name"
	vfioctl sriov set "$PF" --num-vfs 1
	assert_refused org.vfiod1.Error.VFsInUse
	assert_contains "$(cat "$ERR")" "binding of $VF1" "the refusal names the binding"

	# dropped from the file: the binding stays until unbind, then the PF goes back
	printf '{}\n' >"$CONFIG"
	vfioctl config apply || true
	assert_eq "2 0" "$(pf_state)" "the PF while its VF is still bound"
	vfioctl_ok unbind "$VF1"
	vfioctl config apply || true
	assert_eq "0 1" "$(pf_state)" "the PF once dropped from vfiod.json and its VF free"
	[ ! -e "$JOURNAL/$PF.json" ] || fail "the journal outlived the restore"
	stop_vfiod
	rm -f "$CONFIG"
}
