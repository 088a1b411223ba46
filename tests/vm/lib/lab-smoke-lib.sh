# shellcheck shell=sh
# The lab's own facts, checked by vm-lab-smoke (distro and test kernels) and
# vm-modern-smoke (the 7.3 kernel): real VFIO, the expected IOMMU topology,
# a working system bus and udev, the project's build installed. Every other
# vm case builds on these facts. Sourced by a case file as
# `. /opt/vfiod/tests/vm/lib/lab-smoke-lib.sh`: guest-init runs the
# testcase_* functions below in each such case.

testcase_vfio_container_node() {
	[ -c /dev/vfio/vfio ] || fail "/dev/vfio/vfio missing"
	# 50-udev-default.rules makes the container node world-accessible.
	assert_eq 666 "$(stat -c %a /dev/vfio/vfio)" "/dev/vfio/vfio mode"
}

testcase_endpoints_have_own_groups() {
	for dev in edu e1000e nvme; do
		bdf=$(lab_device "$dev")
		group=$(pci_group "$bdf")
		members=$(ls "/sys/kernel/iommu_groups/$group/devices")
		assert_eq "$bdf" "$members" "members of $dev's group $group"
	done
	a=$(pci_group "$(lab_device edu)")
	b=$(pci_group "$(lab_device nvme)")
	assert_ne "$a" "$b" "edu and nvme groups"
}

testcase_ich9_functions_share_a_group() {
	group=$(pci_group 0000:00:1f.0)
	for f in 0000:00:1f.2 0000:00:1f.3; do
		assert_eq "$group" "$(pci_group "$f")" "group of $f"
	done
	n=$(ls "/sys/kernel/iommu_groups/$group/devices" | wc -l)
	[ "$n" -ge 3 ] || fail "ICH9 group $group has only $n devices"
	# guest-init binds the SMBus function to its host driver: the lab's
	# example of a group that is not viable.
	assert_eq i801_smbus "$(pci_driver 0000:00:1f.3)" "driver of the ICH9 SMBus function"
}

testcase_interrupt_remapping_on() {
	dmesg | grep -q 'Enabled IRQ remapping' || fail "IRQ remapping not enabled (VFIO would refuse devices)"
}

testcase_iommufd_matches_kernel() {
	case "$(vm_kernel)" in
	test | modern)
		has_iommufd || fail "$(vm_kernel) kernel without /dev/iommu"
		;;
	distro)
		if has_iommufd; then fail "distro kernel unexpectedly has /dev/iommu"; fi
		;;
	*) fail "unknown lab kernel '$(vm_kernel)'" ;;
	esac
}

testcase_mdev_sample_parents() {
	for p in mtty mbochs; do
		[ -d "/sys/class/mdev_bus/$p/mdev_supported_types" ] || fail "mdev parent $p missing"
	done
	[ -n "$(ls /sys/class/mdev_bus/mtty/mdev_supported_types)" ] || fail "mtty offers no types"
}

testcase_bind_edu_to_vfio_pci() {
	bdf=$(lab_device edu)
	group=$(pci_group "$bdf")
	[ ! -e "/dev/vfio/$group" ] || fail "/dev/vfio/$group exists before binding"
	bind_vfio "$bdf"
	[ -c "/dev/vfio/$group" ] || fail "/dev/vfio/$group missing after bind"
	if has_iommufd; then
		set -- /sys/bus/pci/devices/"$bdf"/vfio-dev/vfio*
		[ -e "$1" ] || fail "no vfio-dev cdev for $bdf on an iommufd kernel"
		[ -c "/dev/vfio/devices/${1##*/}" ] || fail "no /dev/vfio/devices/${1##*/} for $bdf"
	fi
	unbind_vfio "$bdf"
	wait_until 30 test ! -e "/dev/vfio/$group"
}

testcase_system_bus() {
	names=$(dbus-send --system --print-reply --dest=org.freedesktop.DBus \
		/org/freedesktop/DBus org.freedesktop.DBus.ListNames)
	assert_contains "$names" '"org.freedesktop.DBus"' "ListNames on the system bus"
	# The bus enforces Debian's policy: an unprivileged user may not own names.
	if out=$(run_as_vmm dbus-send --system --print-reply --dest=org.freedesktop.DBus \
		/org/freedesktop/DBus org.freedesktop.DBus.RequestName string:org.vfiod1 uint32:0 2>&1); then
		fail "user vmm could own org.vfiod1: $out"
	fi
	assert_contains "$out" "AccessDenied" "RequestName by user vmm"
}

testcase_udev_delivers_events() {
	events=$(mktemp)
	udevadm monitor --udev --subsystem-match=mdev >"$events" 2>&1 &
	mon=$!
	# udevadm prints its banner once the monitor socket is set up.
	wait_until 30 grep -q '^UDEV' "$events"
	types=/sys/class/mdev_bus/mtty/mdev_supported_types
	type=$(ls "$types" | head -n1)
	uuid=$(mdev_create mtty "$type")
	mdev_remove "$uuid"
	wait_until 30 grep -q "remove.*$uuid" "$events"
	kill "$mon"
	grep -q "add.*$uuid" "$events" || { cat "$events"; fail "no udev add event for mdev $uuid"; }
}

testcase_vmm_user_has_no_capabilities() {
	assert_eq 1000 "$(run_as_vmm id -u)" "uid of run_as_vmm"
	assert_eq 0000000000000000 "$(run_as_vmm sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)" "CapEff of run_as_vmm"
}

testcase_out_of_tree_modules_match_kernel() {
	set -- /opt/vfiod/modules/*.ko
	[ -e "$1" ] || skip "no out-of-tree modules in this build"
	for ko in "$@"; do
		vermagic=$(modinfo -F vermagic "$ko")
		assert_eq "$(uname -r)" "${vermagic%% *}" "vermagic of $(basename "$ko")"
	done
}

testcase_vfiod_starts_on_system_bus() {
	start_vfiod
	bus_has_name org.vfiod1 || fail "org.vfiod1 not on the bus"
	stop_vfiod
	if bus_has_name org.vfiod1; then fail "org.vfiod1 still owned after stop"; fi
}
