#!/bin/sh
# Narrated tour of vfiod inside the lab guest (run by tests/lab/demo.sh).
# Each step says what it is about to show, then shows it.
. /opt/vfiod/tests/vm/lib/guest-lib.sh

step() {
	echo
	echo "==> $*"
}

run() {
	echo "# $*"
	"$@"
}

VFIOCTL=/opt/vfiod/bin/vfioctl

step "A QEMU q35 guest with an emulated Intel IOMMU (kernel $(uname -r)): real VFIO on a machine without one."
run ls /sys/kernel/iommu_groups
for g in /sys/kernel/iommu_groups/*; do
	echo "  group ${g##*/}: $(ls "$g/devices" | tr '\n' ' ')"
done

step "vfiod starts on the guest's real system bus and takes org.vfiod1."
start_vfiod
run dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
	org.freedesktop.DBus.GetConnectionUnixProcessID string:org.vfiod1
echo "(vfiod runs as pid $(pidof vfiod))"

step "Every PCI device and what vfiod knows about it."
run "$VFIOCTL" devices

EDU=$(lab_device edu)
step "IOMMU groups: the ICH9 functions at 00:1f.x share one group, and i801_smbus (a host driver) holds 00:1f.3, so that group is not viable; edu ($EDU) sits alone in its group and is viable."
run "$VFIOCTL" groups

step "Bind edu to vfio-pci (driver_override + drivers_probe): its group becomes a VFIO group with a /dev/vfio node, and vfiod sees it through udev."
bind_vfio "$EDU"
run ls -l /dev/vfio
sleep 1
run "$VFIOCTL" groups
run "$VFIOCTL" show "$EDU"

step "Mediated devices: the mtty sample driver is an mdev parent; these are the types it offers."
run "$VFIOCTL" mdev-parents
run "$VFIOCTL" mdev-types mtty

TYPE=$(ls /sys/class/mdev_bus/mtty/mdev_supported_types | head -n1)
step "Create an mtty mdev of type $TYPE through sysfs, and list the mdevs vfiod tracks."
UUID=$(mdev_create mtty "$TYPE")
echo "created $UUID"
sleep 1
run "$VFIOCTL" mdevs

step "Clean up the ad-hoc pieces: remove the mdev and give edu back to the host."
mdev_remove "$UUID"
unbind_vfio "$EDU"
run "$VFIOCTL" show "$EDU"

# The VM-ownership part drives the reference VMM (tests/vmm) through the same
# helpers the vm-ownership-* tests use.
. /opt/vfiod/tests/vmm/vmm-lib.sh
. /opt/vfiod/tests/vm/lib/vm-ownership-lib.sh
modprobe vfio-pci
modprobe vfio_iommu_type1 || true

step "A VM takes ownership. A VMM process (the project's reference VMM, about to drop to uid 1000 with no capabilities) registers as VM 'demo', type1 backend, 16 MiB of memory."
vmm_spawn --type1 "$EDU" --vfiod demo --user vmm --memlock 64M --mem 16M
run "$VFIOCTL" vm register demo --pid "$VMM_PID" --backend type1 --viommu --memory 16M

step "vfiod claims edu's whole IOMMU group for the VM (driver_override, original driver remembered) and creates an mtty mdev for it."
run "$VFIOCTL" vm add-device demo "$EDU"
run "$VFIOCTL" vm create-mdev demo mtty mtty-2
MDEV=$(tail -n1 "$OUT" 2>/dev/null || true)
run "$VFIOCTL" vm show demo

step "The VMM starts: as uid 1000 it asks vfiod for its file descriptors (container, group, devices) over D-Bus; vfiod checks it is the VM's registered VMM."
vmm_go
echo "VMM: $VMM_SETUP"

step "The VMM maps 1 MiB of guest memory for DMA and drives a real edu DMA round trip through the emulated IOMMU; then it unmaps and shows that a DMA to the unmapped IOVA is blocked."
vmm_step map 0x100000 1M
echo "VMM: $VMM_REPLY"
vmm_step edu-dma 0x100000 1024
echo "VMM: $VMM_REPLY"
# a second range is the device's scratch buffer for the blocked-DMA check
vmm_step map 0x200000 1M 1M
vmm_step unmap 0x100000 1M
vmm_step edu-blocked 0x100000 1024
echo "VMM: $VMM_REPLY"
vmm_step map 0x100000 1M
run "$VFIOCTL" vm list

step "A refusal: another VM may not take edu while 'demo' owns it (stable D-Bus error name, nothing changed)."
run "$VFIOCTL" vm register other --pid $$ --backend type1 --memory 16M
run "$VFIOCTL" vm add-device other "$EDU" || true
run "$VFIOCTL" vm release other

step "The VMM dies without releasing. vfiod sees it through the VMM's pidfd, closes the VM's descriptors, gives edu back to its original driver state and removes the mdev it created."
vmm_kill
wait_until 30 vm_is_gone demo
run "$VFIOCTL" vm list
run "$VFIOCTL" show "$EDU"
run "$VFIOCTL" mdevs

stop_vfiod
echo "demo done"
