# shellcheck shell=sh
# Helpers for libvirt guest cases (tests/vm/cases/<name>.sh run by
# tests/vm/runners/run-libvirt-test.sh), sourced in the Debian guest after the lab's
# tests/vm/lib/guest-lib.sh, whose assertions and device helpers work here too
# (start_vfiod/stop_vfiod do not: vfiod runs under its unit). Adds:
#
#   timing WHAT SECONDS            records a duration: @@VFIOD-TIME ...@@ on the console
#   vfiod_restart                  systemctl restart vfiod, waits until active
#   vfiod_vm_names                 vfiod's VMs, one name a line (sorted)
#   vfiod_vm_prop NAME PROP        a property of VM NAME (busctl value)
#   domain_xml NAME EXTRA_DEVICES  a TCG domain of 32 MiB that sits in SeaBIOS
#   hotplug_domain_xml NAME        the same with free hot-pluggable slots
#   pci_hostdev_xml BDF [ALIAS]    <hostdev type='pci' managed='no'> of BDF
#   vfiod_alias BDF|UUID           vfioctl's alias for a device (ua-vfiod-...)
#   vfiod_journal                  vfiod's journal of this boot (message only)
#   journal_lines                  its line count, for journal_since
#   journal_since N                vfiod's journal after its first N lines
#   qemu_pid NAME                  QEMU's pid from libvirt's pidfile
#   memlock_of PID                 the soft RLIMIT_MEMLOCK of PID in bytes
#                                  ("unlimited" when so)

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

timing() {
	echo "@@VFIOD-TIME $1 $2 s@@" >/dev/ttyS0
	log "time: $1 $2 s"
}

# monotonic seconds with milliseconds
now() {
	cut -d' ' -f1 /proc/uptime
}

elapsed() {
	awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'
}

vfiod_restart() {
	systemctl restart vfiod
	wait_until 60 systemctl is-active -q vfiod
}

vfiod_vm_names() {
	vfioctl vm list --json | jq -r '.[].name' | sort
}

vfiod_vm_path() {
	busctl call org.vfiod1 /org/vfiod1 org.vfiod1.Manager GetVM s "$1" | sed 's/^o "\(.*\)"$/\1/'
}

vfiod_vm_prop() {
	busctl get-property org.vfiod1 "$(vfiod_vm_path "$1")" org.vfiod1.VM "$2" | sed 's/^[a-z()]* //'
}

domain_xml() {
	cat <<XML
<domain type='qemu'>
  <name>$1</name>
  <uuid>$(cat /proc/sys/kernel/random/uuid)</uuid>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
  </os>
  <features><acpi/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
    <video><model type='none'/></video>
$2
  </devices>
</domain>
XML
}

qemu_pid() {
	cat "/run/libvirt/qemu/$1.pid"
}

memlock_of() {
	awk '/^Max locked memory/ { print ($4 == "unlimited") ? "unlimited" : $4 }' "/proc/$1/limits"
}

# Free hot-pluggable slots (libvirt adds controllers only for the devices
# defined): a conventional PCI device such as edu goes on the
# pcie-to-pci-bridge, whose SHPC slots, never enabled by the firmware,
# plug and unplug without the guest; root ports for PCIe devices. Machine
# pc-q35-6.0 keeps QEMU's native hotplug (later q35 machines hotplug
# through ACPI, which needs a guest OS to eject).
hotplug_domain_xml() { # NAME
	domain_xml "$1" "    <controller type='pci' index='0' model='pcie-root'/>
    <controller type='pci' model='pcie-root-port'/>
    <controller type='pci' model='pcie-root-port'/>
    <controller type='pci' model='pcie-to-pci-bridge'/>" | sed "s/machine='q35'/machine='pc-q35-6.0'/"
}

pci_hostdev_xml() { # BDF [ALIAS]
	_b=${1#0000:}
	echo "<hostdev mode='subsystem' type='pci' managed='no'>"
	echo "  <source><address domain='0x0000' bus='0x${_b%%:*}' slot='0x$(echo "$_b" | cut -d: -f2 | cut -d. -f1)' function='0x${_b##*.}'/></source>"
	[ -z "${2:-}" ] || echo "  <alias name='$2'/>"
	echo "</hostdev>"
}

vfiod_alias() { # BDF|UUID
	echo "ua-vfiod-$1" | tr ':.' '--'
}

vfiod_journal() {
	journalctl -b -u vfiod --no-pager -o cat
}

journal_lines() {
	vfiod_journal | wc -l
}

journal_since() { # N
	vfiod_journal | tail -n +"$(($1 + 1))"
}
