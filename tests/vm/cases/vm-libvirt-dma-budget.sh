# vfiod-libvirt: run by tests/vm/runners/run-libvirt-test.sh (Debian guest, systemd, libvirtd 9.0, QEMU 7.2)
# type1's mapping budget through libvirt (docs/memlock.md, "type1 mapping
# budget"), with vfio_iommu_type1's dma_entry_limit lowered to 64: a domain
# with edu (unmanaged) and a 256 MiB virtio-mem device in 2 MiB blocks
# (128 blocks, one DMA mapping each) is over it. `vfioctl memlock plan`
# says so against the live limit, and `virsh start` is refused by the
# prepare hook, naming count and limit and suggesting iommufd, with edu
# never claimed and vfiod holding nothing. The same domain with 128 MiB
# blocks is taken: near the limit with a warning, its count handed to vfiod.

DOM=vfiod-budget
HOOK=/etc/libvirt/hooks/qemu.d/vfiod
LIMIT_PARAM=/sys/module/vfio_iommu_type1/parameters/dma_entry_limit

set_limit() {
	echo "$1" >"$LIMIT_PARAM" || fail "cannot write $LIMIT_PARAM"
	assert_eq "$1" "$(cat "$LIMIT_PARAM")" "dma_entry_limit"
}

# budget_xml NAME BLOCK_MIB: 32 MiB of boot RAM in one NUMA node, edu, and
# a virtio-mem device of 256 MiB in blocks of BLOCK_MIB
budget_xml() {
	domain_xml "$1" "$(pci_hostdev_xml "$(lab_device edu)")
    <memory model='virtio-mem'>
      <target>
        <size unit='MiB'>256</size>
        <node>0</node>
        <block unit='MiB'>$2</block>
        <requested unit='MiB'>0</requested>
      </target>
    </memory>" |
		sed -e "s|<memory unit='MiB'>32</memory>|<maxMemory slots='2' unit='MiB'>1024</maxMemory><memory unit='MiB'>288</memory>|" \
		    -e "s|</os>|</os><cpu><numa><cell id='0' cpus='0' memory='32' unit='MiB'/></numa></cpu>|"
}

host_state() {
	echo "vms: $(vfiod_vm_names | tr '\n' ' ')"
	echo "edu: $(pci_driver "$(lab_device edu)") $(cat "/sys/bus/pci/devices/$(lab_device edu)/driver_override")"
}

testcase_limit_lowered_and_seen() {
	systemctl is-active -q vfiod || fail "vfiod.service is $(systemctl is-active vfiod)"
	modprobe vfio-pci
	modprobe vfio_iommu_type1
	virsh -c qemu:///system capabilities >/dev/null || fail "no capabilities"
	set_limit 64
	assert_eq 64 "$(vfioctl --json host | jq -r .type1_dma_entry_limit)" "Type1DmaEntryLimit"
}

testcase_plan_is_over_the_live_limit() {
	budget_xml "$DOM" 2 >/tmp/over.xml
	vfioctl memlock plan --domain-xml /tmp/over.xml || fail "memlock plan"
	plan=$(vfioctl memlock plan --domain-xml /tmp/over.xml --json | jq -c .dma_mappings)
	log "plan: $plan"
	assert_eq over "$(echo "$plan" | jq -r .verdict)" "verdict"
	assert_eq 64 "$(echo "$plan" | jq -r .limit)" "limit"
	assert_eq host "$(echo "$plan" | jq -r .limit_source)" "limit source"
	# 8 allowance + 1 boot RAM + 128 blocks + 1 free slot + 7 BARs of edu
	assert_eq 145 "$(echo "$plan" | jq -r .count)" "predicted mappings"
	assert_eq 128 "$(echo "$plan" | jq -r '.breakdown[] | select(.rule == "virtio-mem") | .count')" "virtio-mem blocks"
}

testcase_start_refused_before_anything_is_claimed() {
	before=$(host_state)
	assert_eq "vms: " "$(echo "$before" | head -n1)" "vfiod's VMs before"
	virsh define /tmp/over.xml || fail "virsh define (libvirt rejects the virtio-mem domain)"
	rc=0
	virsh start "$DOM" >/tmp/start.out 2>&1 || rc=$?
	log "virsh start: rc $rc: $(cat /tmp/start.out)"
	[ "$rc" -ne 0 ] || fail "virsh start of a domain over dma_entry_limit succeeded"
	msg=$(cat /tmp/start.out)
	assert_contains "$msg" "vfiod-libvirt-hook: prepare" "the refusal is the hook's"
	assert_contains "$msg" "about 145 DMA mappings" "the refusal names the count"
	assert_contains "$msg" "dma_entry_limit of 64" "the refusal names the limit"
	assert_contains "$msg" "iommufd" "the refusal suggests iommufd"
	assert_contains "$msg" "virtio-mem <block>" "the refusal suggests a larger block"
	assert_eq shut\ off "$(virsh domstate "$DOM")" "domain state"
	assert_eq "$before" "$(host_state)" "host state after the refusal"
	virsh undefine "$DOM" || fail "virsh undefine"
}

testcase_larger_blocks_are_taken_near_the_limit() {
	# 2 blocks: 8 + 1 + 2 + 1 + 7 = 19 mappings; with the limit at 20 that is near it
	set_limit 20
	budget_xml "$DOM" 128 >/tmp/ok.xml
	rc=0
	"$HOOK" "$DOM" prepare begin - </tmp/ok.xml >/tmp/hook.out 2>/tmp/hook.err || rc=$?
	log "hook prepare: rc $rc: $(cat /tmp/hook.err)"
	assert_eq 0 "$rc" "hook prepare of the 128 MiB-block domain"
	assert_contains "$(cat /tmp/hook.err)" "warning: a type1 container of this VM would need about 19 DMA mappings" \
		"the warning near the limit"
	assert_eq "$DOM" "$(vfiod_vm_names)" "vfiod holds the VM"
	assert_eq vfio-pci "$(pci_driver "$(lab_device edu)")" "edu claimed"
	journal_since 0 | grep -q "$DOM: its type1 container will need 19 DMA mappings" ||
		fail "vfiod did not get the hook's count (no warning in its journal)"
	"$HOOK" "$DOM" release end - </tmp/ok.xml || fail "hook release"
	assert_eq "" "$(vfiod_vm_names)" "vfiod's VMs after release"
	assert_eq "" "$(pci_driver "$(lab_device edu)")" "edu after release"
	set_limit 65535
}
