# vfiod-libvirt: run by tests/vm/runners/run-libvirt-test.sh (Debian guest, systemd, libvirtd 9.0, QEMU 7.2)
# Trust boundary: a libvirt client allowed to attach devices to a domain
# cannot make vfiod change a host device (daemon/libvirt/libvirt-events.c). vfiod
# acts only on a <hostdev> the live domain XML shows, by its PCI address or
# mdev UUID; an alias is a label, never a device:
# - a disk (and a NIC) attached with vfioctl's alias naming the e1000e
#   function leaves the function on e1000e and the VM without it;
# - detaching such a disk does not take from the VM the device the alias
#   names;
# - a hostdev whose alias names the e1000e function is taken for the
#   device it really is;
# - a VM registered outside libvirt under a domain's name is untouched by
#   that domain's events (domains are matched to VMs by UUID only).

DOM=vfiod-alias
TWIN=vfiod-twin
DISK=/var/lib/libvirt/images/vfiod-alias.img

vm_devices() { # NAME
	vfiod_vm_prop "$1" Devices
}

vm_has_device() { # NAME DEVICE
	case "$(vm_devices "$1")" in
	*"\"$2\""*) return 0 ;;
	*) return 1 ;;
	esac
}

vm_lacks_device() { # NAME DEVICE
	! vm_has_device "$1" "$2"
}

assert_vm_lacks() { # NAME DEVICE WHAT
	! vm_has_device "$1" "$2" || fail "$3: VM $1 has $2: $(vm_devices "$1")"
}

assert_nic_on_e1000e() { # WHAT
	assert_eq e1000e "$(pci_driver "$(lab_device e1000e)")" "$1: the e1000e function's driver"
}

# until vfiod's journal after line N matches one of the patterns (vfiod has
# handled the event: the old code and the new one log different lines)
wait_journal() { # N PATTERN...
	_wj_n=$1
	shift
	_wj_args=
	for _wj_p in "$@"; do
		_wj_args="$_wj_args -e '$_wj_p'"
	done
	wait_until 60 sh -c "journalctl -b -u vfiod -o cat | tail -n +$((_wj_n + 1)) | grep -qF $_wj_args"
	journal_since "$_wj_n" | sed 's/^/  vfiod: /'
}

# domain_lacks_alias ALIAS: no device of the domain carries ALIAS
domain_lacks_alias() {
	! virsh dumpxml "$DOM" | grep -q "<alias name='$1'/>"
}

# At the end of each testcase, passed or failed: what it may have left (an
# attack that worked on the old code included) is undone, so the next
# testcase starts from the same host: the e1000e function on e1000e, edu
# unbound, no device in the VM, none of the case's aliases in the domain.
restore_host() {
	set +e
	for _rh_a in $(vfiod_alias "$(lab_device e1000e)") $(vfiod_alias "$(lab_device edu)"); do
		virsh dumpxml "$DOM" 2>/dev/null | grep -q "<alias name='$_rh_a'/>" || continue
		virsh detach-device-alias "$DOM" "$_rh_a" --live >/dev/null 2>&1 || true
		poll_until 60 domain_lacks_alias "$_rh_a" || true
	done
	for _rh_d in $(lab_device e1000e) $(lab_device edu); do
		vfioctl vm remove-device "$DOM" "$_rh_d" >/dev/null 2>&1 || true
	done
	_rh_nic=$(lab_device e1000e)
	if [ "$(pci_driver "$_rh_nic")" != e1000e ]; then
		log "restore: the e1000e function is on '$(pci_driver "$_rh_nic")': back to e1000e"
		[ "$(pci_driver "$_rh_nic")" = vfio-pci ] && echo "$_rh_nic" >"/sys/bus/pci/devices/$_rh_nic/driver/unbind"
		echo >"/sys/bus/pci/devices/$_rh_nic/driver_override"
		echo "$_rh_nic" >/sys/bus/pci/drivers/e1000e/bind || true
	fi
	_rh_edu=$(lab_device edu)
	if [ "$(pci_driver "$_rh_edu")" = vfio-pci ]; then
		echo "$_rh_edu" >"/sys/bus/pci/devices/$_rh_edu/driver/unbind"
		echo >"/sys/bus/pci/devices/$_rh_edu/driver_override"
	fi
}

disk_xml() { # ALIAS
	cat <<XML
<disk type='file' device='disk'>
  <driver name='qemu' type='raw'/>
  <source file='$DISK'/>
  <target dev='vdb' bus='virtio'/>
  <alias name='$1'/>
</disk>
XML
}

testcase_setup_domain_held_by_vfiod() {
	systemctl is-active -q vfiod || fail "vfiod.service is $(systemctl is-active vfiod)"
	wait_until 120 sh -c "journalctl -b -u vfiod -o cat | grep -q 'Connected to libvirt at qemu:///system'"
	modprobe vfio-pci
	nic=$(lab_device e1000e)
	if [ "$(pci_driver "$nic")" != e1000e ]; then
		modprobe e1000e
		[ -n "$(pci_driver "$nic")" ] || echo "$nic" >/sys/bus/pci/drivers/e1000e/bind
	fi
	assert_nic_on_e1000e "before the case"

	hotplug_domain_xml "$DOM" >/tmp/dom.xml
	virsh define /tmp/dom.xml || fail "virsh define"
	virsh start "$DOM" || fail "virsh start"
	# no hostdev at start: the hook leaves the domain alone; the case registers
	# it the way the hook would, under the domain's UUID
	vfioctl vm prepare "$DOM" --uuid "$(virsh domuuid "$DOM")" --memory 32M --backend type1 \
		--vmm-opens-groups --no-grant --extra-charge 4M || fail "vfioctl vm prepare"
	vfioctl vm attach-vmm "$DOM" --pid "$(qemu_pid "$DOM")" || fail "vfioctl vm attach-vmm"
	truncate -s 1M "$DISK"
}

testcase_disk_with_vfiod_alias_leaves_nic_alone() {
	trap restore_host EXIT
	nic=$(lab_device e1000e)
	alias=$(vfiod_alias "$nic")
	disk_xml "$alias" >/tmp/disk.xml

	n=$(journal_lines)
	virsh attach-device "$DOM" /tmp/disk.xml --live || fail "virsh attach-device (disk)"
	virsh dumpxml "$DOM" | grep -q "<alias name='$alias'/>" || fail "libvirt did not keep the alias"
	wait_journal "$n" "$alias"
	assert_nic_on_e1000e "after the disk's attach"
	assert_vm_lacks "$DOM" "$nic" "after the disk's attach"

	n=$(journal_lines)
	virsh detach-device-alias "$DOM" "$alias" --live || fail "virsh detach-device-alias"
	wait_until 60 sh -c "! virsh dumpxml $DOM | grep -q \"<alias name='$alias'/>\""
	wait_journal "$n" "$alias"
	assert_nic_on_e1000e "after the disk's detach"
	assert_vm_lacks "$DOM" "$nic" "after the disk's detach"
}

testcase_nic_with_vfiod_alias_leaves_nic_alone() {
	trap restore_host EXIT
	nic=$(lab_device e1000e)
	alias=$(vfiod_alias "$nic")
	cat >/tmp/if.xml <<XML
<interface type='user'>
  <model type='virtio'/>
  <alias name='$alias'/>
</interface>
XML
	n=$(journal_lines)
	virsh attach-device "$DOM" /tmp/if.xml --live 2>/tmp/err ||
		skip "libvirt cannot hot-plug a user-mode NIC here: $(cat /tmp/err)"
	wait_journal "$n" "$alias"
	assert_nic_on_e1000e "after the interface's attach"
	assert_vm_lacks "$DOM" "$nic" "after the interface's attach"
	virsh detach-device-alias "$DOM" "$alias" --live || fail "virsh detach-device-alias"
	wait_until 60 sh -c "! virsh dumpxml $DOM | grep -q \"<alias name='$alias'/>\""
	assert_nic_on_e1000e "after the interface's detach"
}

testcase_disk_detach_does_not_take_the_vms_device() {
	trap restore_host EXIT
	edu=$(lab_device edu)
	alias=$(vfiod_alias "$edu")
	# the VM's owner gave it edu (claimed by vfiod, not attached in libvirt)
	vfioctl vm add-device "$DOM" "$edu" || fail "vfioctl vm add-device"
	assert_eq vfio-pci "$(pci_driver "$edu")" "edu after add-device"
	disk_xml "$alias" >/tmp/disk.xml

	n=$(journal_lines)
	virsh attach-device "$DOM" /tmp/disk.xml --live || fail "virsh attach-device (disk)"
	wait_journal "$n" "$alias"
	n=$(journal_lines)
	virsh detach-device-alias "$DOM" "$alias" --live || fail "virsh detach-device-alias"
	wait_until 60 sh -c "! virsh dumpxml $DOM | grep -q \"<alias name='$alias'/>\""
	wait_journal "$n" "$alias"
	vm_has_device "$DOM" "$edu" || fail "the disk's detach took edu from the VM: $(vm_devices "$DOM")"
	assert_eq vfio-pci "$(pci_driver "$edu")" "edu after the disk's detach"

	vfioctl vm remove-device "$DOM" "$edu" || fail "vfioctl vm remove-device"
	assert_eq "" "$(pci_driver "$edu")" "edu given back"
}

testcase_hostdev_alias_naming_the_nic_is_not_the_nic() {
	trap restore_host EXIT
	nic=$(lab_device e1000e)
	edu=$(lab_device edu)
	alias=$(vfiod_alias "$nic")
	bind_vfio "$edu" # managed='no': the admin put it on vfio-pci
	pci_hostdev_xml "$edu" "$alias" >/tmp/edu.xml

	n=$(journal_lines)
	virsh attach-device "$DOM" /tmp/edu.xml --live || fail "virsh attach-device (edu as $alias)"
	wait_journal "$n" "$alias"
	assert_nic_on_e1000e "after the hostdev's attach"
	assert_vm_lacks "$DOM" "$nic" "after the hostdev's attach"
	# what libvirt really attached is edu: vfiod takes that into account
	wait_until 30 vm_has_device "$DOM" "$edu"

	virsh detach-device-alias "$DOM" "$alias" --live || fail "virsh detach-device-alias"
	wait_until 60 vm_lacks_device "$DOM" "$edu"
	assert_nic_on_e1000e "after the hostdev's detach"
	assert_eq vfio-pci "$(pci_driver "$edu")" "edu given back to the admin's vfio-pci"
	unbind_vfio "$edu"
}

testcase_vm_with_a_domains_name_is_untouched() {
	edu=$(lab_device edu)
	trap 'set +e; vfioctl vm release "$TWIN" >/dev/null 2>&1; kill "$vmm" 2>/dev/null; virsh destroy "$TWIN" >/dev/null 2>&1; virsh undefine "$TWIN" >/dev/null 2>&1; restore_host' EXIT
	# a domain without hostdev (the hook does not register it) ...
	hotplug_domain_xml "$TWIN" >/tmp/twin.xml
	virsh define /tmp/twin.xml || fail "virsh define $TWIN"
	virsh start "$TWIN" || fail "virsh start $TWIN"
	# ... and a VM of vfiod outside libvirt under the same name
	sleep 600 &
	vmm=$!
	vfioctl vm register "$TWIN" --pid "$vmm" --memory 32M --backend type1 --vmm-opens-groups ||
		fail "vfioctl vm register $TWIN"
	assert_ne "\"$(virsh domuuid "$TWIN")\"" "$(vfiod_vm_prop "$TWIN" UUID)" "the VM's UUID"

	bind_vfio "$edu"
	pci_hostdev_xml "$edu" >/tmp/edu.xml
	n=$(journal_lines)
	virsh attach-device "$TWIN" /tmp/edu.xml --live || fail "virsh attach-device $TWIN"
	wait_journal "$n" "domain $TWIN " "VM $TWIN: libvirt"
	assert_vm_lacks "$TWIN" "$edu" "after the domain's DEVICE_ADDED"
	# not even an attempt (it would fail here anyway if another VM held edu)
	! journal_since "$n" | grep -F "VM $TWIN: libvirt" || fail "vfiod took the domain's event for VM $TWIN"

	n=$(journal_lines)
	virsh detach-device "$TWIN" /tmp/edu.xml --live || fail "virsh detach-device $TWIN"
	wait_until 60 sh -c "! virsh dumpxml $TWIN | grep -q '<hostdev'"
	virsh destroy "$TWIN" || fail "virsh destroy $TWIN"
	# the VM outlives its namesake's stop: only its own VMM's exit ends it
	assert_eq '"registered"' "$(vfiod_vm_prop "$TWIN" State)" "the VM's state after the domain's stop"
	assert_vm_lacks "$TWIN" "$edu" "after the domain's events"
	! journal_since "$n" | grep -F "VM $TWIN: libvirt" || fail "vfiod took the domain's events for VM $TWIN"
	assert_eq vfio-pci "$(pci_driver "$edu")" "edu, the admin's"

	vfioctl vm release "$TWIN" || fail "vfioctl vm release $TWIN"
	kill "$vmm"
	virsh undefine "$TWIN" || fail "virsh undefine $TWIN"
	unbind_vfio "$edu"
}

testcase_teardown() {
	virsh destroy "$DOM" || fail "virsh destroy"
	wait_until 60 sh -c "! vfioctl vm list --json | jq -r '.[].name' | grep -qx '$DOM'"
	virsh undefine "$DOM" || fail "virsh undefine"
	rm -f "$DISK"
	assert_nic_on_e1000e "at the end"
}
