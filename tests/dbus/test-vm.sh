#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# VM objects on the fixture host, driven as root: the org.vfiod1.VM
# contract, RegisterVM's argument checks, the refusals that need no kernel
# reaction, ownership between VMs, release, and the VMM's exit noticed
# through its pidfd. The fixture has no /dev/vfio: VMs here use type1 with
# vmm_opens_groups, and the tests create the group nodes vfiod hands to
# the VMM's uid (the real binding is proven in the vm suite).
. "$(dirname "$0")/lib.sh"

command -v busctl >/dev/null 2>&1 || { echo "1..0 # SKIP busctl is not installed"; exit 0; }
: "${XML_CANON:?XML_CANON must name the xml-canon helper}"

DOC=$SOURCE_ROOT/docs/org.vfiod1.VM.xml
M=org.vfiod1.Manager
UUID1=5b2c2f8e-6a0e-4c57-9d51-0d1c7e0a0001
UUID2=5b2c2f8e-6a0e-4c57-9d51-0d1c7e0a0002

# register NAME UUID [ARGS]: a type1 VM whose VMM opens its groups itself
register() {
	spawn_vmm
	vfioctl vm register "$1" --uuid "$2" --pid "$VMM" --backend type1 --vmm-opens-groups --memory 64M
}

introspection_equals_the_documented_contract() {
	register contract "$UUID1"
	assert_vfioctl_ok
	bus_call org.vfiod1 "$(cat "$OUT")" org.freedesktop.DBus.Introspectable.Introspect
	assert_eq 0 "$RC" "Introspect: $(cat "$ERR")"
	cp "$OUT" "$T/live-vm.xml"
	"$XML_CANON" "$T/live-vm.xml" org.vfiod1.VM >"$T/live-vm.canon" || fail "no org.vfiod1.VM live"
	"$XML_CANON" "$DOC" org.vfiod1.VM >"$T/doc-vm.canon" || fail "$DOC has no org.vfiod1.VM"
	diff -u "$T/doc-vm.canon" "$T/live-vm.canon" || fail "live introspection differs from $DOC"
	vfioctl vm release contract
	assert_vfioctl_ok
	assert_eq released "$(cat "$OUT")" "Release of a VM without devices"
}

register_validates_its_arguments() {
	spawn_vmm
	for c in "bad name|-x|Invalid VM name" \
		"name with a slash|a/b|Invalid VM name" \
		"long name|$(printf 'a%.0s' $(seq 65))|Invalid VM name"; do
		desc=${c%%|*}; rest=${c#*|}; arg=${rest%%|*}; text=${rest#*|}
		register_raw "$arg" "$UUID1" "$VMM" 1048576 type1
		grep -q "$text" "$ERR" || fail "$desc: $(cat "$ERR")"
	done
	register_raw ok not-a-uuid "$VMM" 1048576 type1
	grep -q "Invalid UUID" "$ERR" || fail "bad uuid: $(cat "$ERR")"
	register_raw ok "$UUID1" "$VMM" 1048576 kvm
	grep -q "Invalid backend 'kvm'" "$ERR" || fail "bad backend: $(cat "$ERR")"
	register_raw ok "$UUID1" "$VMM" 0 type1
	grep -q "Invalid memory size 0" "$ERR" || fail "memory 0: $(cat "$ERR")"
	# an exited VMM: a pid that is gone
	sh -c 'exit 0' &
	dead=$!
	wait "$dead"
	register_raw ok "$UUID1" "$dead" 1048576 type1
	grep -q "The VMM process has exited\|not a pidfd of a live process" "$ERR" || fail "dead VMM: $(cat "$ERR")"
	# the backends this host lacks (the fixture has no /dev/vfio/vfio, no /dev/iommu)
	register_raw ok "$UUID1" "$VMM" 1048576 type1
	grep -q "The type1 backend is not available" "$ERR" || fail "no container: $(cat "$ERR")"
	register_raw ok "$UUID1" "$VMM" 1048576 iommufd
	grep -q "The iommufd backend is not available" "$ERR" || fail "no iommufd: $(cat "$ERR")"
	vfioctl vm register ok --uuid "$UUID1" --pid "$VMM" --backend iommufd
	assert_one_line_error 1 "(org.vfiod1.Error.BackendUnavailable)"
	# nothing of the above registered anything
	vfioctl --json vm list
	assert_vfioctl_ok
	assert_eq 0 "$(jq length "$OUT")" "VMs after refused registrations"
	# options: unknown keys and vmm_opens_groups without type1 are refused (vfioctl sends a{sv})
	vfioctl vm register opt --uuid "$UUID1" --pid "$VMM" --backend iommufd --vmm-opens-groups
	assert_one_line_error 1 "vmm_opens_groups needs the type1 backend"
}

# register_raw NAME UUID PID MEMORY BACKEND: RegisterVMWithPid with viommu
# false and no options (busctl: dbus-send cannot write a{sv}); busctl
# prints the error's message, not its name: the messages are vfiod's own
register_raw() {
	RC=0
	busctl --address="$BUS" -- call org.vfiod1 /org/vfiod1 "$M" RegisterVMWithPid \
		'ssutbsa{sv}' "$1" "$2" "$3" "$4" false "$5" 0 >"$OUT" 2>"$ERR" || RC=$?
	[ "$RC" -ne 0 ] || fail "RegisterVMWithPid $* was accepted"
}

names_and_uuids_are_unique() {
	register dup "$UUID1"
	assert_vfioctl_ok
	register dup "$UUID2"
	assert_one_line_error 1 "(org.vfiod1.Error.VMExists)"
	register dup2 "$UUID1"
	assert_one_line_error 1 "(org.vfiod1.Error.VMExists)"
	vfioctl vm release dup
	assert_vfioctl_ok
}

claims_are_refused_before_anything_changes() {
	register refuse "$UUID1"
	assert_vfioctl_ok
	before=$(cd "$ROOT/sys/bus/pci/devices" && for d in *; do echo "$d $(link_name $d/driver) $(cat $d/driver_override)"; done)
	vfioctl vm add-device refuse 0000:00:1c.0
	assert_one_line_error 1 "(org.vfiod1.Error.NotEndpoint)"
	vfioctl vm add-device refuse 0000:00:09.0
	assert_one_line_error 1 "(org.vfiod1.Error.NoSuchDevice)"
	# group 8 holds e1000e at 03:00.0, a host driver nobody named
	vfioctl vm add-device refuse 0000:03:01.0
	assert_one_line_error 1 "(org.vfiod1.Error.DeviceBusy)"
	vfioctl vm add-device refuse 0000:00:1F.4x
	assert_one_line_error 2 "invalid DEVICE"
	after=$(cd "$ROOT/sys/bus/pci/devices" && for d in *; do echo "$d $(link_name $d/driver) $(cat $d/driver_override)"; done)
	assert_eq "$before" "$after" "drivers and overrides after the refusals"
	vfioctl --json vm show refuse
	assert_vfioctl_ok
	assert_eq "registered 0" "$(jq -r '"\(.state) \(.devices | length)"' "$OUT")" "state and devices after the refusals"
	vfioctl vm release refuse
	assert_vfioctl_ok
}

ownership_between_vms() {
	make_group_node 2
	make_group_node 11
	mdev=$(ls "$ROOT/sys/bus/mdev/devices" | head -n1)
	register owner "$UUID1"
	assert_vfioctl_ok
	vmm_owner=$VMM
	register other "$UUID2"
	assert_vfioctl_ok

	vfioctl vm add-device owner 0000:01:00.0
	assert_vfioctl_ok
	# the VMM's uid now owns the group node
	assert_eq "$(stat -c %u /proc/$vmm_owner)" "$(stat -c %u "$ROOT/dev/vfio/2")" "owner of /dev/vfio/2"
	vfioctl vm add-device owner 0000:01:00.0
	assert_one_line_error 1 "(org.vfiod1.Error.AlreadyInVM)"
	# 01:00.1 shares group 2 with the other VM's device
	vfioctl vm add-device other 0000:01:00.1
	assert_one_line_error 1 "(org.vfiod1.Error.OwnedByOtherVM)"
	vfioctl bind 0000:01:00.1
	assert_one_line_error 1 "(org.vfiod1.Error.OwnedByOtherVM)"

	vfioctl vm add-device owner "$mdev"
	assert_vfioctl_ok
	vfioctl vm add-device other "$mdev"
	assert_one_line_error 1 "(org.vfiod1.Error.MdevClaimed)"
	vfioctl mdev remove "$mdev"
	assert_one_line_error 1 "(org.vfiod1.Error.MdevClaimed)"

	vfioctl --json vm show owner
	assert_vfioctl_ok
	assert_eq "0000:01:00.0 pci false|$mdev mdev false" \
		"$(jq -r '[.devices[] | "\(.name) \(.bus) \(.created)"] | join("|")' "$OUT")" "devices of owner"
	vfioctl vm list
	assert_vfioctl_ok
	grep -q "^owner .*0000:01:00.0,$mdev" "$OUT" || fail "vm list: $(cat "$OUT")"

	# before GetFds a device can be given back; the other VM may take it then
	vfioctl vm remove-device owner 0000:01:00.0
	assert_vfioctl_ok
	vfioctl vm add-device other 0000:01:00.1
	assert_vfioctl_ok
	vfioctl vm release owner
	assert_vfioctl_ok
	vfioctl vm release other
	assert_vfioctl_ok
	assert_eq 0 "$(stat -c %u "$ROOT/dev/vfio/2")" "owner of /dev/vfio/2 after release"
	assert_eq 0 "$(stat -c %u "$ROOT/dev/vfio/11")" "owner of /dev/vfio/11 after release"
}

fds_only_for_the_vmm_or_root() {
	register fds "$UUID1"
	assert_vfioctl_ok
	path=$(vm_path fds)
	# root passes the VMM check; this VM holds nothing to hand out
	bus_call org.vfiod1 "$path" org.vfiod1.VM.GetFds
	grep -q "org.vfiod1.Error.NotSupported" "$ERR" || fail "GetFds with vmm_opens_groups: $(cat "$ERR")"
	vfioctl vm release fds
	assert_vfioctl_ok
}

vmm_exit_releases_the_vm() {
	make_group_node 2
	register gone "$UUID1"
	assert_vfioctl_ok
	vfioctl vm add-device gone 0000:01:00.0
	assert_vfioctl_ok
	[ "$(stat -c %u "$ROOT/dev/vfio/2")" = "$(stat -c %u /proc/$VMM)" ] || fail "group node not given"
	# every state change is signalled
	dbus-monitor --address "$BUS" "type='signal',interface='org.vfiod1.VM',member='StateChanged'" \
		>"$T/monitor.out" 2>&1 &
	monitor=$!
	poll_until 5 grep -q NameAcquired "$T/monitor.out" || { kill "$monitor"; fail "dbus-monitor did not start"; }
	kill "$VMM"
	poll_until 5 vm_is_gone gone || { kill "$monitor"; fail "the VM outlived its VMM by 5 s"; }
	# the last signal may still be on its way; the assertion below tells
	poll_until 5 grep -q '"released"' "$T/monitor.out" || :
	kill "$monitor"
	assert_eq "releasing released" "$(sed -n 's/^ *string "\(.*\)"$/\1/p' "$T/monitor.out" | grep -v '^:' | tr '\n' ' ' | sed 's/ $//')" \
		"StateChanged signals after the VMM's exit"
	assert_eq 0 "$(stat -c %u "$ROOT/dev/vfio/2")" "group node owner after the VMM's exit"
	grep -q "VMM (pid $VMM) exited" "$T/vfiod.log" || fail "no exit in the log"
}

# PrepareVM (libvirt's prepare hook: QEMU does not exist yet) then AttachVMM
prepared_vm_gets_its_vmm_later() {
	make_group_node 2
	vfioctl vm prepare early --uuid "$UUID1" --backend type1 --vmm-opens-groups --memory 64M
	assert_vfioctl_ok
	vfioctl --json vm show early
	assert_vfioctl_ok
	assert_eq "prepared 0 none" "$(jq -r '"\(.state) \(.vmm_pid) \(.vmm_state)"' "$OUT")" "a prepared VM"
	vfioctl vm add-device early 0000:01:00.0
	assert_vfioctl_ok
	# no VMM, no uid: the group node stays root's until AttachVMM
	assert_eq 0 "$(stat -c %u "$ROOT/dev/vfio/2")" "group node owner while prepared"
	spawn_vmm
	vfioctl vm attach-vmm early --pid "$VMM"
	assert_vfioctl_ok
	vfioctl --json vm show early
	assert_eq "registered $VMM alive" "$(jq -r '"\(.state) \(.vmm_pid) \(.vmm_state)"' "$OUT")" "after AttachVMM"
	assert_eq "$(stat -c %u /proc/$VMM)" "$(stat -c %u "$ROOT/dev/vfio/2")" "group node given at AttachVMM"
	# once only
	vfioctl vm attach-vmm early --pid "$VMM"
	assert_one_line_error 1 "(org.vfiod1.Error.VMMAttached)"
	vfioctl vm attach-vmm early --pid 0
	assert_one_line_error 2 "invalid --pid"
	# the attached VMM's exit releases it like a registered one
	kill "$VMM"
	poll_until 5 vm_is_gone early || fail "the VM outlived its attached VMM by 5 s"
	assert_eq 0 "$(stat -c %u "$ROOT/dev/vfio/2")" "group node owner after the exit"

	# grant_group_nodes false (libvirt's DAC driver owns the nodes), released while prepared
	vfioctl vm prepare lv --uuid "$UUID2" --backend type1 --vmm-opens-groups --no-grant --memory 64M
	assert_vfioctl_ok
	vfioctl vm add-device lv 0000:01:00.0
	assert_vfioctl_ok
	spawn_vmm
	vfioctl vm attach-vmm lv --pid "$VMM"
	assert_vfioctl_ok
	assert_eq 0 "$(stat -c %u "$ROOT/dev/vfio/2")" "no grant with grant_group_nodes false"
	vfioctl vm prepare lv2 --uuid "$UUID1" --backend type1 --pid 1
	assert_one_line_error 2 "takes no --pid"
	vfioctl vm prepare lv2 --uuid "$UUID1" --backend type1 --vmm-opens-groups --memory 64M
	assert_vfioctl_ok
	vfioctl vm add-device lv2 0000:01:00.0
	assert_one_line_error 1 "(org.vfiod1.Error.OwnedByOtherVM)"
	vfioctl vm release lv2
	assert_vfioctl_ok
	assert_eq released "$(cat "$OUT")" "release of a prepared VM"
	vfioctl vm release lv
	assert_vfioctl_ok
	[ -z "$(vm_path lv)" ] || fail "lv still listed"
}

ad_hoc_bind_refusals() {
	vfioctl bind 0000:00:1c.0
	assert_one_line_error 1 "(org.vfiod1.Error.NotEndpoint)"
	vfioctl bind 0000:03:01.0
	assert_one_line_error 1 "(org.vfiod1.Error.DeviceBusy)"
	vfioctl unbind 0000:03:01.0
	assert_one_line_error 1 "(org.vfiod1.Error.NotBound)"
	vfioctl mdev create nosuchparent mtty-2
	assert_one_line_error 1 "(org.vfiod1.Error.NoSuchParent)"
	vfioctl mdev create mtty nosuchtype
	assert_one_line_error 1 "(org.vfiod1.Error."
	vfioctl mdev create ../x mtty-2
	assert_one_line_error 2 "invalid PARENT"
	# a group whose members are on vfio-pci already: nothing moves, Unbind gives it back
	vfioctl --json bind 0000:01:00.1
	assert_vfioctl_ok
	assert_eq "0000:01:00.0 false|0000:01:00.1 false" "$(jq -r '[.[] | "\(.name) \(.changed)"] | join("|")' "$OUT")" "members of the claim"
	vfioctl unbind 0000:01:00.1
	assert_vfioctl_ok
}

trap 'cleanup_vmms; cleanup' EXIT
make_fixture
start_bus
start_vfiod

check "live introspection of a VM equals docs/org.vfiod1.VM.xml" introspection_equals_the_documented_contract
check "RegisterVM refuses malformed names, UUIDs, backends, sizes, dead VMMs" register_validates_its_arguments
check "VM names and UUIDs are unique" names_and_uuids_are_unique
check "claims of bridges, missing and host-used devices are refused, nothing changes" claims_are_refused_before_anything_changes
check "a VM's devices and mdevs are refused to every other VM until given back" ownership_between_vms
check "GetFds: the VMM or root only; nothing to hand out with vmm_opens_groups" fds_only_for_the_vmm_or_root
check "the VMM's exit releases the VM (pidfd)" vmm_exit_releases_the_vm
check "Bind, Unbind, CreateMdev refuse with stable names" ad_hoc_bind_refusals
check "PrepareVM: devices first, AttachVMM names the VMM once, grants follow the option" prepared_vm_gets_its_vmm_later

done_testing
