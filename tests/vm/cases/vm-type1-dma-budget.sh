# vfiod-kernels: distro test
# type1's mapping budget (docs/memlock.md, "type1 mapping budget") with
# vfio_iommu_type1's dma_entry_limit lowered to 64 at run time: the real
# kernel maps 64 times and refuses the 65th map with ENOSPC (and maps 65
# under the default limit, the control); vfiod refuses a type1 VM
# predicted over the limit when it is created, before anything is claimed
# or charged, with org.vfiod1.Error.DmaEntryLimitExceeded naming the count
# and the limit; a VM at the limit is taken, with a warning.

. /opt/vfiod/tests/vm/lib/vm-ownership-lib.sh

PROBE=/opt/vfiod/bin/vfio-probe
LIMIT_PARAM=/sys/module/vfio_iommu_type1/parameters/dma_entry_limit
UUID_A=0c1d2e3f-4a5b-4c6d-8e7f-901a2b3c4d5e

# set_limit N: the module parameter; a container takes it when its IOMMU type is set
set_limit() {
	echo "$1" >"$LIMIT_PARAM" || fail "cannot write $LIMIT_PARAM"
	assert_eq "$1" "$(cat "$LIMIT_PARAM")" "dma_entry_limit"
}

budget_setup() {
	[ -x "$PROBE" ] || fail "$PROBE not installed"
	modprobe vfio-pci
	modprobe vfio_iommu_type1 || true
	[ -w "$LIMIT_PARAM" ] || fail "no writable $LIMIT_PARAM on this kernel"
	EDU=$(lab_device edu)
	unbind_vfio "$EDU"
}

# what a refusal must leave as it was: vfiod's VMs, edu's driver and override
host_state() {
	echo "vms: $("$VFIOCTL" --json vm list | jq -r '[.[].name] | join(",")')"
	device_snapshot "$EDU"
}

testcase_kernel_refuses_the_65th_map() {
	budget_setup
	set_limit 64
	out=$("$PROBE" type1-map-count "$EDU" 65) || fail "vfio-probe type1-map-count: $out"
	log "$out"
	assert_contains "$out" "dma_avail=64 before mapping" "the container's DMA_AVAIL capability"
	assert_contains "$out" "mapped=64 of 65, then ENOSPC" "the 65th VFIO_IOMMU_MAP_DMA"
	assert_contains "$out" "dma_avail=64 after unmapping" "every entry given back"
	assert_eq "" "$(pci_driver "$EDU")" "edu after the probe's release"

	# the control: the same 65 maps under the default limit all succeed
	set_limit 65535
	out=$("$PROBE" type1-map-count "$EDU" 65) || fail "vfio-probe type1-map-count: $out"
	log "$out"
	assert_contains "$out" "mapped=65 of 65, then nothing failed" "65 maps under the default limit"
}

testcase_vfiod_refuses_a_vm_over_the_limit() {
	budget_setup
	set_limit 64
	start_vfiod
	vfioctl_ok --json host
	assert_eq 64 "$(jq -r .type1_dma_entry_limit "$OUT")" "Type1DmaEntryLimit"
	before=$(host_state)

	# the caller's count (the libvirt hook's, from the domain XML): 65 > 64
	vmm_stub=$(mktemp /tmp/budget-out.XXXXXX)
	if busctl call org.vfiod1 /org/vfiod1 org.vfiod1.Manager PrepareVM 'sstbsa{sv}' \
		over-by-one "$UUID_A" 67108864 false type1 1 dma_mappings t 65 >"$vmm_stub" 2>&1; then
		fail "PrepareVM of a VM predicted at 65 mappings was taken: $(cat "$vmm_stub")"
	fi
	log "refused: $(cat "$vmm_stub")"
	assert_contains "$(cat "$vmm_stub")" "would need 65 DMA mappings" "the refusal names the count"
	assert_contains "$(cat "$vmm_stub")" "dma_entry_limit of 64" "the refusal names the limit"
	assert_contains "$(cat "$vmm_stub")" "iommufd" "the refusal suggests iommufd"
	assert_eq "$before" "$(host_state)" "host state after the refusal"

	# vfiod's own count for a VM given only its memory (one device's BARs,
	# RAM, ROM allowance: 16) against a limit lowered below it: a registered
	# VMM is refused before its RLIMIT_MEMLOCK is touched
	set_limit 8
	sleep 600 &
	stub=$!
	limit_before=$(memlock_of "$stub")
	vfioctl vm register small --pid "$stub" --backend type1 --memory 64M
	assert_refused org.vfiod1.Error.DmaEntryLimitExceeded
	assert_contains "$(cat "$ERR")" "would need 16 DMA mappings" "vfiod's own count"
	assert_eq "$limit_before" "$(memlock_of "$stub")" "the VMM's RLIMIT_MEMLOCK after the refusal"
	assert_eq "$before" "$(host_state)" "host state after the refusal"

	# iommufd has no such cap: the same VM on iommufd is taken where the kernel has it
	if has_iommufd; then
		vfioctl_ok vm register small --pid "$stub" --backend iommufd --memory 64M
		vfioctl_ok vm release small
	fi
	kill "$stub"

	# at the limit: taken (the 64th map still succeeds), with a warning
	set_limit 64
	busctl call org.vfiod1 /org/vfiod1 org.vfiod1.Manager PrepareVM 'sstbsa{sv}' \
		at-limit "$UUID_A" 67108864 false type1 1 dma_mappings t 64 >"$vmm_stub" 2>&1 ||
		fail "PrepareVM of a VM at the limit: $(cat "$vmm_stub")"
	vfioctl_ok vm add-device at-limit "$EDU"
	assert_eq vfio-pci "$(pci_driver "$EDU")" "edu claimed by the VM at the limit"
	vfiod_log | grep -q "at-limit: its type1 container will need 64 DMA mappings" ||
		fail "no warning near the limit in vfiod's log"
	vfioctl_ok vm release at-limit
	assert_eq "" "$(pci_driver "$EDU")" "edu after the release"
	rm -f "$vmm_stub"
	set_limit 65535
	stop_vfiod
}
