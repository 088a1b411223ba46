# vfiod-kernels: test modern
# VM ownership on the iommufd backend (test and modern kernels): a VM with edu (passthrough)
# and an mtty mdev. vfiod binds edu's group, creates the mdev, opens /dev/iommu
# (per-process accounting) and both device cdevs; the reference VMM (uid 1000, no
# capabilities) gets its descriptors over D-Bus, maps memory and DMAs
# through the vIOMMU. Release (asked, or the VMM's exit) gives edu back
# to its original driver state and removes the mdev.

. /opt/vfiod/tests/vmm/vmm-lib.sh
. /opt/vfiod/tests/vm/lib/vm-ownership-lib.sh

BACKEND=iommufd
. /opt/vfiod/tests/vm/lib/vm-ownership-scenario-lib.sh
