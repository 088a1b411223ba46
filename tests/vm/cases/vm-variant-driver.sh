# vfiod-kernels: test distro
# Variant driver selection (issue 15 item 3) on a real kernel. The lab
# builds tests/kernel/vfiod_edu_vfio.c, a VFIO variant driver on
# vfio_pci_core that declares edu (1234:11e8) with
# PCI_DRIVER_OVERRIDE_DEVICE_VFIO, installs it under
# /lib/modules/$KVER/extra and runs depmod (tests/lab/make-initramfs.sh), so
# modules.alias carries its vfio_pci: alias as a distribution's would.
#   - vfiod claims edu for a VM with that variant, chosen by alias (no
#     driver named anywhere), and the reference VMM does DMA through it;
#   - with vfiod.json naming vfio-pci for edu, the same claim takes
#     vfio-pci instead, and DMA works again;
#   - a driver that is not a VFIO driver for edu (e1000e) is refused, by
#     Bind and from vfiod.json, and nothing changes.
# The lab's initramfs has no systemd as PID 1, so nobody would start
# modprobe@.service: the case loads the variant itself (modprobe, which
# finds it through modules.dep).

. /opt/vfiod/tests/vmm/vmm-lib.sh
. /opt/vfiod/tests/vm/lib/vm-ownership-lib.sh

VARIANT=vfiod_edu_vfio
CONFIG_DIR=/etc/vfiod
CONFIG=$CONFIG_DIR/vfiod.json

load_drivers() {
	modprobe vfio-pci
	modprobe vfio_iommu_type1 || true
	modprobe "$VARIANT" || fail "modprobe $VARIANT failed"
	[ -d "/sys/bus/pci/drivers/$VARIANT" ] || fail "$VARIANT registered no PCI driver"
}

# a VM with edu (type1), the VMM maps memory and DMAs; $1 the VM, $2 the driver edu must be on
vm_with_edu_does_dma() {
	vmm_spawn --type1 "$EDU" --vfiod "$1" --user vmm --memlock 64M --mem 16M
	vfioctl_ok vm register "$1" --pid "$VMM_PID" --backend type1 --viommu --memory 16M
	vfioctl_ok vm add-device "$1" "$EDU"
	assert_eq "$2" "$(pci_driver "$EDU")" "edu's driver once the VM owns it"
	vmm_go
	if [ "$2" = "$VARIANT" ]; then
		# the variant's own open count: the VMM's device is the variant's
		opens=$(cat "/sys/bus/pci/devices/$EDU/edu_vfio_opens")
		[ "$opens" -ge 1 ] || fail "$VARIANT counts $opens opens with the VMM running"
	fi
	vmm_step map 0x100000 1M
	vmm_step edu-dma 0x100000 1024
	# the vIOMMU isolates through either driver (edu-blocked needs another mapping)
	vmm_step map 0x200000 1M 1M
	vmm_step unmap 0x100000 1M
	vmm_step edu-blocked 0x100000 1024
	vmm_stop
	wait_until 60 vm_is_gone "$1"
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu's driver and driver_override after release"
}

testcase_modules_alias_lists_the_variant() {
	kver=$(uname -r)
	grep -q "^alias vfio_pci:v00001234d000011E8sv\*sd\*bc\*sc\*i\* $VARIANT\$" \
		"/lib/modules/$kver/modules.alias" ||
		fail "modules.alias has no vfio_pci: alias for $VARIANT: $(grep vfio_pci: "/lib/modules/$kver/modules.alias")"
	# the kernel never binds an override-only driver on its own
	load_drivers
	EDU=$(lab_device edu)
	assert_ne "$VARIANT" "$(pci_driver "$EDU")" "edu's driver right after loading the variant"
}

testcase_variant_by_alias_then_vfio_pci_by_config() {
	load_drivers
	EDU=$(lab_device edu)
	BEFORE=$(device_snapshot "$EDU")
	rm -f "$CONFIG"
	start_vfiod

	# chosen by alias: nobody names a driver
	opens=$(cat "/sys/bus/pci/devices/$EDU/edu_vfio_opens" 2>/dev/null || echo none)
	assert_eq none "$opens" "edu is not on the variant before the claim"
	vm_with_edu_does_dma vm-variant "$VARIANT"

	# an ad-hoc Bind without --driver chooses the same way, and says so
	vfioctl_ok --json bind "$EDU"
	assert_eq "$VARIANT" "$(jq -r '.[] | select(.requested) | .vfio_driver' "$OUT")" \
		"Bind's record of edu"
	assert_eq "$VARIANT" "$(pci_driver "$EDU")" "edu after an ad-hoc Bind without --driver"
	vfioctl_ok unbind "$EDU"
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu after Unbind"
	stop_vfiod

	# vfiod.json names vfio-pci: the configured binding takes it, and so
	# does a VM's claim of the device
	mkdir -p "$CONFIG_DIR"
	printf '{"bindings":[{"device":"%s","driver":"vfio-pci"}]}\n' "$EDU" >"$CONFIG"
	start_vfiod
	wait_until 30 sh -c "[ \"\$(basename \"\$(readlink /sys/bus/pci/devices/$EDU/driver)\")\" = vfio-pci ]"
	vfioctl_ok config status
	assert_contains "$(cat "$OUT")" "bound to vfio-pci" "config status of edu's binding"
	vfioctl_ok unbind "$EDU"
	vm_with_edu_does_dma vm-configured vfio-pci
	stop_vfiod
	rm -f "$CONFIG"
}

testcase_non_vfio_driver_refused() {
	load_drivers
	modprobe e1000e || true
	EDU=$(lab_device edu)
	BEFORE=$(device_snapshot "$EDU")
	rm -f "$CONFIG"
	start_vfiod
	vfioctl bind "$EDU" --driver e1000e
	assert_refused org.vfiod1.Error.NotVFIODriver
	assert_contains "$(cat "$ERR")" "e1000e is not a VFIO driver" "the refusal says why"
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu after the refused Bind"
	# named explicitly, vfio-pci wins over the variant's alias
	vfioctl_ok --json bind "$EDU" --driver vfio-pci
	assert_eq vfio-pci "$(pci_driver "$EDU")" "edu after Bind --driver vfio-pci"
	vfioctl_ok unbind "$EDU"
	# and the variant by name
	vfioctl_ok bind "$EDU" --driver "$VARIANT"
	assert_eq "$VARIANT" "$(pci_driver "$EDU")" "edu after Bind --driver $VARIANT"
	vfioctl_ok unbind "$EDU"
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu after Unbind"
	stop_vfiod

	mkdir -p "$CONFIG_DIR"
	printf '{"bindings":[{"device":"%s","driver":"e1000e"}]}\n' "$EDU" >"$CONFIG"
	start_vfiod
	vfioctl_ok config status
	assert_contains "$(cat "$OUT")" "not a VFIO driver" "config status of the e1000e binding"
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu with e1000e configured"
	stop_vfiod
	rm -f "$CONFIG"
}

# no systemd here to start modprobe@: the log says the module must be loaded,
# a choice by alias takes vfio-pci meanwhile, a named driver is not replaced
testcase_variant_not_loaded() {
	load_drivers
	EDU=$(lab_device edu)
	BEFORE=$(device_snapshot "$EDU")
	rm -f "$CONFIG"
	rmmod "$VARIANT" || fail "rmmod $VARIANT"
	start_vfiod
	vfioctl_ok --json show "$EDU"
	assert_eq "$VARIANT alias" "$(jq -r '.device | "\(.vfio_driver) \(.vfio_driver_source)"' "$OUT")" \
		"show's VFIO driver of edu"
	vfioctl bind "$EDU" --driver "$VARIANT"
	assert_refused org.vfiod1.Error.DriverNotLoaded
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu after the refused Bind"
	vfioctl_ok --json bind "$EDU"
	assert_eq vfio-pci "$(jq -r '.[] | select(.requested) | .vfio_driver' "$OUT")" \
		"Bind's record of edu while $VARIANT is not loaded"
	vfiod_log | grep -q "Module $VARIANT is not loaded, and no systemd runs to load it" ||
		fail "vfiod did not say that $VARIANT must be loaded"
	vfioctl_ok unbind "$EDU"
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu after Unbind"
	stop_vfiod
	modprobe "$VARIANT"
}
