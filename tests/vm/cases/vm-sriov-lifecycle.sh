# vfiod-kernels: distro
# vfiod-l0: qemu10
# vfiod-devices: igb
# SR-IOV (issue 15 items 1-2) on an igb PF (82576) that QEMU 10 emulates,
# with Debian's igb and igbvf. The lab (tests/vm/README.md, "SR-IOV"):
# the PF and each VF have IOMMU groups of their own.

# igb_pf: BDF of the lab's igb PF (8086:10c9)
igb_pf() {
	for _d in /sys/bus/pci/devices/*; do
		if [ "$(cat "$_d/vendor"):$(cat "$_d/device")" = 0x8086:0x10c9 ]; then
			basename "$_d"
			return 0
		fi
	done
	fail "no igb PF (8086:10c9)"
}

# pf_vfs PF: the PF's VFs, by BDF, in virtfn order
pf_vfs() {
	_i=0
	while [ -L "/sys/bus/pci/devices/$1/virtfn$_i" ]; do
		basename "$(readlink "/sys/bus/pci/devices/$1/virtfn$_i")"
		_i=$((_i + 1))
	done
}

# ext_caps BDF: the PCIe extended capability IDs of BDF (hex) with their
# offsets, in chain order (0xd: ACS, 0xe: ARI, 0x10: SR-IOV)
ext_caps() {
	od -An -tx4 -v -w4 -j256 "/sys/bus/pci/devices/$1/config" | awk '
		{ w[NR - 1] = $1 }
		END {
			off = 256
			while (off >= 256 && n++ < 64) {
				h = w[(off - 256) / 4]
				v = 0
				for (i = 1; i <= 8; i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
				if (v == 0) break
				printf "%x@%x ", v % 65536, off
				off = int(v / 1048576)
			}
		}'
}

# the lab itself: VFs of a group each, apart from the PF (what
# tests/vm/README.md records), and the capabilities that explain it
testcase_vfs_have_groups_of_their_own() {
	pf=$(igb_pf)
	d=/sys/bus/pci/devices/$pf
	[ "$(cat "$d/sriov_totalvfs")" -ge 2 ] || fail "igb PF offers $(cat "$d/sriov_totalvfs") VFs"
	modprobe igb
	assert_eq igb "$(pci_driver "$pf")" "the PF's driver"
	echo 0 >"$d/sriov_drivers_autoprobe"
	echo 3 >"$d/sriov_numvfs"
	udevadm settle --timeout=30 || true
	rp=$(basename "$(dirname "$(readlink -f "$d")")")
	log "root port $rp (group $(pci_group "$rp")): ext caps $(ext_caps "$rp")"
	log "PF $pf (group $(pci_group "$pf")): ext caps $(ext_caps "$pf")"
	assert_contains "$(ext_caps "$rp")" "d@" "the root port's ACS capability"
	seen=" $(pci_group "$pf") $(pci_group "$rp") "
	n=0
	for vf in $(pf_vfs "$pf"); do
		g=$(pci_group "$vf")
		log "VF $vf: group $g ($(ls "/sys/kernel/iommu_groups/$g/devices" | tr '\n' ' ')), ext caps $(ext_caps "$vf")"
		assert_eq "$vf" "$(ls "/sys/kernel/iommu_groups/$g/devices")" "the only member of $vf's group"
		case "$seen" in
		*" $g "*) fail "VF $vf shares group $g" ;;
		esac
		seen="$seen$g "
		n=$((n + 1))
	done
	assert_eq 3 "$n" "VFs created"
	echo 0 >"$d/sriov_numvfs"
	echo 1 >"$d/sriov_drivers_autoprobe"
	assert_eq "" "$(pf_vfs "$pf")" "VFs left after sriov_numvfs 0"
}
