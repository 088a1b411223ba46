# vfiod-kernels: distro test
# Smoke test of the nested-VM lab itself: the guest has real VFIO, the
# expected IOMMU topology, a working system bus and udev, and the project's
# build is installed. Every other vm case builds on these facts.

. /opt/vfiod/tests/vm/lib/lab-smoke-lib.sh
