# vfiod-libvirt: run by tests/vm/runners/run-libvirt-test.sh (Debian guest, systemd, libvirtd 9.0, QEMU 7.2)
# libvirt's QEMU hook (cli/libvirt-hook, installed as
# /etc/libvirt/hooks/qemu.d/vfiod) with vfiod under its shipped unit: a
# domain with an unmanaged PCI hostdev (edu) and an mdev hostdev (mtty,
# defined in /etc/vfiod/vfiod.json, created by the hook) starts with the
# devices claimed by vfiod and QEMU's RLIMIT_MEMLOCK set to vfiod's plan;
# `virsh destroy` gives everything back. Then the installed hook is fed
# hostile input directly: each refusal is one line, exit 1, no state change.

DOM=vfiod-hook
MDEV_UUID=7d5a3f2e-1c4b-4e8a-9f60-0a1b2c3d4e5f
CONFIG=/etc/vfiod/vfiod.json
HOOK=/etc/libvirt/hooks/qemu.d/vfiod
XML=/tmp/$DOM.xml

hostdevs() { # EDU_BDF
	_b=${1#0000:}
	cat <<XML
    <hostdev mode='subsystem' type='pci' managed='no'>
      <source><address domain='0x0000' bus='0x${_b%%:*}' slot='0x$(echo "$_b" | cut -d: -f2 | cut -d. -f1)' function='0x${_b##*.}'/></source>
    </hostdev>
    <hostdev mode='subsystem' type='mdev' model='vfio-pci'>
      <source><address uuid='$MDEV_UUID'/></source>
    </hostdev>
XML
}

mdev_exists() {
	[ -e "/sys/bus/mdev/devices/$1" ]
}

# what must not change when the hook refuses: vfiod's VMs, edu's driver and
# override, the mdevs ($edu: set by the testcase)
host_state() {
	echo "vms: $(vfiod_vm_names | tr '\n' ' ')"
	echo "edu: $(pci_driver "$edu") $(cat "/sys/bus/pci/devices/$edu/driver_override")"
	echo "mdevs: $(ls /sys/bus/mdev/devices 2>/dev/null | tr '\n' ' ')"
}

testcase_libvirtd_vfiod_and_hook_are_up() {
	systemctl is-active -q vfiod || fail "vfiod.service is $(systemctl is-active vfiod)"
	[ -x "$HOOK" ] || fail "$HOOK is not an executable"
	t=$(now)
	virsh -c qemu:///system version || fail "virsh cannot reach libvirtd"
	# the first connection makes libvirtd probe QEMU's capabilities (TCG: slow)
	virsh -c qemu:///system capabilities >/dev/null || fail "no capabilities"
	timing "libvirtd-first-connect+caps" "$(elapsed "$t")"
	modprobe vfio-pci
	[ -d /sys/class/mdev_bus/mtty ] || fail "mtty parent not loaded (modules-load.d)"
}

testcase_start_claims_devices_and_sets_memlock() {
	edu=$(lab_device edu)
	group=$(pci_group "$edu")
	assert_eq "" "$(pci_driver "$edu")" "edu's driver before the domain"
	mdev_exists "$MDEV_UUID" && fail "mdev $MDEV_UUID exists before the domain"

	# the mdev's definition is vfiod's (no autostart): the hook creates it
	cat >"$CONFIG" <<EOF
{ "mdevs": [ { "uuid": "$MDEV_UUID", "parent": "mtty", "type": "mtty-1", "autostart": false } ] }
EOF
	vfioctl config apply || fail "vfioctl config apply"
	vfioctl config status
	mdev_exists "$MDEV_UUID" && fail "a manual mdev was created by config apply"

	domain_xml "$DOM" "$(hostdevs "$edu")" >"$XML"
	virsh define "$XML" || fail "virsh define"
	t=$(now)
	virsh start "$DOM" || fail "virsh start (hook or QEMU failed)"
	timing "virsh-start-with-vfio-hostdev+mdev" "$(elapsed "$t")"
	assert_eq running "$(virsh domstate "$DOM")" "domain state"

	# vfiod holds the VM with both devices; QEMU is its VMM
	assert_eq "$DOM" "$(vfiod_vm_names)" "vfiod's VMs"
	vfioctl vm show "$DOM"
	assert_eq '"registered"' "$(vfiod_vm_prop "$DOM" State)" "VM state after AttachVMM"
	devices=$(vfiod_vm_prop "$DOM" Devices)
	assert_contains "$devices" "\"$edu\" \"pci\"" "VM devices"
	assert_contains "$devices" "\"$MDEV_UUID\" \"mdev\"" "VM devices"
	assert_eq vfio-pci "$(pci_driver "$edu")" "edu's driver while the domain runs"
	mdev_exists "$MDEV_UUID" || fail "the hook did not create mdev $MDEV_UUID"
	pid=$(qemu_pid "$DOM")
	assert_eq "$pid" "$(vfiod_vm_prop "$DOM" VMMPid)" "VMMPid is QEMU's pid"
	# libvirt's DAC driver, not vfiod (grant_group_nodes=false), gave the group
	# node to QEMU's user: in QEMU's private /dev; the host's stays root's
	assert_eq libvirt-qemu "$(stat -c %U "/proc/$pid/root/dev/vfio/$group")" "owner of QEMU's /dev/vfio/$group"
	assert_eq root "$(stat -c %U "/dev/vfio/$group")" "owner of the host's /dev/vfio/$group"

	# QEMU's RLIMIT_MEMLOCK is vfiod's plan, not libvirt's memory + 1 GiB
	plan=$(vfiod_vm_prop "$DOM" MemlockLimit)
	limit=$(memlock_of "$pid")
	log "QEMU pid $pid: RLIMIT_MEMLOCK $limit, vfiod's MemlockLimit $plan; $(grep VmLck "/proc/$pid/status")"
	assert_ne 18446744073709551615 "$plan" "vfiod's MemlockLimit"
	assert_eq "$plan" "$limit" "QEMU's RLIMIT_MEMLOCK"
	assert_ne $(((32 + 1024) * 1048576)) "$limit" "QEMU's limit (libvirt's own would be memory + 1 GiB)"
	# what QEMU pinned (guest RAM through type1) fits under it
	locked=$(awk '/^VmLck:/ { print $2 * 1024 }' "/proc/$pid/status")
	[ "$locked" -le "$limit" ] || fail "QEMU has $locked bytes locked, above its limit $limit"
	[ "$locked" -ge $((32 * 1048576)) ] || fail "QEMU has only $locked bytes locked: no DMA mapping of guest RAM?"
	# vfiod's check: guest RAM once, QEMU's ROMs within the hook's extra_charge_bytes
	assert_eq true "$(vfiod_vm_prop "$DOM" ChargeMatches)" \
		"vfiod's charge check (expected $(vfiod_vm_prop "$DOM" ExpectedChargeBytes), observed $(vfiod_vm_prop "$DOM" ObservedChargeBytes))"
}

testcase_libvirtd_restart_keeps_the_vm() {
	[ "$(virsh domstate "$DOM" 2>/dev/null)" = running ] || skip "the domain of the previous testcase is not running"
	pid=$(qemu_pid "$DOM")
	path=$(vfiod_vm_path "$DOM")
	devices=$(vfiod_vm_prop "$DOM" Devices)
	failures=$(journalctl -u libvirtd --no-pager | grep -c 'Hook script execution failed' || true)
	# libvirtd runs the hook with "reconnect" for the running domain: vfiod holds it, nothing changes
	t=$(now)
	systemctl restart libvirtd
	wait_until 120 sh -c "[ \"\$(virsh domstate $DOM)\" = running ]"
	timing "libvirtd-restart-reconnect" "$(elapsed "$t")"
	assert_eq "$failures" "$(journalctl -u libvirtd --no-pager | grep -c 'Hook script execution failed' || true)" \
		"hook failures in libvirtd's journal"
	assert_eq "$pid" "$(qemu_pid "$DOM")" "QEMU's pid"
	assert_eq "$path" "$(vfiod_vm_path "$DOM")" "vfiod's VM object"
	assert_eq "$devices" "$(vfiod_vm_prop "$DOM" Devices)" "the VM's devices"
	assert_eq '"registered"' "$(vfiod_vm_prop "$DOM" State)" "the VM's state"
}

testcase_destroy_gives_everything_back() {
	edu=$(lab_device edu)
	[ "$(virsh domstate "$DOM" 2>/dev/null)" = running ] || skip "the domain of the previous testcase is not running"
	stat_errors=$(journalctl -u libvirtd --no-pager | grep -c 'unable to stat: /dev/vfio' || true)
	t=$(now)
	virsh destroy "$DOM" || fail "virsh destroy"
	timing "virsh-destroy" "$(elapsed "$t")"
	wait_until 60 sh -c "[ -z \"\$(vfioctl vm list --json | jq -r '.[].name')\" ]"
	assert_eq "" "$(vfiod_vm_names)" "vfiod's VMs after destroy"
	assert_eq "" "$(pci_driver "$edu")" "edu's driver after destroy (its original: none)"
	assert_eq "(null)" "$(cat "/sys/bus/pci/devices/$edu/driver_override")" "edu's driver_override after destroy"
	mdev_exists "$MDEV_UUID" && fail "the mdev vfiod created is still there"
	# vfiod gave the devices back after libvirt's cleanup (release hook), not
	# before it restored the group nodes' labels
	assert_eq "$stat_errors" "$(journalctl -u libvirtd --no-pager | grep -c 'unable to stat: /dev/vfio' || true)" \
		"libvirtd's 'unable to stat /dev/vfio' errors"
	virsh undefine "$DOM" || fail "virsh undefine"
	rm -f "$CONFIG"
	vfioctl config apply >/dev/null || true
}

testcase_reconnect_readopts_a_vm_vfiod_lost() {
	edu=$(lab_device edu)
	[ -f "$XML" ] || skip "no domain XML from the earlier testcases"
	cat >"$CONFIG" <<EOF
{ "mdevs": [ { "uuid": "$MDEV_UUID", "parent": "mtty", "type": "mtty-1", "autostart": false } ] }
EOF
	vfioctl config apply >/dev/null || fail "vfioctl config apply"
	virsh create "$XML" || fail "virsh create"
	pid=$(qemu_pid "$DOM")
	# vfiod forgets the VM: stopped, its state (the VM journal) gone, started again
	systemctl stop vfiod
	rm -rf /run/vfiod/vms /var/lib/vfiod/*
	systemctl start vfiod
	wait_until 60 systemctl is-active -q vfiod
	assert_eq "" "$(vfiod_vm_names)" "vfiod's VMs after losing its state"
	assert_eq vfio-pci "$(pci_driver "$edu")" "edu stays with QEMU meanwhile"
	# libvirtd's restart runs the hook with "reconnect": vfiod adopts the running domain again
	t=$(now)
	systemctl restart libvirtd
	wait_until 120 sh -c "[ \"\$(vfioctl vm list --json | jq -r '.[].name')\" = $DOM ]"
	timing "libvirtd-restart-readopt" "$(elapsed "$t")"
	assert_eq running "$(virsh domstate "$DOM")" "domain state"
	assert_eq "$pid" "$(vfiod_vm_prop "$DOM" VMMPid)" "VMMPid is QEMU's pid"
	assert_eq '"registered"' "$(vfiod_vm_prop "$DOM" State)" "the VM's state"
	devices=$(vfiod_vm_prop "$DOM" Devices)
	assert_contains "$devices" "\"$edu\" \"pci\"" "VM devices"
	assert_contains "$devices" "\"$MDEV_UUID\" \"mdev\"" "VM devices"
	assert_eq "$(vfiod_vm_prop "$DOM" MemlockLimit)" "$(memlock_of "$pid")" "QEMU's RLIMIT_MEMLOCK after re-adoption"

	virsh destroy "$DOM" || fail "virsh destroy"
	wait_until 60 sh -c "[ -z \"\$(vfioctl vm list --json | jq -r '.[].name')\" ]"
	# adopted as found: edu was on vfio-pci and the mdev existed, so both stay (docs/libvirt.md)
	assert_eq vfio-pci "$(pci_driver "$edu")" "edu's driver after releasing an adopted VM"
	mdev_exists "$MDEV_UUID" || fail "the adopted mdev was removed"
	vfioctl mdev remove "$MDEV_UUID" || fail "vfioctl mdev remove"
	unbind_vfio "$edu"
	rm -f "$CONFIG"
	vfioctl config apply >/dev/null || true
}

# hook_refuses WHAT EXPECTED-TEXT ARGS... <input: the hook must exit 1 with
# exactly one line containing EXPECTED-TEXT, and change nothing
hook_refuses() {
	what=$1 expect=$2
	shift 2
	before=$(host_state)
	rc=0
	t=$(now)
	"$HOOK" "$@" >/tmp/hook.out 2>/tmp/hook.err || rc=$?
	log "$what: rc $rc in $(elapsed "$t") s: $(cat /tmp/hook.err)"
	assert_eq 1 "$rc" "$what: exit status"
	assert_eq 1 "$(wc -l </tmp/hook.err)" "$what: lines on stderr"
	[ ! -s /tmp/hook.out ] || fail "$what: the hook wrote to stdout"
	assert_contains "$(cat /tmp/hook.err)" "$expect" "$what: message"
	assert_eq "$before" "$(host_state)" "$what: host state"
}

# hook_accepts WHAT ARGS... <input: exit 0, no output, no change
hook_accepts() {
	what=$1
	shift
	before=$(host_state)
	rc=0
	"$HOOK" "$@" >/tmp/hook.out 2>/tmp/hook.err || rc=$?
	assert_eq 0 "$rc" "$what: exit status ($(cat /tmp/hook.err))"
	[ ! -s /tmp/hook.err ] && [ ! -s /tmp/hook.out ] || fail "$what: the hook printed something"
	assert_eq "$before" "$(host_state)" "$what: host state"
}

testcase_hook_refuses_hostile_input_without_changes() {
	edu=$(lab_device edu)
	name=hostile
	domain_xml "$name" "$(hostdevs "$edu")" >/tmp/good.xml
	uuid=$(sed -n 's:.*<uuid>\(.*\)</uuid>.*:\1:p' /tmp/good.xml)

	hook_refuses empty "empty" "$name" prepare begin - </dev/null
	head -c 2000000 /dev/zero | tr '\0' ' ' >/tmp/huge.xml
	hook_refuses huge "larger than" "$name" prepare begin - </tmp/huge.xml
	{
		echo "<domain type='qemu'><name>$name</name><uuid>$uuid</uuid><memory>32768</memory>"
		i=0
		while [ $i -lt 200 ]; do printf '<x>'; i=$((i + 1)); done
		i=0
		while [ $i -lt 200 ]; do printf '</x>'; i=$((i + 1)); done
		echo "</domain>"
	} >/tmp/deep.xml
	hook_refuses nested "deeper" "$name" prepare begin - </tmp/deep.xml
	cat >/tmp/lol.xml <<EOF
<?xml version="1.0"?>
<!DOCTYPE domain [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<domain type='qemu'><name>&lol9;</name><uuid>$uuid</uuid><memory>32768</memory></domain>
EOF
	hook_refuses "billion laughs" "DOCTYPE" "$name" prepare begin - </tmp/lol.xml
	head -c 300 /tmp/good.xml >/tmp/cut.xml
	hook_refuses malformed "not well-formed" "$name" prepare begin - </tmp/cut.xml
	hook_refuses "not a domain" "not <domain>" "$name" prepare begin - <<EOF
<network><name>$name</name></network>
EOF

	# names: argv against the XML, too long, characters vfiod cannot hold, control bytes
	hook_refuses "name mismatch" "the hook was called for 'other'" other prepare begin - </tmp/good.xml
	long=$(head -c 2000 /dev/zero | tr '\0' a)
	hook_refuses "long name" "longer than" "$long" prepare begin - </tmp/good.xml
	sed "s:<name>$name</name>:<name>$(head -c 65 /dev/zero | tr '\0' a)</name>:" /tmp/good.xml >/tmp/n65.xml
	hook_refuses "65-byte name" "cannot hold" "$(head -c 65 /dev/zero | tr '\0' a)" prepare begin - </tmp/n65.xml
	sed "s:<name>$name</name>:<name>bad/../name</name>:" /tmp/good.xml >/tmp/slash.xml
	hook_refuses "slash in name" "cannot hold" "bad/../name" prepare begin - </tmp/slash.xml
	sed "s:<name>$name</name>:<name>-dash</name>:" /tmp/good.xml >/tmp/dash.xml
	hook_refuses "leading dash" "cannot hold" "-dash" prepare begin - </tmp/dash.xml
	hook_refuses "newline in name" "control character" "$(printf 'a\nb')" prepare begin - </tmp/good.xml
	rc=0
	"$HOOK" "$name" prepare </tmp/good.xml 2>/tmp/hook.err || rc=$?
	assert_eq 2 "$rc" "wrong argument count: exit status"
	assert_eq 1 "$(wc -l </tmp/hook.err)" "wrong argument count: lines on stderr"

	# operations vfiod has no part in: exit 0 without reading stdin or calling vfiod
	hook_accepts "unknown operation" "$name" frobnicate begin - </tmp/lol.xml
	hook_accepts "migrate" "$name" migrate begin - </tmp/good.xml
	# stopped/release of a VM vfiod does not hold: nothing to do
	hook_accepts "release of an unknown VM" "$name" release end - </tmp/good.xml
	hook_accepts "stopped of an unknown VM" "$name" stopped end - </tmp/good.xml
	# a VM of that name that is not this domain (another UUID) is never released
	vfioctl vm prepare "$name" --memory 64M --backend type1 --vmm-opens-groups --no-grant || fail "vfioctl vm prepare"
	hook_refuses "release of another domain's VM" "not touching it" "$name" release end - </tmp/good.xml
	assert_eq '"prepared"' "$(vfiod_vm_prop "$name" State)" "the other VM's state"
	vfioctl vm release "$name" || fail "vfioctl vm release"
	# started without prepare: vfiod holds nothing to attach
	hook_refuses "started without prepare" "holds no VM" "$name" started begin - </tmp/good.xml
}
