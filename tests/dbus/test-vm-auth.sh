#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Authorization of the methods that change the host, on a system-like bus
# with systemd/org.vfiod1.conf and no polkit: an unprivileged caller is
# denied (fail closed) and changes nothing, root is allowed, and a VM's
# descriptors go to its VMM or root only (NotVMM for anyone else).
. "$(dirname "$0")/lib.sh"

POLICY=$SOURCE_ROOT/systemd/org.vfiod1.conf
UUID1=5b2c2f8e-6a0e-4c57-9d51-0d1c7e0a0011
VMM=

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null 2>&1 || ! id nobody >/dev/null 2>&1; then
	echo "1..0 # SKIP needs root, setpriv and the user nobody"
	exit 0
fi

assert_denied() {
	[ "$RC" -ne 0 ] || fail "$1: allowed: $(cat "$OUT")"
	grep -q "AccessDenied" "$ERR" || fail "$1: not AccessDenied: $(cat "$ERR")"
}

assert_no_vms() {
	vfioctl --json vm list
	assert_vfioctl_ok
	assert_eq 0 "$(jq length "$OUT")" "VMs registered"
}

unprivileged_register_fails_closed_without_polkit() {
	# its own process as VMM: allowed only by polkit, which is not on this bus
	as_nobody sh -c 'exec "$0" --bus-address="$1" vm register mine --pid $$ --backend type1 --vmm-opens-groups' \
		"$VFIOCTL" "$BUS"
	assert_denied "RegisterVM by nobody"
	grep -q "polkit is not available" "$ERR" || fail "reason: $(cat "$ERR")"
	assert_no_vms
}

unprivileged_caller_cannot_name_others_or_pids() {
	sleep 600 &
	root_proc=$!
	as_nobody "$VFIOCTL" --bus-address="$BUS" vm register theirs --pid "$root_proc" --backend type1 --vmm-opens-groups
	kill "$root_proc"
	assert_denied "RegisterVM of root's process by nobody"
	grep -q "runs as uid 0, not as the caller" "$ERR" || fail "reason: $(cat "$ERR")"
	# busctl prints only a generic text for AccessDenied; its debug log shows the reply
	as_nobody env SYSTEMD_LOG_LEVEL=debug busctl --address="$BUS" -- call org.vfiod1 /org/vfiod1 \
		org.vfiod1.Manager RegisterVMWithPid 'ssutbsa{sv}' bypid "$UUID1" 1 1048576 false type1 0
	[ "$RC" -ne 0 ] || fail "RegisterVMWithPid by nobody was allowed"
	grep -q "error-name=org.freedesktop.DBus.Error.AccessDenied error-message=Only root may name the VMM by pid" "$ERR" ||
		fail "reason: $(grep error-name "$ERR")"
	assert_no_vms
}

unprivileged_host_changes_are_denied() {
	before=$(cd "$ROOT/sys/bus/pci/devices" && for d in *; do echo "$d $(link_name $d/driver) $(cat $d/driver_override)"; done)
	as_nobody "$VFIOCTL" --bus-address="$BUS" bind 0000:01:00.1
	assert_denied "Bind by nobody"
	as_nobody "$VFIOCTL" --bus-address="$BUS" unbind 0000:01:00.1
	assert_denied "Unbind by nobody"
	as_nobody "$VFIOCTL" --bus-address="$BUS" sriov set 0000:02:00.0 --num-vfs 1
	assert_denied "SetSriovNumVFs by nobody"
	as_nobody "$VFIOCTL" --bus-address="$BUS" sriov set 0000:02:00.0 --restore
	assert_denied "RestoreSriov by nobody"
	as_nobody "$VFIOCTL" --bus-address="$BUS" mdev create mtty mtty-2
	assert_denied "CreateMdev by nobody"
	mdev=$(ls "$ROOT/sys/bus/mdev/devices" | head -n1)
	as_nobody "$VFIOCTL" --bus-address="$BUS" mdev remove "$mdev"
	assert_denied "RemoveMdev by nobody"
	after=$(cd "$ROOT/sys/bus/pci/devices" && for d in *; do echo "$d $(link_name $d/driver) $(cat $d/driver_override)"; done)
	assert_eq "$before" "$after" "drivers and overrides"
	[ -d "$ROOT/sys/bus/mdev/devices/$mdev" ] || fail "the mdev is gone"
}

a_vm_is_changed_by_root_and_its_vmm_only() {
	sleep 600 &
	VMM=$!
	vfioctl vm register rootvm --uuid "$UUID1" --pid "$VMM" --backend type1 --vmm-opens-groups
	assert_vfioctl_ok
	path=$(cat "$OUT")
	as_nobody "$VFIOCTL" --bus-address="$BUS" vm add-device rootvm 0000:01:00.0
	assert_denied "AddDevice by nobody"
	as_nobody "$VFIOCTL" --bus-address="$BUS" vm release rootvm
	assert_denied "Release by nobody"
	# descriptors: the VMM's or root's, never a third process's
	as_nobody dbus-send --bus="$BUS" --print-reply --dest=org.vfiod1 "$path" org.vfiod1.VM.GetFds
	[ "$RC" -ne 0 ] || fail "GetFds by nobody succeeded"
	grep -q "org.vfiod1.Error.NotVMM" "$ERR" || fail "GetFds by nobody: $(cat "$ERR")"
	# nobody could read, and nothing changed
	as_nobody "$VFIOCTL" --bus-address="$BUS" --json vm list
	[ "$RC" -eq 0 ] || fail "vm list by nobody: $(cat "$ERR")"
	assert_eq "rootvm registered 0" "$(jq -r '.[] | "\(.name) \(.state) \(.devices | length)"' "$OUT")" "the VM"
	vfioctl vm release rootvm
	assert_vfioctl_ok
	kill "$VMM"
}

# The iommufd broker starts a libvirt domain on vfiod's own libvirt
# connection, with libvirt's rights of root: root only, whatever polkit
# would say. The refusal is vfiod's own (its sentence), before polkit is
# asked: with the root check removed, polkit's absence would refuse with
# another reason and this check fails.
unprivileged_libvirt_start_is_root_only() {
	as_nobody "$VFIOCTL" --bus-address="$BUS" vm start somedomain --libvirt
	assert_denied "StartLibvirtDomain by nobody"
	grep -q "Only root may start a libvirt domain through vfiod" "$ERR" || fail "reason: $(cat "$ERR")"
	assert_no_vms
}

make_fixture
chmod 755 "$T"
as_nobody test -x "$VFIOCTL"
[ "$RC" -eq 0 ] || { echo "1..0 # SKIP nobody cannot run $VFIOCTL (a private build directory)"; exit 0; }
as_nobody test -r "$T/root"
[ "$RC" -eq 0 ] || { echo "1..0 # SKIP nobody cannot reach $T (a private TMPDIR)"; exit 0; }
command -v busctl >/dev/null 2>&1 || { echo "1..0 # SKIP busctl is not installed"; exit 0; }
start_policy_bus "$POLICY"
start_vfiod

check "an unprivileged RegisterVM is denied without polkit (fail closed)" unprivileged_register_fails_closed_without_polkit
check "an unprivileged caller cannot register another user's process or a plain pid" unprivileged_caller_cannot_name_others_or_pids
check "unprivileged Bind, Unbind, CreateMdev, RemoveMdev are denied and change nothing" unprivileged_host_changes_are_denied
check "a VM is changed by root only; its descriptors go to nobody else" a_vm_is_changed_by_root_and_its_vmm_only
check "StartLibvirtDomain (the iommufd broker) is root's only, polkit or not" unprivileged_libvirt_start_is_root_only

done_testing
