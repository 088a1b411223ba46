# vfiod-kernels: modern
# vfiod-world: trixie
# The second lab world (issue 14) works. Two boots of the modern kernel,
# the 7.3 test kernel built from Debian 13's linux-source-7.3
# (tests/lab/kernel-modern.sh), with iommufd and VFIO device cdevs beside
# the type1 container:
# - the busybox guest (the Debian 12 host's binaries): everything
#   vm-lab-smoke checks on the other kernels holds (tests/vm/lib/lab-smoke-lib.sh);
# - the Debian 13 world (tests/lab/rootfs-libvirt-trixie.sh, booted by
#   run-libvirt-test.sh; log vm-modern-smoke-trixie.log): systemd 257 is
#   PID 1 with dbus 1.16, libvirtd reports 12.9 and QEMU 11.1, vfiod
#   built on Debian 12 runs there on the world's own libraries, and a
#   libvirt domain with edu as an iommufd hostdev starts, QEMU holding
#   /dev/iommu and edu's VFIO cdev, and is destroyed.
# The testcase_world_* functions skip in the busybox guest; the others run
# in both guests.

. /opt/vfiod/tests/vm/lib/lab-smoke-lib.sh

# the busybox guest has /etc/vfiod-lab.env; the other guest that runs
# this case is the trixie world's, and must be Debian 13: a world testcase
# skips only in the busybox guest, so a wrong world fails instead of
# skipping its checks
in_busybox_guest() {
	[ -e /etc/vfiod-lab.env ]
}

world_only() {
	in_busybox_guest && skip "runs in the trixie world's boot (vm-modern-smoke-trixie.log)"
	grep -qx 'VERSION_CODENAME=trixie' /etc/os-release ||
		fail "the world's guest is not Debian 13 (trixie): $(grep '^PRETTY_NAME=' /etc/os-release)"
}

testcase_kernel_is_7_3() {
	case "$(uname -r)" in
	7.3 | 7.3.* | 7.3-*) ;;
	*) fail "the modern kernel is $(uname -r), not 7.3" ;;
	esac
	in_busybox_guest || return 0
	KVER=''
	. /etc/vfiod-lab.env
	assert_eq "$KVER" "$(uname -r)" "running kernel vs the lab's kernel.env"
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

testcase_world_debian_13() {
	world_only
	VERSION_ID=''
	. /etc/os-release
	assert_eq 13 "$VERSION_ID" "Debian release (/etc/os-release)"
}

testcase_world_systemd_257_is_pid1_with_dbus_1_16() {
	world_only
	assert_eq systemd "$(cat /proc/1/comm)" "PID 1"
	v=$(systemctl --version | head -n1)
	case "$v" in
	"systemd 257 "*) ;;
	*) fail "systemctl --version: '$v', not systemd 257" ;;
	esac
	v=$(dbus-daemon --version | head -n1)
	case "$v" in
	*" 1.16."*) ;;
	*) fail "dbus-daemon --version: '$v', not 1.16" ;;
	esac
	systemctl is-active -q dbus.service || fail "dbus.service is $(systemctl is-active dbus.service)"
	busctl --system list --no-pager | grep -q '^org.freedesktop.systemd1 ' || fail "systemd is not on the system bus"
}

testcase_world_libvirtd_12_9_runs_qemu_11_1() {
	world_only
	if ! systemctl is-active -q libvirtd; then
		systemctl --no-pager status libvirtd virt-secret-init-encryption || true
		journalctl -b --no-pager -u virt-secret-init-encryption -u libvirtd.socket -u virtlogd.socket | tail -n 20
		fail "libvirtd.service is $(systemctl is-active libvirtd)"
	fi
	t=$(now)
	# the first connection makes libvirtd probe QEMU's capabilities (TCG: slow)
	out=$(virsh -c qemu:///system version --daemon) || fail "virsh cannot reach libvirtd"
	timing "libvirtd-first-connect" "$(elapsed "$t")"
	log "$out"
	assert_contains "$out" "Running against daemon: 12.9." "libvirtd's version"
	assert_contains "$out" "Running hypervisor: QEMU 11.1." "QEMU's version (libvirtd's probe)"
	v=$(/usr/bin/qemu-system-x86_64 --version | head -n1)
	assert_contains "$v" "version 11.1." "qemu-system-x86_64 --version"
}

# vfiod (built on the Debian 12 host, installed by meson) runs under its
# unit on this world's libraries: every shared object it maps, the ones it
# dlopens for libvirt (libvirt.so.0, libxml2.so.2) included, belongs to
# one of the world's packages: none is a copy of the host's (the runner
# names any library it had to copy).
testcase_world_vfiod_runs_on_the_worlds_libraries() {
	world_only
	wait_until 60 systemctl is-active -q vfiod
	pid=$(systemctl show -p MainPID --value vfiod)
	[ "$pid" -gt 0 ] || fail "vfiod has no main pid"
	vfioctl vm list >/dev/null || fail "vfioctl cannot talk to vfiod"
	# vfiod follows libvirt's events: it loads libvirt's client once libvirtd is up
	poll_until 120 grep -q '/libvirt\.so\.0' "/proc/$pid/maps" ||
		fail "vfiod did not load libvirt.so.0 (journal: $(vfiod_journal | tail -n 5))"
	libs=$(awk '$6 ~ /\.so/ { print $6 }' "/proc/$pid/maps" | sort -u)
	for l in $libs; do
		owner=$(dpkg -S "$l" 2>/dev/null || dpkg -S "$(readlink -f "$l")" 2>/dev/null) ||
			fail "vfiod maps $l, which no package of the world owns (a host copy?)"
		log "vfiod maps $l (${owner%%:*})"
	done
	assert_contains "$libs" "libvirt.so.0" "vfiod's libraries"
	assert_contains "$libs" "libsystemd.so.0" "vfiod's libraries"
	assert_contains "$libs" "libjson-c.so.5" "vfiod's libraries"
}

# libvirt 12's iommufd hostdev (<driver iommufd='yes'/>, as in libvirt's
# qemuxmlconfdata iommufd-q35.xml): libvirtd opens /dev/iommu and edu's
# cdev and hands both to QEMU. The domain sits in SeaBIOS (no OS).
testcase_world_iommufd_hostdev_domain_starts_and_is_destroyed() {
	world_only
	dom=vfiod-modern-smoke
	xml=/tmp/$dom.xml
	edu=$(lab_device edu)
	bind_vfio "$edu"
	set -- /sys/bus/pci/devices/"$edu"/vfio-dev/vfio*
	cdev=/dev/vfio/devices/${1##*/}
	b=${edu#0000:}
	domain_xml "$dom" "    <hostdev mode='subsystem' type='pci' managed='no'>
      <driver iommufd='yes'/>
      <source><address domain='0x0000' bus='0x${b%%:*}' slot='0x$(echo "$b" | cut -d: -f2 | cut -d. -f1)' function='0x${b##*.}'/></source>
    </hostdev>" >"$xml"
	t=$(now)
	virsh create "$xml" || fail "virsh create of an iommufd hostdev domain"
	timing "virsh-create-iommufd-hostdev" "$(elapsed "$t")"
	assert_eq running "$(virsh domstate "$dom")" "domain state"
	virsh dumpxml "$dom" | grep -q "iommufd='yes'" || fail "the live XML lost iommufd='yes'"
	pid=$(qemu_pid "$dom")
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'iommufd' || fail "QEMU's command line has no iommufd object"

	# QEMU holds /dev/iommu and edu's cdev, opened by libvirtd and passed
	# on (QEMU's private /dev has neither node): fdinfo names the inode of
	# this host's /dev/iommu
	iommu_fd='' cdev_fd=''
	for f in /proc/"$pid"/fd/*; do
		case "$(readlink "$f")" in
		/dev/iommu) iommu_fd=${f##*/} ;;
		"$cdev") cdev_fd=${f##*/} ;;
		esac
	done
	ls -l "/proc/$pid/fd" | grep -E 'iommu|vfio' || true
	[ -n "$iommu_fd" ] || fail "QEMU (pid $pid) holds no /dev/iommu"
	[ -n "$cdev_fd" ] || fail "QEMU (pid $pid) holds no $cdev"
	info=$(cat "/proc/$pid/fdinfo/$iommu_fd")
	log "fdinfo of QEMU's /dev/iommu (fd $iommu_fd): $(echo "$info" | tr '\n' ' ')"
	assert_eq "$(stat -L -c %i /dev/iommu)" "$(echo "$info" | sed -n 's/^ino:[[:space:]]*//p')" \
		"inode in fdinfo of QEMU's fd $iommu_fd vs /dev/iommu"
	# the iommufd path, not the group's
	group=$(pci_group "$edu")
	for f in /proc/"$pid"/fd/*; do
		[ "$(readlink "$f")" != "/dev/vfio/$group" ] || fail "QEMU opened edu's group node /dev/vfio/$group"
	done
	log "vfiod's VMs: $(vfiod_vm_names | tr '\n' ' ')"

	t=$(now)
	virsh destroy "$dom" || fail "virsh destroy"
	timing "virsh-destroy" "$(elapsed "$t")"
	wait_until 30 sh -c "! kill -0 $pid 2>/dev/null"
	virsh list --all --name | grep -qx "$dom" && fail "the transient domain is still listed"
	unbind_vfio "$edu"
	rm -f "$xml"
}
