#!/bin/sh
# Narrated tour of vfiod inside the lab guest (run by tests/lab/demo.sh).
# Each step says what it is about to show, then shows it.
. /opt/vfiod/tests/vm/guest-lib.sh

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

step "Clean up: remove the mdev, give edu back, stop vfiod."
mdev_remove "$UUID"
unbind_vfio "$EDU"
stop_vfiod
echo "demo done"
