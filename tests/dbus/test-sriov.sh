#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# SR-IOV VF counts (daemon/sriov.h) through the real vfiod and vfioctl on
# the fixture host, whose 0000:02:00.0 is an igb PF (sriov_totalvfs 7,
# sriov_numvfs 2; VFs 0000:02:10.0 on vfio-pci, here unbound but where a
# case puts it back, and 0000:02:10.2 on igbvf).
# The fixture does not imitate the kernel: sriov_numvfs and
# sriov_drivers_autoprobe hold the last value written, and no VF comes or
# goes. The same on a real kernel, with igb VFs:
# tests/vm/cases/vm-sriov-lifecycle.sh.
. "$(dirname "$0")/lib.sh"

UUID1=5b2c2f8e-6a0e-4c57-9d51-0d1c7e0a0021
PF=0000:02:00.0
S=
DEV=$ROOT/sys/bus/pci/devices

# the fixture's VF 0000:02:10.0 on vfio-pci (as the fixture has it), or unbound
vf_on_vfio() {
	ln -sfn ../../../../bus/pci/drivers/vfio-pci "$DEV/0000:02:10.0/driver"
}

vf_unbound() {
	rm -f "$DEV/0000:02:10.0/driver"
}

pf_state() {
	echo "$(cat "$DEV/$PF/sriov_numvfs") $(cat "$DEV/$PF/sriov_drivers_autoprobe")"
}

set_journals_the_original_and_restore_gives_it_back() {
	vfioctl sriov set "$PF" --num-vfs 3
	assert_vfioctl_ok
	assert_eq "3 0" "$(pf_state)" "the PF after sriov set"
	vfioctl --json show "$PF"
	assert_eq "3 false" "$(jq -r '.device | "\(.sriov_numvfs) \(.sriov_drivers_autoprobe)"' "$OUT")" \
		"the inventory's record of the PF"
	assert_eq "set bus 3 2 true" \
		"$(jq -r '"\(.state) \(.source) \(.num_vfs) \(.original.num_vfs) \(.original.drivers_autoprobe)"' "$S/$PF.json")" \
		"the journal"
	# a second change keeps the host's original
	vfioctl sriov set "$PF" --num-vfs 5
	assert_vfioctl_ok
	assert_eq "5 2" "$(jq -r '"\(.num_vfs) \(.original.num_vfs)"' "$S/$PF.json")" "the journal after a second change"
	vfioctl sriov set "$PF" --restore
	assert_vfioctl_ok
	assert_eq "2 1" "$(pf_state)" "the PF after --restore"
	[ ! -e "$S/$PF.json" ] || fail "the journal outlived the restore"
	vfioctl --json show "$PF"
	assert_eq "2 true" "$(jq -r '.device | "\(.sriov_numvfs) \(.sriov_drivers_autoprobe)"' "$OUT")" \
		"the inventory's record of the restored PF"
	vfioctl sriov set "$PF" --restore
	assert_one_line_error 1 "(org.vfiod1.Error.NotBound)"
}

owned_vfs_block_the_count() {
	# vfiod's own (autoprobe off), so that --restore has something to give back
	vfioctl sriov set "$PF" --num-vfs 2
	assert_vfioctl_ok
	# the fixture cannot move a driver: a claim succeeds on a function on vfio-pci already
	vf_on_vfio
	# a binding holds 0000:02:10.0 (already on vfio-pci in the fixture)
	vfioctl bind 0000:02:10.0
	assert_vfioctl_ok
	vfioctl sriov set "$PF" --num-vfs 4
	assert_one_line_error 1 "(org.vfiod1.Error.VFsInUse)"
	grep -q "its VF 0000:02:10.0 is held by vfiod's binding of 0000:02:10.0" "$ERR" ||
		fail "the binding is not named: $(cat "$ERR")"
	vfioctl unbind 0000:02:10.0
	assert_vfioctl_ok
	echo '(null)' >"$DEV/0000:02:10.0/driver_override"

	# a VM holds it
	make_group_node 6
	spawn_vmm 4242
	vfioctl vm register vf-owner --uuid "$UUID1" --pid "$VMM" --backend type1 --vmm-opens-groups --memory 64M
	assert_vfioctl_ok
	vfioctl vm add-device vf-owner 0000:02:10.0
	assert_vfioctl_ok
	path=$(vm_path vf-owner)
	for args in "--num-vfs 4" "--num-vfs 0" "--restore"; do
		# shellcheck disable=SC2086 # two words
		vfioctl sriov set "$PF" $args
		assert_one_line_error 1 "(org.vfiod1.Error.VFsInUse)"
		grep -q "its VF 0000:02:10.0 is owned by VM vf-owner ($path)" "$ERR" ||
			fail "'$args': the VM is not named: $(cat "$ERR")"
	done
	assert_eq "2 0" "$(pf_state)" "the PF after the refusals"
	vfioctl vm release vf-owner
	assert_vfioctl_ok
	kill "$VMM"
	echo '(null)' >"$DEV/0000:02:10.0/driver_override"

	# on vfio-pci without vfiod (bound by hand): it may be open, and
	# removing it would wait for that in the kernel
	vfioctl sriov set "$PF" --restore
	assert_one_line_error 1 "(org.vfiod1.Error.DeviceBusy)"
	grep -q "0000:02:10.0: the VF is on vfio-pci outside vfiod" "$ERR" || fail "the VF is not named: $(cat "$ERR")"
	vf_unbound
	vfioctl sriov set "$PF" --restore
	assert_vfioctl_ok
	assert_eq "2 1" "$(pf_state)" "the PF once the VM is gone and restored"
}

hostile_input_is_refused() {
	vfioctl sriov set "$PF" --num-vfs 8
	assert_one_line_error 1 "(org.freedesktop.DBus.Error.InvalidArgs)"
	grep -q "8 VFs asked for, the PF supports at most 7" "$ERR" || fail "no limit named: $(cat "$ERR")"
	busctl --address="$BUS" call org.vfiod1 /org/vfiod1 org.vfiod1.Manager SetSriovNumVFs su "$PF" 4294967295 \
		>"$OUT" 2>"$ERR" && fail "4294967295 VFs accepted"
	busctl --address="$BUS" call org.vfiod1 /org/vfiod1 org.vfiod1.Manager SetSriovNumVFs su 02:00.0 1 \
		>"$OUT" 2>"$ERR" && fail "a short address accepted"
	grep -q "Invalid PCI address" "$ERR" || fail "the address refusal: $(cat "$ERR")"
	vfioctl sriov set 0000:02:10.2 --num-vfs 1
	assert_one_line_error 1 "(org.vfiod1.Error.NotSupported)"
	vfioctl sriov set 0000:03:00.0 --num-vfs 1
	assert_one_line_error 1 "(org.vfiod1.Error.NotSupported)"
	vfioctl sriov set 0000:09:00.0 --num-vfs 1
	assert_one_line_error 1 "(org.vfiod1.Error.NoSuchDevice)"
	vfioctl sriov set "$PF" --num-vfs 1x
	assert_eq 2 "$RC" "vfioctl's exit for --num-vfs 1x"
	assert_eq "2 1" "$(pf_state)" "the PF after every refusal"
	[ ! -e "$S/$PF.json" ] || fail "a refusal left a journal"
}

a_crash_mid_change_is_undone_at_start() {
	restart_vfiod_crashing sriov-planned
	vfioctl sriov set "$PF" --num-vfs 4
	[ "$RC" -ne 0 ] || fail "the change answered although vfiod crashed"
	wait_crashed sriov-planned
	assert_eq changing "$(jq -r .state "$S/$PF.json")" "the journal at the crash"
	echo 4 >"$DEV/$PF/sriov_numvfs"
	echo 0 >"$DEV/$PF/sriov_drivers_autoprobe"
	start_vfiod
	grep -q "$PF: the VF count change under way at vfiod's exit was undone" "$T/vfiod.log" ||
		fail "no undo logged"
	assert_eq "2 1" "$(pf_state)" "the PF after the recovery"
	[ ! -e "$S/$PF.json" ] || fail "the journal outlived the recovery"
}

hostile_journals_are_set_aside() {
	stop_current_vfiod
	mkdir -p "$S"
	# named after another device; an original above any PF; not canonical
	printf '{"version":1,"device":"0000:02:00.0","state":"changing","source":"bus","num_vfs":1,"original":{"num_vfs":0,"drivers_autoprobe":true}}' \
		>"$S/0000:03:00.0.json"
	printf '{"version":1,"device":"0000:02:00.0","state":"changing","source":"bus","num_vfs":1,"original":{"num_vfs":70000,"drivers_autoprobe":true}}' \
		>"$S/0000:02:00.0.json"
	: >"$DEV/$PF/sriov_numvfs.written"
	start_vfiod
	for f in 0000:03:00.0 0000:02:00.0; do
		[ -e "$S/$f.json.corrupt" ] || fail "$f.json was not set aside"
		grep -q "SR-IOV journal .*/$f.json is unreadable" "$T/vfiod.log" || fail "$f.json not reported"
	done
	assert_eq "2 1" "$(pf_state)" "nothing written from a hostile journal"
	rm -f "$S"/*.corrupt "$DEV/$PF/sriov_numvfs.written"
}

config_sets_and_drops_a_count() {
	mkdir -p "$ROOT/etc/vfiod"
	printf '{"sriov": [{"device": "%s", "num_vfs": 6}]}\n' "$PF" >"$ROOT/etc/vfiod/vfiod.json"
	vfioctl config apply
	assert_eq "6 0" "$(pf_state)" "the PF once vfiod.json is applied"
	assert_eq config "$(jq -r .source "$S/$PF.json")" "the journal's source"
	printf '{}\n' >"$ROOT/etc/vfiod/vfiod.json"
	vfioctl config apply
	assert_eq "2 1" "$(pf_state)" "the PF dropped from vfiod.json"
	[ ! -e "$S/$PF.json" ] || fail "the journal outlived the drop"
	rm "$ROOT/etc/vfiod/vfiod.json"
}

# The host's "/" on a VF (an NVMe VF's namespace, a VF's iSCSI NIC):
# a count change removes every VF, and the host's root file system with
# it. Refused, as a claim of that function is (lib/host-root.h), by the
# bus, by --restore, and by vfiod.json; the fixture's block device is the
# running system's "/" (its st_dev), placed below VF 0000:02:10.2.
a_vf_carrying_the_host_root_blocks_the_count() {
	dev=$(stat -c '%Hd:%Ld' /)
	case $dev in
	0:*) echo "# '/' is on no block device here ($dev): nothing to place below a VF"; return 0 ;;
	esac
	mkdir -p "$ROOT/sys/dev/block"
	ln -sfn "../../devices/pci0000:00/0000:00:1c.0/0000:02:10.2/nvme/nvme0/nvme0n1" "$ROOT/sys/dev/block/$dev"
	vfioctl sriov set "$PF" --num-vfs 3
	assert_one_line_error 1 "(org.vfiod1.Error.DeviceBusy)"
	grep -q "0000:02:10.2: .*host's root file system" "$ERR" || fail "the VF is not named: $(cat "$ERR")"
	assert_eq "2 1" "$(pf_state)" "the PF after the refusal"
	[ ! -e "$S/$PF.json" ] || fail "a refusal left a journal"
	mkdir -p "$ROOT/etc/vfiod"
	printf '{"sriov": [{"device": "%s", "num_vfs": 0}]}\n' "$PF" >"$ROOT/etc/vfiod/vfiod.json"
	vfioctl config apply
	assert_eq "2 1" "$(pf_state)" "the PF after vfiod.json asked for 0 VFs"
	rm "$ROOT/etc/vfiod/vfiod.json" "$ROOT/sys/dev/block/$dev"
	vfioctl config apply
}

trap 'cleanup_vmms; current_vfiod_or_none; cleanup' EXIT
make_fixture
S=$ROOT/run/vfiod/sriov
echo 1 >"$DEV/$PF/sriov_drivers_autoprobe"
vf_unbound
start_bus
start_vfiod

check "sriov set journals the original; --restore gives it back" set_journals_the_original_and_restore_gives_it_back
check "a VF held by a binding or a VM blocks count changes, naming the owner" owned_vfs_block_the_count
check "hostile input changes nothing" hostile_input_is_refused
check "a crash mid-change is undone at the next start" a_crash_mid_change_is_undone_at_start
check "hostile SR-IOV journals are set aside; nothing is written" hostile_journals_are_set_aside
check "vfiod.json's sriov sets a count; dropping it restores the PF" config_sets_and_drops_a_count
check "a VF carrying the host's root file system blocks count changes" a_vf_carrying_the_host_root_blocks_the_count

done_testing
