# vfiod-kernels: distro test
# Two passthrough devices (edu and nvme) behind a vIOMMU: each is an
# address space of its own, as QEMU makes it, so guest memory is pinned and
# charged once per space: the factor 2 shows in the limit vfiod sets
# (2 x (256 MiB + 64 MiB headroom), docs/memlock.md) and in the kernel's
# charge (2 x 256 MiB), which vfiod's check must expect.
#   type1: vfiod attaches only the first group to the container it hands
#   out; the nvme's group comes unattached and the VMM (vfd-vmm --viommu,
#   uid 1000 without CAP_IPC_LOCK) attaches it to a container of its own
#   (one MAP_DMA per container: vfio_dma belongs to the container).
#   Hot-removing the nvme (the VMM detaches its group, vfiod gives it back)
#   leaves 1 x 256 MiB, and the limit is lowered after.
#   iommufd: one iommufd, an IOAS per device; each IOMMU_IOAS_MAP creates
#   its own iopt_pages, pinned and charged by itself. The hot-remove: the
#   VMM closes the nvme's cdev, vfiod proves it and gives it back: 1 x.
# The negative control registers the same VMM without the vIOMMU: the
# second container's charge is then no part of vfiod's expectation and the
# check reports the mismatch (ChargeMatches false), not hiding it.

. /opt/vfiod/tests/vmm/vmm-lib.sh
. /opt/vfiod/tests/vm/lib/vm-ownership-lib.sh

MiB256=268435456
MiB512=536870912
LIMIT_ONE=335544320     # one address space: 256 MiB + 64 MiB headroom
LIMIT_TWO=671088640     # two address spaces: 2 x (256 MiB + 64 MiB)

# step_check VM NAME EXPECTED OBSERVED LIMIT: vfiod's check agrees, the limit covers the charge
step_check() {
	vfioctl vm check-charge "$1"
	assert_eq "expected $3 observed $4 limit $5 match" "$(cat "$OUT")" "CheckCharge: $2"
	assert_eq "$5 $5" "$(memlock_of "$VMM_PID")" "RLIMIT_MEMLOCK (soft hard): $2"
	[ "$5" -ge "$4" ] || fail "the limit $5 is below the charge $4: $2"
}

# the VMM's own view of the kernel's charge, in bytes
vmm_locked_bytes() {
	vmm_step status
	echo $(($(vmm_field VmLck_kB) * 1024))
}

viommu_devices() {
	modprobe vfio-pci
	modprobe vfio_iommu_type1 || true
	EDU=$(lab_device edu)
	NVME=$(lab_device nvme)
	BEFORE=$(device_snapshot "$EDU" "$NVME")
}

testcase_viommu_type1() {
	viommu_devices
	kmsg_mark
	start_vfiod

	vmm_spawn --type1 "$EDU" --vfiod vio --user vmm --mem 256M --viommu
	vfioctl_ok vm register vio --pid "$VMM_PID" --backend type1 --memory 256M --viommu
	vfioctl_ok vm add-device vio "$EDU"
	vfioctl_ok vm add-device vio "$NVME"
	assert_eq "$LIMIT_TWO $LIMIT_TWO" "$(memlock_of "$VMM_PID")" "the model's limit: two address spaces"
	vmm_go
	assert_contains "$VMM_SETUP" "CapEff=0000000000000000" "the VMM has no capabilities"
	assert_contains "$VMM_SETUP" "uid=1000" "the VMM runs as vmm"

	# edu came attached to vfiod's container; the nvme's group did not
	vmm_step map 0 256M
	step_check vio "edu's address space mapped" "$MiB256" "$MiB256" "$LIMIT_TWO"

	# a container of the VMM's own for the nvme: guest memory again
	vmm_step hotadd vio "$NVME"
	step_check vio "two address spaces" "$MiB512" "$MiB512" "$LIMIT_TWO"
	assert_eq "$MiB512" "$(vmm_locked_bytes)" "VmLck of the VMM: guest memory twice"
	assert_eq true "$(vm_prop vio ChargeMatches)" "ChargeMatches"

	# hot-remove: the VMM detaches the group, vfiod gives the nvme back, then lowers
	vmm_step hotremove "$NVME"
	assert_eq "$MiB256" "$(vm_prop vio LockedBytes)" "charge once the VMM detached the nvme"
	assert_eq "$LIMIT_TWO $LIMIT_TWO" "$(memlock_of "$VMM_PID")" "limit before vfiod gave the nvme back"
	vfioctl_ok vm remove-device vio "$NVME"
	assert_eq "$(echo "$BEFORE" | grep "^$NVME ")" "$(device_snapshot "$NVME")" "nvme given back"
	step_check vio "nvme removed" "$MiB256" "$MiB256" "$LIMIT_ONE"

	vfiod_log | grep "VM vio" >&2
	vmm_stop
	wait_until 60 vm_is_gone vio
	assert_eq "$BEFORE" "$(device_snapshot "$EDU" "$NVME")" "both devices given back"
	stop_vfiod
	kmsg_assert_clean
}

# Negative control: the same two address spaces, but the VM registered
# without the vIOMMU (and vfiod told to leave the limit alone, so that the
# second mapping is not refused): vfiod expects guest memory once, the
# kernel charges it twice, and the check says so.
testcase_viommu_unregistered_is_a_mismatch() {
	viommu_devices
	start_vfiod

	vmm_spawn --type1 "$EDU" --vfiod flat --user vmm --mem 256M --viommu --memlock 1G
	vfioctl_ok vm register flat --pid "$VMM_PID" --backend type1 --memory 256M --memlock-policy none
	vfioctl_ok vm add-device flat "$EDU"
	vmm_go
	vmm_step map 0 256M
	step_check flat "one address space" "$MiB256" "$MiB256" 1073741824

	# added after GetFds: unattached, and the VMM gives it a container of its own
	vfioctl_ok vm add-device flat "$NVME"
	vmm_step hotadd flat "$NVME"
	assert_eq "$MiB512" "$(vmm_locked_bytes)" "VmLck of the VMM: guest memory twice"
	vfioctl vm check-charge flat
	assert_eq 1 "$RC" "CheckCharge fails on a mismatch"
	assert_eq "expected $MiB256 observed $MiB512 limit 1073741824 MISMATCH" "$(cat "$OUT")" \
		"CheckCharge: the unregistered factor"
	assert_eq false "$(vm_prop flat ChargeMatches)" "ChargeMatches"
	vfiod_log | grep -q "VM flat (attach): charge MISMATCH" || fail "vfiod logged no mismatch"

	vmm_step hotremove "$NVME"
	vfioctl_ok vm remove-device flat "$NVME"
	vmm_stop
	wait_until 60 vm_is_gone flat
	assert_eq "$BEFORE" "$(device_snapshot "$EDU" "$NVME")" "both devices given back"
	stop_vfiod
}

testcase_viommu_iommufd() {
	has_iommufd || skip "no /dev/iommu on this kernel"
	viommu_devices
	# vfiod proves with it that the VMM closed a cdev before a remove
	load_test_module vfiod_mm
	kmsg_mark
	start_vfiod

	vmm_spawn --iommufd "$EDU" --vfiod vio --user vmm --mem 256M --viommu
	vfioctl_ok vm register vio --pid "$VMM_PID" --backend iommufd --memory 256M --viommu
	vfioctl_ok vm add-device vio "$EDU"
	vfioctl_ok vm add-device vio "$NVME"
	assert_eq "$LIMIT_TWO $LIMIT_TWO" "$(memlock_of "$VMM_PID")" "the model's limit: two IOASes"
	vmm_go
	assert_contains "$VMM_SETUP" "CapEff=0000000000000000" "the VMM has no capabilities"
	assert_contains "$VMM_SETUP" "rlimit_mode=1" "vfiod's per-process accounting"

	vmm_step map 0 256M
	assert_eq "$MiB256" "$(vmm_locked_bytes)" "VmLck: edu's IOAS"
	# the nvme's cdev bound to the same iommufd, attached to an IOAS of its own
	vmm_step hotadd vio "$NVME"
	step_check vio "two IOASes" "$MiB512" "$MiB512" "$LIMIT_TWO"
	assert_eq "$MiB512" "$(vm_prop vio PinnedBytes)" "pinned_vm: once per IOAS"

	# hot-remove: the VMM closes the nvme's cdev; vfiod proves it, gives it back, then lowers
	vmm_step hotremove "$NVME"
	vfioctl_ok vm remove-device vio "$NVME"
	assert_eq "$(echo "$BEFORE" | grep "^$NVME ")" "$(device_snapshot "$NVME")" "nvme given back"
	step_check vio "nvme removed" "$MiB256" "$MiB256" "$LIMIT_ONE"

	vfiod_log | grep "VM vio" >&2
	vmm_stop
	wait_until 60 vm_is_gone vio
	assert_eq "$BEFORE" "$(device_snapshot "$EDU" "$NVME")" "both devices given back"
	stop_vfiod
	kmsg_assert_clean
}
