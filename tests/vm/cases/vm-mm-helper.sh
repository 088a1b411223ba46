# vfiod-kernels: distro test
# The vfiod_mm helper module (kernel/) on real kernels, through its own
# kselftest-style program vfd-mm-test (tests/mm): track/get/untrack, the
# counters it reads, every documented errno, EPERM for unprivileged
# callers, exit events, no leak over 1000 cycles, unload with live
# handles. The pins_* cases take real VFIO pins from the reference VMM and
# let the test hold the VMM's descriptors across its death, the part vfiod
# itself will play once it owns containers (vm-mm-helper-exit).

. /opt/vfiod/tests/vmm/vmm-lib.sh

MM_TEST=$VFIOD_BIN/vfd-mm-test
MiB64=67108864

mm_setup() {
	[ -x "$MM_TEST" ] || skip "vfd-mm-test is not built"
	load_test_module vfiod_mm
}

# mm_run ARGS...: vfd-mm-test with the module loaded; the kernel log must stay clean.
mm_run() {
	mm_setup
	kmsg_mark
	"$MM_TEST" "$@"
	kmsg_assert_clean
}

testcase_track_get_untrack() {
	mm_run -r track.track_get_list_untrack -r track.rlimit_is_the_processes_own
}

testcase_mlock_8mib_is_locked_vm() {
	mm_run -r track.mlock_8mib_shows_as_locked_vm
}

testcase_same_mm_twice_and_ownership() {
	mm_run -r track.same_mm_twice
}

testcase_exec_ends_the_address_space() {
	mm_run -r track.exec_ends_the_tracked_address_space
}

testcase_bad_inputs_get_their_errno() {
	mm_run -r errors
}

testcase_unprivileged_caller_gets_eperm() {
	mm_run -r unprivileged_caller_gets_eperm -r other_network_namespace_sees_no_family
}

testcase_exit_events() {
	mm_run -r events
}

testcase_no_leak_over_1000_cycles() {
	mm_run -r no_leak_after_1000_track_untrack_cycles
}

testcase_unload_with_live_handles() {
	mm_setup
	kmsg_mark
	dir=$(mktemp -d /tmp/vfd-mm-hold.XXXXXX)
	mkfifo "$dir/in"
	"$MM_TEST" --hold 8 <"$dir/in" >"$dir/out" 2>"$dir/err" &
	holder=$!
	exec 6>"$dir/in"
	wait_until 60 grep -q '^ready' "$dir/out"
	assert_eq "ready handles=9" "$(cat "$dir/out")" "the holder's handles"
	# Handles pin mm_structs, not the module: it unloads with them alive.
	assert_eq 0 "$(cat /sys/module/vfiod_mm/refcnt)" "module refcount with live handles"
	rmmod vfiod_mm || fail "rmmod vfiod_mm with live handles"
	[ ! -e /sys/module/vfiod_mm ] || fail "vfiod_mm still loaded"
	if grep -q '^vfiod_mm_' /proc/slabinfo; then
		fail "slab caches left behind: $(grep '^vfiod_mm_' /proc/slabinfo)"
	fi
	# The holder closes its socket on a family that is gone.
	exec 6>&-
	rc=0
	wait "$holder" || rc=$?
	assert_eq 0 "$rc" "exit status of the holder ($(cat "$dir/err"))"
	rm -rf "$dir"
	kmsg_assert_clean
	# And it comes back.
	load_test_module vfiod_mm
	"$MM_TEST" -r track.track_get_list_untrack
}

# pins_case CHARGE VMM_ARGS...: a VMM maps 64 MiB and is killed while the
# test holds its VFIO descriptors (tests/mm/test-pins.c).
pins_case() {
	charge=$1
	shift
	mm_setup
	EDU=$(lab_device edu)
	bind_vfio "$EDU"
	modprobe vfio_iommu_type1 || true
	kmsg_mark
	vmm_start "$@" --user vmm --memlock 256M --mem 64M
	vmm_step map 0 64M
	VFD_MM_VMM_PID=$VMM_PID VFD_MM_VMM_CHARGE=$charge VFD_MM_VMM_BYTES=$MiB64 \
		"$MM_TEST" -r pins_outlive_the_vmm
	# The test killed the VMM: reap it.
	exec 7>&- 8<&-
	wait "$VMM_PID" || true
	rm -rf "$VMM_DIR"
	kmsg_assert_clean
}

testcase_pins_type1_outlive_the_vmm() {
	pins_case type1 --type1 "$(lab_device edu)"
}

testcase_pins_iommufd_user_outlive_the_vmm() {
	has_iommufd || skip "no iommufd in this kernel"
	pins_case iommufd-user --iommufd "$(lab_device edu)"
}

testcase_pins_iommufd_mm_outlive_the_vmm() {
	has_iommufd || skip "no iommufd in this kernel"
	pins_case iommufd-mm --iommufd "$(lab_device edu)" --rlimit-mode 1
}
