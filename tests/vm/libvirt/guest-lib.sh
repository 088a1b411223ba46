# shellcheck shell=sh
# Helpers for libvirt guest cases (tests/vm/cases/<name>.sh run by
# tests/vm/run-libvirt-test.sh), sourced in the Debian guest after the lab's
# tests/vm/guest-lib.sh, whose assertions and device helpers work here too
# (start_vfiod/stop_vfiod do not: vfiod runs under its unit). Adds:
#
#   timing WHAT SECONDS            records a duration: @@VFIOD-TIME ...@@ on the console
#   vfiod_restart                  systemctl restart vfiod, waits until active
#   vfiod_vm_names                 vfiod's VMs, one name a line (sorted)
#   vfiod_vm_prop NAME PROP        a property of VM NAME (busctl value)
#   virsh_define_start XMLFILE     define and start a domain, prints its name
#   domain_xml NAME EXTRA_DEVICES  a TCG domain of 32 MiB that sits in SeaBIOS
#   qemu_pid NAME                  QEMU's pid from libvirt's pidfile
#   memlock_of PID                 the soft RLIMIT_MEMLOCK of PID in bytes
#                                  ("unlimited" when so)

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

# guest-lib.sh polls with busybox's usleep; coreutils sleep takes fractions
usleep() {
	sleep "$(awk -v us="$1" 'BEGIN { printf "%.3f", us / 1000000 }')"
}

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
