# vfiod-kernels: distro test
# A vGPU-style mdev that pins guest pages on demand (tests/kernel's
# vfiod_test_vgpu): its pins are charged to the VMM that mapped the memory,
# not at MAP time, and released on unpin, on DMA unmap and on close.
# type1 charges the pins to VmLck; iommufd (test kernel) to VmPin.
# Page size is 4 KiB: N pinned pages are 4*N kB.

# shellcheck source-path=SCRIPTDIR source=../../vmm/vmm-lib.sh
. /opt/vfiod/tests/vmm/vmm-lib.sh

VGPU_PARENT=vfiod_vgpu
VGPU_TYPE=vfiod_vgpu-1
NPAGES=1000

# vgpu_setup: load the module, create one instance: VGPU (UUID), VGPU_DIR
vgpu_setup() {
	modprobe vfio_iommu_type1 2>/dev/null || true
	modprobe mdev || fail "modprobe mdev"
	load_test_module vfiod_test_vgpu
	[ -d "/sys/class/mdev_bus/$VGPU_PARENT/mdev_supported_types/$VGPU_TYPE" ] ||
		fail "the vfiod_test_vgpu module registered no $VGPU_TYPE type"
	VGPU=$(mdev_create "$VGPU_PARENT" "$VGPU_TYPE")
	VGPU_DIR=/sys/bus/mdev/devices/$VGPU/vgpu
	[ -d "$VGPU_DIR" ] || fail "mdev $VGPU has no vgpu/ attributes"
	assert_eq 0 "$(pinned)" "pinned pages of a new instance"
}

pinned() {
	cat "$VGPU_DIR/pinned"
}

# vgpu_write FILE VALUE: write as root, failing the case on a write error
vgpu_write() {
	echo "$2" >"$VGPU_DIR/$1" || fail "writing '$2' to $VGPU_DIR/$1"
}

# vgpu_write_error FILE VALUE: the write must fail; prints the error message
vgpu_write_error() {
	if _vw_err=$(sh -c 'echo "$2" >"$1"' sh "$VGPU_DIR/$1" "$2" 2>&1); then
		fail "writing '$2' to $1 succeeded"
	fi
	echo "$_vw_err"
}

# the tag vfd-vmm writes into the first 8 bytes of the page mapped at IOVA
page_tag() {
	printf '0x%016x' $(((0x7666642d << 32) | ($1 >> 12)))
}

testcase_module_offers_vgpu_type() {
	vgpu_setup
	types=/sys/class/mdev_bus/$VGPU_PARENT/mdev_supported_types/$VGPU_TYPE
	assert_eq vfio-pci "$(cat "$types/device_api")" "device_api"
	assert_eq "vfiod test vGPU" "$(cat "$types/name")" "type name"
	assert_contains "$(cat "$types/description")" "pins guest pages" "description"
	# 4 instances per parent, one created by vgpu_setup
	assert_eq 3 "$(cat "$types/available_instances")" "available_instances"
	assert_eq "$VGPU_TYPE" "$(basename "$(readlink "/sys/bus/mdev/devices/$VGPU/mdev_type")")" "type of $VGPU"
	[ -L "/sys/bus/mdev/devices/$VGPU/iommu_group" ] || fail "mdev $VGPU has no IOMMU group"
	mdev_remove "$VGPU"
	assert_eq 4 "$(cat "$types/available_instances")" "available_instances after remove"
}

testcase_vfiod_lists_vgpu() {
	vgpu_setup
	start_vfiod
	types=$(/opt/vfiod/bin/vfioctl --json mdev-types "$VGPU_PARENT")
	mdevs=$(/opt/vfiod/bin/vfioctl --json mdevs)
	stop_vfiod
	sys=/sys/class/mdev_bus/$VGPU_PARENT/mdev_supported_types/$VGPU_TYPE
	assert_eq "vfiod test vGPU|vfio-pci|$(cat "$sys/available_instances")" \
		"$(echo "$types" | jq -r --arg t "$VGPU_TYPE" '.[] | select(.type == $t) | "\(.name)|\(.device_api)|\(.available_instances)"')" \
		"the vGPU type as vfiod lists it"
	group=$(basename "$(readlink "/sys/bus/mdev/devices/$VGPU/iommu_group")")
	assert_eq "$VGPU_PARENT|$VGPU_TYPE|$group" \
		"$(echo "$mdevs" | jq -r --arg u "$VGPU" '.[] | select(.uuid == $u) | "\(.parent)|\(.type)|\(.iommu_group)"')" \
		"the vGPU instance as vfiod lists it"
	mdev_remove "$VGPU"
}

testcase_pin_needs_an_open_device() {
	vgpu_setup
	err=$(vgpu_write_error pin "0x100000 1")
	assert_contains "$err" "No such device" "pin without a VMM"
	assert_eq 0 "$(pinned)" "pinned pages after the refused pin"
	mdev_remove "$VGPU"
}

testcase_type1_pins_charge_vmlck() {
	vgpu_setup
	kmsg_mark
	vmm_start --type1 "$VGPU" --user vmm --memlock 256M --mem 64M
	assert_eq 0000000000000000 "$(vmm_field CapEff "$VMM_SETUP")" "CapEff of the VMM"
	vmm_step status
	lck0=$(vmm_field VmLck_kB)
	pin0=$(vmm_field VmPin_kB)
	vmm_step map 0 64M
	vmm_step status
	# Only an mdev in the container: MAP_DMA pins and charges nothing.
	assert_eq "$lck0" "$(vmm_field VmLck_kB)" "VmLck after MAP_DMA without an IOMMU-backed group"

	vgpu_write pin "0x100000 $NPAGES"
	assert_eq "$NPAGES" "$(pinned)" "pinned pages"
	vmm_step status
	assert_eq $((lck0 + 4 * NPAGES)) "$(vmm_field VmLck_kB)" "VmLck with $NPAGES pages pinned"
	assert_eq "$pin0" "$(vmm_field VmPin_kB)" "VmPin with $NPAGES pages pinned by type1"
	# The pin resolved the VMM's page at that IOVA (written by its map step).
	assert_eq "0x100000 $NPAGES $(page_tag 0x100000)" "$(cat "$VGPU_DIR/pins")" "pins of the vGPU"
	# The device's own registers agree, read by the VMM through VFIO:
	# config space (region 7) and BAR0 (region 0) of the emulated PCI device.
	vmm_step read32 7 0
	assert_eq 0x7f0d1b36 "$(vmm_field value)" "vGPU PCI vendor and device ID"
	vmm_step read32 0 0
	assert_eq 0x75706776 "$(vmm_field value)" "vGPU BAR0 magic"
	vmm_step read32 0 4
	assert_eq "$(printf '0x%08x' "$NPAGES")" "$(vmm_field value)" "vGPU BAR0 pinned-pages register"

	vgpu_write unpin "0x100000 $NPAGES"
	assert_eq 0 "$(pinned)" "pinned pages after unpin"
	vmm_step status
	assert_eq "$lck0" "$(vmm_field VmLck_kB)" "VmLck after unpin"

	vmm_step unmap 0 64M
	vmm_stop
	mdev_remove "$VGPU"
	kmsg_assert_clean
}

testcase_type1_dma_unmap_releases_pins() {
	vgpu_setup
	kmsg_mark
	vmm_start --type1 "$VGPU" --user vmm --memlock 256M --mem 64M
	vmm_step status
	lck0=$(vmm_field VmLck_kB)
	vmm_step map 0 32M
	vmm_step map 32M 32M 32M
	vgpu_write pin "0x100000 $NPAGES"
	vgpu_write pin "0x2100000 24"
	assert_eq $((NPAGES + 24)) "$(pinned)" "pinned pages in two mappings"
	vmm_step status
	assert_eq $((lck0 + 4 * (NPAGES + 24))) "$(vmm_field VmLck_kB)" "VmLck with both pins"

	# Unmapping the second range releases exactly the pin inside it.
	vmm_step unmap 32M 32M
	assert_eq "$NPAGES" "$(pinned)" "pinned pages after unmapping the second range"
	vmm_step status
	assert_eq $((lck0 + 4 * NPAGES)) "$(vmm_field VmLck_kB)" "VmLck after unmapping the second range"

	vmm_step unmap 0 32M
	assert_eq 0 "$(pinned)" "pinned pages after unmapping everything"
	assert_eq "" "$(cat "$VGPU_DIR/pins")" "pins after unmapping everything"
	vmm_step status
	assert_eq "$lck0" "$(vmm_field VmLck_kB)" "VmLck after unmapping everything"
	vmm_stop
	mdev_remove "$VGPU"
	kmsg_assert_clean
}

testcase_type1_close_releases_pins() {
	vgpu_setup
	kmsg_mark
	vmm_start --type1 "$VGPU" --user vmm --memlock 256M --mem 64M
	vmm_step map 0 64M
	vgpu_write pin "0 $NPAGES"
	assert_eq "$NPAGES" "$(pinned)" "pinned pages"
	# The VMM exits holding the mapping and the pins.
	vmm_stop
	assert_eq 0 "$(pinned)" "pinned pages after the VMM closed the device"
	mdev_remove "$VGPU"
	kmsg_assert_clean
}

testcase_type1_pins_respect_memlock() {
	vgpu_setup
	kmsg_mark
	vmm_start --type1 "$VGPU" --user vmm --memlock 2M --mem 64M
	vmm_step map 0 64M
	vmm_step status
	lck0=$(vmm_field VmLck_kB)
	# 1000 pages are 4000 kB: over a 2 MiB limit of the VMM, whoever asks.
	err=$(vgpu_write_error pin "0x100000 $NPAGES")
	assert_contains "$err" "allocate memory" "pin over RLIMIT_MEMLOCK"
	assert_eq 0 "$(pinned)" "pinned pages after the refused pin"
	vmm_step status
	assert_eq "$lck0" "$(vmm_field VmLck_kB)" "VmLck after the refused pin"
	vgpu_write pin "0x100000 100"
	vmm_step status
	assert_eq $((lck0 + 400)) "$(vmm_field VmLck_kB)" "VmLck with 100 pages pinned"
	# An IOVA the VMM never mapped cannot be pinned.
	vgpu_write_error pin "0x8000000 1" >/dev/null
	assert_eq 100 "$(pinned)" "pinned pages after pinning an unmapped IOVA"
	vmm_stop
	mdev_remove "$VGPU"
	kmsg_assert_clean
}

# iommufd_pins LCK_KB_PER_PAGE [VMM ARGS]: pins through the vGPU's cdev;
# VmLck must grow by LCK_KB_PER_PAGE per pinned page
iommufd_pins() {
	lck_per_page=$1
	shift
	has_iommufd || skip "no iommufd in the $(vm_kernel) kernel"
	vgpu_setup
	kmsg_mark
	vmm_start --iommufd "$VGPU" --user vmm --memlock 256M --mem 64M "$@"
	vmm_step status
	lck0=$(vmm_field VmLck_kB)
	pin0=$(vmm_field VmPin_kB)
	vmm_step map 0 64M
	vmm_step status
	# No IOMMU domain behind the IOAS: IOAS_MAP pins nothing.
	assert_eq "$lck0 $pin0" "$(vmm_field VmLck_kB) $(vmm_field VmPin_kB)" "VmLck/VmPin after IOAS_MAP"

	vgpu_write pin "0x100000 $NPAGES"
	assert_eq "$NPAGES" "$(pinned)" "pinned pages"
	vmm_step status
	assert_eq $((pin0 + 4 * NPAGES)) "$(vmm_field VmPin_kB)" "VmPin with $NPAGES pages pinned"
	assert_eq $((lck0 + lck_per_page * NPAGES)) "$(vmm_field VmLck_kB)" "VmLck with $NPAGES pages pinned"
	assert_eq "0x100000 $NPAGES $(page_tag 0x100000)" "$(cat "$VGPU_DIR/pins")" "pins of the vGPU"

	vgpu_write unpin "0x100000 $NPAGES"
	assert_eq 0 "$(pinned)" "pinned pages after unpin"
	vmm_step status
	assert_eq "$lck0 $pin0" "$(vmm_field VmLck_kB) $(vmm_field VmPin_kB)" "VmLck/VmPin after unpin"

	# IOAS_UNMAP under a pin: iommufd asks the driver to let go first.
	vgpu_write pin "0x100000 $NPAGES"
	vmm_step unmap 0 64M
	assert_eq 0 "$(pinned)" "pinned pages after IOAS_UNMAP"
	vmm_step status
	assert_eq "$lck0 $pin0" "$(vmm_field VmLck_kB) $(vmm_field VmPin_kB)" "VmLck/VmPin after IOAS_UNMAP"

	# Closing the device cdev with pins held releases them too.
	vmm_step map 0 64M
	vgpu_write pin "0 $NPAGES"
	assert_eq "$NPAGES" "$(pinned)" "pinned pages before closing"
	vmm_stop
	assert_eq 0 "$(pinned)" "pinned pages after the VMM closed the device"
	mdev_remove "$VGPU"
	kmsg_assert_clean
}

testcase_iommufd_pins_charge_vmpin() {
	iommufd_pins 0
}

testcase_iommufd_pins_mode_process_charge_vmlck() {
	iommufd_pins 4 --rlimit-mode 1
}
