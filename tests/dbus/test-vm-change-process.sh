#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# VM.ChangeProcess (a VM's charge moved to a new VMM process) where the
# kernel lacks IOMMU_IOAS_CHANGE_PROCESS: the fixture root has no
# /dev/iommu, as a 6.12 kernel without the ioctl. The method answers
# NotSupported and changes nothing: the VMM stays, the new process's
# limit is untouched. The move itself is the vm test vm-modern-change-process's.
. "$(dirname "$0")/lib.sh"

VMMS=

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null 2>&1; then
	echo "1..0 # SKIP needs root and setpriv"
	exit 0
fi

register_vm() { # register_vm NAME: VM NAME with a stand-in VMM (VMM)
	spawn_vmm
	vfioctl vm register "$1" --pid "$VMM" --backend type1 --vmm-opens-groups
	assert_vfioctl_ok
}

not_supported_by_this_kernel() {
	register_vm oldkernel
	vmm=$VMM
	spawn_vmm
	target=$VMM
	limit_before=$(memlock_of "$target")
	assert_eq false "$(busctl --address="$BUS" get-property org.vfiod1 /org/vfiod1 org.vfiod1.Manager \
		IoasChangeProcess | awk '{ print $2 }')" "the Manager's probe"
	vfioctl vm change-process oldkernel --pid "$target"
	[ "$RC" -ne 0 ] || fail "ChangeProcess succeeded on a kernel without the ioctl"
	grep -q "not supported by this kernel" "$ERR" || fail "message: $(cat "$ERR")"
	assert_eq "$vmm" "$(vm_field oldkernel vmm_pid)" "the VMM"
	assert_eq "$limit_before" "$(memlock_of "$target")" "the target's limit"
	assert_eq "u 0" "$(busctl --address="$BUS" get-property org.vfiod1 "$(vm_path oldkernel)" \
		org.vfiod1.VM ProcessChangePid)" "no move under way"
	vfioctl vm release oldkernel
	assert_vfioctl_ok
}

not_supported_has_its_stable_name() {
	register_vm named
	spawn_vmm
	vfioctl vm change-process named --pid "$VMM" --timeout 5
	[ "$RC" -ne 0 ] || fail "ChangeProcess succeeded on a kernel without the ioctl"
	grep -q "(org.vfiod1.Error.NotSupported)" "$ERR" || fail "$(cat "$ERR")"
	vfioctl vm release named
	assert_vfioctl_ok
}

commit_and_abort_without_a_move() {
	register_vm nomove
	vfioctl vm change-process nomove --commit
	[ "$RC" -ne 0 ] || fail "a commit without a move succeeded"
	grep -q "no move of VM nomove's charge is under way" "$ERR" || fail "commit: $(cat "$ERR")"
	vfioctl vm change-process nomove --abort
	[ "$RC" -ne 0 ] || fail "an abort without a move succeeded"
	grep -q "No move of VM nomove's charge is under way" "$ERR" || fail "abort: $(cat "$ERR")"
	vfioctl vm release nomove
	assert_vfioctl_ok
}

make_fixture
start_bus
start_vfiod

check "ChangeProcess answers 'not supported by this kernel' and changes nothing" not_supported_by_this_kernel
check "the refusal has its stable name NotSupported" not_supported_has_its_stable_name
check "commit and abort without a move answer NoProcessChange" commit_and_abort_without_a_move
cleanup_vmms

done_testing
