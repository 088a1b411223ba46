# vfiod-kernels: distro
# vfiod-l0: qemu10
# vfiod-devices: igb
# Vendor vGPUs on VFs (issue 15 item 4) on a real kernel: the lab builds
# tests/kernel/vfiod_igbvf_vgpu.c, a variant driver on vfio_pci_core for
# igb VFs (8086:10ca, vfio_pci: alias in modules.alias) that offers the
# sysfs interface of NVIDIA's vGPU 17+ manager: nvidia/creatable_vgpu_types
# and nvidia/current_vgpu_type, fake types 11 (at most 4 per PF), 12 (2)
# and 14 (1), one type per PF at a time; a type change while the VF is
# open is refused, and so is an open while the type is 0.
#   - VM.CreateVgpu picks an unbound VF, binds it to that driver by alias,
#     sets the type and hands it out; the reference VMM opens it (type1);
#   - the type cannot change while the VMM has it open, and another type
#     finds no free VF (NoFreeVF); an unknown parent is refused;
#   - the VM's release sets the type back to 0 (the driver logs it) and
#     gives the VF back unbound;
#   - the PF's free counts (vfioctl show) are right before, during, after.

. /opt/vfiod/tests/vmm/vmm-lib.sh
. /opt/vfiod/tests/vm/lib/vm-ownership-lib.sh

VARIANT=vfiod_igbvf_vgpu

igb_pf() {
	for _d in /sys/bus/pci/devices/*; do
		if [ "$(cat "$_d/vendor"):$(cat "$_d/device")" = 0x8086:0x10c9 ]; then
			basename "$_d"
			return 0
		fi
	done
	fail "no igb PF (8086:10c9)"
}

# free_count PF TYPE: the PF's free count of TYPE as vfioctl show says, "none" when not listed
free_count() {
	vfioctl_ok --json show "$1"
	jq -r --argjson t "$2" '[.device.vgpu_types // [] | .[] | select(.id == $t) | .free][0] // "none"' "$OUT"
}

vf_type() {
	cat "/sys/bus/pci/devices/$1/nvidia/current_vgpu_type"
}

setup_vfs() {
	modprobe igb
	modprobe vfio-pci
	modprobe vfio_iommu_type1 || true
	modprobe "$VARIANT" || fail "modprobe $VARIANT failed"
	PF=$(igb_pf)
	echo 0 >"/sys/bus/pci/devices/$PF/sriov_drivers_autoprobe"
	echo 2 >"/sys/bus/pci/devices/$PF/sriov_numvfs"
	udevadm settle --timeout=30 || true
	VF0=$(basename "$(readlink "/sys/bus/pci/devices/$PF/virtfn0")")
	VF1=$(basename "$(readlink "/sys/bus/pci/devices/$PF/virtfn1")")
	assert_eq "" "$(pci_driver "$VF0")" "VF0's driver (autoprobe off)"
	assert_eq "" "$(pci_driver "$VF1")" "VF1's driver (autoprobe off)"
}

testcase_vgpu_on_a_vf() {
	setup_vfs
	start_vfiod
	# no VF on the vendor's driver yet: no types to show
	assert_eq none "$(free_count "$PF" 11)" "free count of type 11 before any VF offers it"

	vmm_spawn --type1 "$VF0" --vfiod vm-vgpu --user vmm --memlock 64M --mem 16M
	vfioctl_ok vm register vm-vgpu --pid "$VMM_PID" --backend type1 --memory 16M
	vfioctl vm create-vgpu vm-vgpu 11 --parent 0000:00:00.0
	assert_refused org.vfiod1.Error.NoSuchParent
	vfioctl_ok vm create-vgpu vm-vgpu 11 --parent "$PF"
	assert_eq "$VF0" "$(cat "$OUT")" "the VF CreateVgpu picked"
	assert_eq "$VARIANT" "$(pci_driver "$VF0")" "VF0's driver, chosen by alias"
	assert_eq 11 "$(vf_type "$VF0")" "VF0's vGPU type"

	# the second VF on the vendor's driver by hand: one type per PF, 11 has room
	echo "$VARIANT" >"/sys/bus/pci/devices/$VF1/driver_override"
	echo "$VF1" >/sys/bus/pci/drivers_probe
	assert_eq "$VARIANT" "$(pci_driver "$VF1")" "VF1's driver"
	assert_eq 0 "$(vf_type "$VF1")" "VF1's vGPU type"
	assert_eq 1 "$(free_count "$PF" 11)" "free count of type 11 with VF0 taken"
	assert_eq none "$(free_count "$PF" 12)" "type 12 while the PF runs 11"

	# the reference VMM opens the VF and maps memory through it
	vmm_go
	vmm_step map 0x100000 1M
	if echo 12 >"/sys/bus/pci/devices/$VF0/nvidia/current_vgpu_type" 2>/dev/null; then
		fail "the driver took a type change while the VF is open"
	fi
	if echo 0 >"/sys/bus/pci/devices/$VF0/nvidia/current_vgpu_type" 2>/dev/null; then
		fail "the driver took type 0 while the VF is open"
	fi
	assert_eq 11 "$(vf_type "$VF0")" "VF0's type while open"
	vfioctl vm create-vgpu vm-vgpu 12 --parent "$PF"
	assert_refused org.vfiod1.Error.NoFreeVF
	assert_eq 0 "$(vf_type "$VF1")" "VF1's type after the refused CreateVgpu"

	# release: the type back to 0, then the VF back unbound
	vmm_stop
	wait_until 60 vm_is_gone vm-vgpu
	dmesg | grep -q "$VF0: vGPU type 0" || fail "the driver never saw VF0's type set back to 0"
	assert_eq "" "$(pci_driver "$VF0")" "VF0's driver after release"
	assert_eq 1 "$(free_count "$PF" 11)" "free count of type 11 after release (VF1)"
	assert_eq 1 "$(free_count "$PF" 12)" "free count of type 12 after release (VF1)"
	vfiod_log | grep -q "VF $VF0: vGPU type 11" || fail "vfiod's log names no vGPU of $VF0"
	# a VF's ids read all ones in hardware: its reset is checked by class, not quarantined
	vfioctl_ok --json quarantine list
	assert_eq 0 "$(jq length "$OUT")" "quarantined functions after VF0's release"

	stop_vfiod
	echo > "/sys/bus/pci/devices/$VF1/driver_override"
	echo "$VF1" >"/sys/bus/pci/drivers/$VARIANT/unbind"
	echo 0 >"/sys/bus/pci/devices/$PF/sriov_numvfs"
	echo 1 >"/sys/bus/pci/devices/$PF/sriov_drivers_autoprobe"
}

# A quarantined VF (here: an unreadable record, which fails closed) is
# taken for CreateVgpu's choice: the next VF of the parent gets the type.
testcase_quarantined_vf_is_passed_over() {
	setup_vfs
	mkdir -p /run/vfiod/quarantine
	echo "not a record" >"/run/vfiod/quarantine/$VF0.json"
	start_vfiod
	vfioctl_ok --json quarantine list
	assert_eq "$VF0" "$(jq -r '.[0].device' "$OUT")" "the quarantined VF"
	vmm_spawn --type1 "$VF1" --vfiod vm-q --user vmm --memlock 64M --mem 16M
	vfioctl_ok vm register vm-q --pid "$VMM_PID" --backend type1 --memory 16M
	vfioctl_ok vm create-vgpu vm-q 11 --parent "$PF"
	assert_eq "$VF1" "$(cat "$OUT")" "the VF CreateVgpu picked past the quarantined one"
	assert_eq "" "$(pci_driver "$VF0")" "the quarantined VF's driver (never bound for the vGPU)"
	vmm_go
	vmm_step map 0x100000 1M
	vmm_stop
	wait_until 60 vm_is_gone vm-q
	vfioctl_ok quarantine clear "$VF0"
	stop_vfiod
	rm -rf /run/vfiod/quarantine
	for _vf in "$VF0" "$VF1"; do
		[ -z "$(pci_driver "$_vf")" ] || echo "$_vf" >"/sys/bus/pci/devices/$_vf/driver/unbind"
		echo >"/sys/bus/pci/devices/$_vf/driver_override"
	done
	echo 0 >"/sys/bus/pci/devices/$PF/sriov_numvfs"
	echo 1 >"/sys/bus/pci/devices/$PF/sriov_drivers_autoprobe"
}
