# vfiod-kernels: test
# vfiod-extra: qemu10
# A real QEMU accepts the descriptors vfiod hands out (iommufd backend, test
# kernel): the VM's registered VMM process (vfd-vmm --exec, uid 1000, no
# capabilities) asks GetFds and execs QEMU 10 with
# `-object iommufd,fd=N -device vfio-pci,iommufd=...,fd=M`, as libvirt
# launches QEMU with pre-opened descriptors. QEMU runs paused (-S, no
# guest code under nested TCG): it binds edu's cdev to vfiod's iommufd,
# maps its guest RAM through it and shows edu (1234:11e8) on its PCI bus.
# When QEMU quits, vfiod gives edu back. type1 is not covered: QEMU's
# legacy VFIO backend opens /dev/vfio/vfio and the group node itself and
# takes no container or group descriptor (vfio-pci's fd= is used by the
# iommufd backend only), so a type1 QEMU needs vmm_opens_groups instead.

. /opt/vfiod/tests/vmm/vmm-lib.sh
. /opt/vfiod/tests/vm/lib/vm-ownership-lib.sh

QEMU10=/opt/qemu10/bin/qemu-system-x86_64
GUEST_MEM_MB=64

# qemu_args: QEMU's command line with vfd-vmm's placeholders for EDU
qemu_args() {
	echo "$QEMU10 -L /opt/qemu10/share/qemu -no-user-config -nodefaults -display none -S" \
		"-M q35 -accel tcg,tb-size=32 -smp 1 -m $GUEST_MEM_MB" \
		"-object iommufd,id=iommufd0,fd=@IOMMUFD@" \
		"-device vfio-pci,iommufd=iommufd0,fd=@DEVFD:$EDU@,id=hostdev0" \
		"-chardev stdio,id=qmp0 -mon chardev=qmp0,mode=control"
}

# setup VM: vfiod, and VM registered for a held launcher with edu
setup() {
	has_iommufd || skip "no /dev/iommu on this kernel"
	[ -x "$QEMU10" ] || fail "QEMU 10 is missing from the image (# vfiod-extra: qemu10)"
	modprobe vfio-pci
	EDU=$(lab_device edu)
	BEFORE=$(device_snapshot "$EDU")
	start_vfiod
	# QEMU's own libraries; vfd-vmm passes its environment on through exec
	export LD_LIBRARY_PATH=/opt/qemu10/lib
	# shellcheck disable=SC2046 # one word per argument, none has spaces
	vmm_spawn --vfiod "$1" --user vmm --exec -- $(qemu_args)
	vfioctl_ok vm register "$1" --pid "$VMM_PID" --backend iommufd --memory "${GUEST_MEM_MB}M"
	vfioctl_ok vm add-device "$1" "$EDU"
	assert_eq vfio-pci "$(pci_driver "$EDU")" "edu's driver once it belongs to the VM"
	assert_eq registered "$(vm_state "$1")" "state before GetFds"
}

# qmp JSON: one command on QEMU's QMP (the launcher's stdio); the reply
# with the command's id in QMP_REPLY (events in between are skipped)
QMP_ID=0
qmp() {
	QMP_ID=$((QMP_ID + 1))
	# a QEMU that exited closed the FIFO: an error here, not SIGPIPE
	trap '' PIPE
	echo "$1" | jq -c --arg id "c$QMP_ID" '. + {id: $id}' >&7 ||
		fail "QEMU is gone (QMP $1): $(cat "$VMM_DIR/stderr")"
	while :; do
		vmm_read "$1"
		QMP_REPLY=$(echo "$VMM_REPLY" | tr -d '\r')
		[ "$(echo "$QMP_REPLY" | jq -r '.id // empty')" != "c$QMP_ID" ] || break
	done
	[ "$(echo "$QMP_REPLY" | jq -r 'has("return")')" = true ] || fail "QMP $1: $QMP_REPLY"
}

# fd_target PID FD: what the descriptor refers to
fd_target() {
	readlink "/proc/$1/fd/$2"
}

# launch VM: the launcher gets the descriptors and becomes QEMU; QMP ready
launch() {
	# the VM's secret on the go line (vm-ownership-lib.sh): the launcher proves itself with it
	echo "go $("$VFIOCTL" vm secret "$VMM_VM")" >&7
	vmm_read exec
	case "$VMM_REPLY" in
	"exec ok"*) ;;
	*) fail "the launcher failed: $VMM_REPLY $(cat "$VMM_DIR/stderr")" ;;
	esac
	EXEC=$VMM_REPLY
	assert_eq "$VMM_PID" "$(vmm_field pid "$EXEC")" "pid that got the descriptors"
	assert_eq 1000 "$(vmm_field uid "$EXEC")" "uid of the VMM"
	assert_eq 0000000000000000 "$(vmm_field CapEff "$EXEC")" "capabilities of the VMM"
	IOMMUFD_NR=$(vmm_field iommufd "$EXEC")
	DEVFD_NR=$(vmm_field "$EDU" "$EXEC")
	if [ -z "$IOMMUFD_NR" ] || [ -z "$DEVFD_NR" ]; then
		fail "descriptor numbers missing: $EXEC"
	fi

	# QEMU greets before it creates the machine; it answers commands only
	# from its main loop, once every device is realized: a vfio-pci that
	# cannot use its descriptors ends QEMU before that
	vmm_read greeting
	greeting=$(echo "$VMM_REPLY" | tr -d '\r')
	major=$(echo "$greeting" | jq -r '.QMP.version.qemu.major' 2>/dev/null) ||
		fail "no QMP greeting from QEMU: $greeting $(cat "$VMM_DIR/stderr")"
	assert_eq 10 "$major" "QEMU's major version"
	qmp '{"execute":"qmp_capabilities"}'
	assert_eq "$QEMU10" "$(readlink "/proc/$VMM_PID/exe")" "the program behind the VMM's pid"
}

# the QEMU process works with exactly vfiod's descriptors
assert_qemu_uses_vfiod_fds() {
	assert_eq 1000 "$(awk '/^Uid:/ { print $2 }' "/proc/$VMM_PID/status")" "QEMU's uid"
	assert_eq /dev/iommu "$(fd_target "$VMM_PID" "$IOMMUFD_NR")" "QEMU's fd $IOMMUFD_NR"
	case "$(fd_target "$VMM_PID" "$DEVFD_NR")" in
	/dev/vfio/devices/vfio*) ;;
	*) fail "QEMU's fd $DEVFD_NR is $(fd_target "$VMM_PID" "$DEVFD_NR"), not edu's cdev" ;;
	esac
	# nothing opened behind vfiod's back
	iommu_fds=0
	vfio_fds=0
	for fd in /proc/"$VMM_PID"/fd/*; do
		case "$(readlink "$fd")" in
		/dev/iommu) iommu_fds=$((iommu_fds + 1)) ;;
		/dev/vfio/*) vfio_fds=$((vfio_fds + 1)) ;;
		esac
	done
	assert_eq 1 "$iommu_fds" "/dev/iommu descriptors in QEMU"
	assert_eq 1 "$vfio_fds" "VFIO descriptors in QEMU"

	# edu on QEMU's PCI bus, with the identity QEMU read through the cdev
	qmp '{"execute":"query-pci"}'
	dev=$(echo "$QMP_REPLY" | jq -c '[.return[].devices[] | select(.qdev_id == "hostdev0")][0]')
	log "QEMU's hostdev0: $dev"
	assert_eq 4660:4584 "$(echo "$dev" | jq -r '"\(.id.vendor):\(.id.device)"')" \
		"vendor:device of hostdev0 (1234:11e8, edu)"

	# QEMU mapped its guest RAM through vfiod's iommufd: pinned, and charged
	# to QEMU's own mm (vfiod set per-process accounting before handing it out)
	pin_kb=$(awk '/^VmPin:/ { print $2 }' "/proc/$VMM_PID/status")
	[ "$pin_kb" -ge $((GUEST_MEM_MB * 1024)) ] ||
		fail "QEMU pins $pin_kb kB, expected its ${GUEST_MEM_MB} MiB of guest RAM"
	locked=$("$VFIOCTL" --json vm show "$1" | jq -r .locked_bytes)
	log "QEMU: VmPin $pin_kb kB; vfiod: LockedBytes $locked"
	[ "$locked" -ge $((GUEST_MEM_MB << 20)) ] ||
		fail "vfiod sees LockedBytes $locked, expected >= ${GUEST_MEM_MB} MiB"
}

# quit: QEMU exits 0 on the QMP quit
qemu_quit() {
	qmp '{"execute":"quit"}'
	exec 7>&-
	rc=0
	wait "$VMM_PID" || rc=$?
	exec 8<&-
	assert_eq 0 "$rc" "QEMU's exit status after quit"
}

testcase_qemu_takes_vfiod_iommufd_fds() {
	setup vm-qemu
	launch
	assert_eq active "$(vm_state vm-qemu)" "state once QEMU has the descriptors"
	vfiod_log | grep -q "VM vm-qemu: descriptors to pid $VMM_PID (uid 1000)" ||
		fail "vfiod did not log the descriptors going to the launcher (pid $VMM_PID, uid 1000)"
	assert_qemu_uses_vfiod_fds vm-qemu
	# edu is the VM's as long as QEMU runs
	vfioctl vm remove-device vm-qemu "$EDU"
	assert_refused org.vfiod1.Error.DeviceBusy
	qemu_quit
	wait_until 60 vm_is_gone vm-qemu
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu's driver and driver_override after QEMU quit"
	rm -rf "$VMM_DIR"
	stop_vfiod
}

testcase_killed_qemu_gives_edu_back() {
	setup vm-qemu-kill
	launch
	assert_eq active "$(vm_state vm-qemu-kill)" "state once QEMU has the descriptors"
	kill -KILL "$VMM_PID"
	wait "$VMM_PID" 2>/dev/null || true
	exec 7>&- 8<&-
	wait_until 60 vm_is_gone vm-qemu-kill
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu's driver and driver_override after QEMU died"
	rm -rf "$VMM_DIR"
	stop_vfiod
}

# a launcher that is not the VM's VMM gets nothing, and QEMU never starts
testcase_launcher_not_the_vmm_is_refused() {
	setup vm-qemu-other
	registered=$VMM_PID
	registered_dir=$VMM_DIR
	exec 5>&7 6<&8
	# shellcheck disable=SC2046 # one word per argument, none has spaces
	vmm_spawn --vfiod vm-qemu-other --user vmm --exec -- $(qemu_args)
	echo go >&7
	vmm_read exec
	case "$VMM_REPLY" in
	"setup err="*" stage=exec") ;;
	*) fail "the other launcher answered: $VMM_REPLY" ;;
	esac
	grep -q org.vfiod1.Error.NotVMM "$VMM_DIR/stderr" ||
		fail "expected NotVMM, got: $(cat "$VMM_DIR/stderr")"
	rc=0
	wait "$VMM_PID" || rc=$?
	assert_eq 1 "$rc" "exit status of the refused launcher (vfd-vmm, not QEMU)"
	exec 7>&- 8<&-
	rm -rf "$VMM_DIR"
	assert_eq registered "$(vm_state vm-qemu-other)" "state after the refused GetFds"
	# the registered VMM never launched: releasing gives edu back at once
	VMM_PID=$registered VMM_DIR=$registered_dir
	exec 7>&5 8<&6 5>&- 6<&-
	vfioctl_ok vm release vm-qemu-other
	assert_eq released "$(cat "$OUT")" "Release before the VMM asked"
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu's driver and driver_override after release"
	vmm_kill
	stop_vfiod
}
