# vfiod-kernels: modern
# The modern kernel of the second lab world boots in the lab: it is the
# 7.3 test kernel built from Debian 13's linux-source-7.3
# (tests/lab/kernel-modern.sh), with iommufd and VFIO device cdevs beside
# the type1 container, and everything vm-lab-smoke checks on the other
# kernels holds on it too (tests/vm/lib/lab-smoke-lib.sh).

. /opt/vfiod/tests/vm/lib/lab-smoke-lib.sh

testcase_kernel_is_7_3() {
	KVER=''
	. /etc/vfiod-lab.env
	assert_eq "$KVER" "$(uname -r)" "running kernel vs the lab's kernel.env"
	case "$(uname -r)" in
	7.3 | 7.3.* | 7.3-*) ;;
	*) fail "the modern kernel is $(uname -r), not 7.3" ;;
	esac
	assert_eq modern "$(vm_kernel)" "lab flavour"
}

testcase_iommufd_node() {
	[ -c /dev/iommu ] || fail "/dev/iommu missing on the modern kernel"
	[ -d /sys/class/iommu ] && [ -n "$(ls /sys/class/iommu)" ] || fail "no IOMMU registered (intel-iommu)"
}

testcase_edu_has_a_vfio_cdev() {
	bdf=$(lab_device edu)
	bind_vfio "$bdf"
	set -- /sys/bus/pci/devices/"$bdf"/vfio-dev/vfio*
	[ -e "$1" ] || fail "no vfio-dev entry for edu ($bdf)"
	cdev=/dev/vfio/devices/${1##*/}
	wait_until 30 test -c "$cdev"
	# The node is the device's: same major:minor as its sysfs entry.
	node=$(stat -c '%t %T' "$cdev")
	assert_eq "$(cat "$1/dev")" "$(printf '%d:%d' "0x${node% *}" "0x${node#* }")" "major:minor of $cdev"
	[ -c "/dev/vfio/$(pci_group "$bdf")" ] || fail "no group node beside the cdev (VFIO_GROUP)"
	unbind_vfio "$bdf"
	wait_until 30 test ! -e "$cdev"
}
