#!/bin/sh
# vm-debian-package, guest side: runs as vfiod-package-check.service in the
# Debian 12 guest whose root had `apt install ./vfiod_*.deb
# ./vfiod-dkms_*.deb` (tests/vm/run-debian-package.sh); this is its first
# boot since. Prints @@VFIOD-CASE package NAME PASS|FAIL@@ per check and
# @@VFIOD-DONE rc@@ at the end.
. /opt/vfiod-package/ids.env

PATH=/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive
rc=0
E1000E=0000:02:00.0

mark() {
	echo "@@VFIOD-CASE package $1 $2@@"
}

check() {
	name=$1
	shift
	if out=$("$@" 2>&1); then
		[ -z "$out" ] || echo "$out"
		mark "$name" PASS
	else
		echo "$out"
		mark "$name" FAIL
		rc=1
	fi
}

driver_of() {
	[ -L "/sys/bus/pci/devices/$1/driver" ] && basename "$(readlink "/sys/bus/pci/devices/$1/driver")"
}

# the packaged unit, enabled by dh_installsystemd, started at boot
unit_enabled_and_running() {
	[ "$(systemctl is-enabled vfiod.service)" = enabled ] ||
		{ echo "is-enabled: $(systemctl is-enabled vfiod.service)"; return 1; }
	[ "$(systemctl is-active vfiod.service)" = active ] ||
		{ systemctl status vfiod.service --no-pager; return 1; }
	path=$(systemctl show -P FragmentPath vfiod.service)
	dpkg -S "$path" | grep -q '^vfiod:' || { echo "vfiod.service at $path is not the package's"; return 1; }
	echo "vfiod.service: $path, $(systemctl show -P MainPID vfiod.service) $(systemctl show -P ExecMainStartTimestamp vfiod.service)"
}

# DKMS built vfiod_mm for this kernel at install; modules-load.d loaded it
module_from_dkms_loaded() {
	[ "$(uname -r)" = "$KVER" ] || { echo "running $(uname -r), not $KVER"; return 1; }
	dkms status vfiod-mm | grep -q "$KVER.*installed" || { dkms status; return 1; }
	file=$(modinfo -n vfiod_mm) || return 1
	case $file in
	*/updates/dkms/vfiod_mm.ko*) ;;
	*) echo "vfiod_mm comes from $file, not from DKMS"; return 1 ;;
	esac
	grep -q '^vfiod_mm ' /proc/modules || { echo "vfiod_mm is not loaded"; return 1; }
	echo "vfiod_mm: $file"
}

# vfiod found the helper and can use it (the Manager's MmHelper)
vfiod_uses_the_module() {
	helper=$(busctl get-property org.vfiod1 /org/vfiod1 org.vfiod1.Manager MmHelper) || return 1
	echo "MmHelper: $helper"
	[ "$helper" = 's "available"' ]
}

vfioctl_answers() {
	vfioctl devices >/tmp/devices || return 1
	cat /tmp/devices
	grep -q "^$E1000E " /tmp/devices || { echo "no $E1000E in vfioctl devices"; return 1; }
	vfioctl --version | grep -q "^vfioctl " || return 1
}

# names from the guest's own udev hardware database (the udev package's
# hwdb.bin), as lspci and udev name the e1000e: vfioctl devices, show and
# groups must give the same ones (lib/pci-names.c through the packaged vfiod)
vfioctl_names_devices() {
	modalias=$(cut -c1-22 "/sys/bus/pci/devices/$E1000E/modalias") || return 1
	vendor=$(systemd-hwdb query "$modalias" | sed -n 's/^ID_VENDOR_FROM_DATABASE=//p')
	model=$(systemd-hwdb query "$modalias" | sed -n 's/^ID_MODEL_FROM_DATABASE=//p')
	[ -n "$vendor" ] && [ -n "$model" ] ||
		{ echo "the guest's hwdb does not name $modalias: '$vendor' '$model'"; return 1; }
	echo "$E1000E ($modalias): $vendor $model"
	vfioctl devices >/tmp/devices || return 1
	grep "^$E1000E " /tmp/devices | grep -qF " $vendor $model" ||
		{ echo "vfioctl devices: $(grep "^$E1000E " /tmp/devices)"; return 1; }
	vfioctl show "$E1000E" >/tmp/show || return 1
	grep -qxF "      Vendor name: $vendor" /tmp/show && grep -qxF "      Device name: $model" /tmp/show ||
		{ cat /tmp/show; return 1; }
	vfioctl groups >/tmp/groups || return 1
	grep -F " $E1000E " /tmp/groups | grep -qF " $vendor $model " ||
		{ echo "vfioctl groups: $(grep -F " $E1000E " /tmp/groups)"; return 1; }
	vfioctl --json devices | grep -qF "\"device_name\": \"$model\"" ||
		{ echo "vfioctl --json devices has no device_name '$model'"; return 1; }
	# functions the database does not know (edu, 1234:11e8) still show their ids, and "-"
	# (mawk: no regex intervals)
	awk 'NR > 1 && $2 !~ /^0x[0-9a-f][0-9a-f][0-9a-f][0-9a-f]$/ { print "no vendor id: " $0; bad = 1 }
		END { exit bad }' /tmp/devices || return 1
	grep -q '^0000:01:00.0 .* 0x1234 *0x11e8 .* -$' /tmp/devices ||
		{ echo "edu is not listed with ids and no name: $(grep '^0000:01:00.0 ' /tmp/devices)"; return 1; }
}

installed_files_present() {
	for f in /usr/share/man/man1/vfioctl.1.gz /usr/share/man/man8/vfiod.8.gz \
		/usr/share/man/man5/vfiod.json.5.gz /usr/share/man/man8/vfiod-libvirt-hook.8.gz \
		/usr/share/man/man5/org.vfiod1.5.gz /usr/share/bash-completion/completions/vfioctl \
		/usr/share/dbus-1/interfaces/org.vfiod1.Manager.xml /etc/libvirt/hooks/qemu.d/vfiod; do
		[ -e "$f" ] || { echo "missing $f"; return 1; }
	done
}

# a binding vfiod holds when the package goes
bind_e1000e() {
	original=$(driver_of "$E1000E")
	[ -n "$original" ] || { echo "$E1000E has no driver to start with"; return 1; }
	echo "$original" >/tmp/e1000e-driver
	vfioctl bind "$E1000E" || vfioctl bind "$E1000E" --unbind-host-members || return 1
	[ "$(driver_of "$E1000E")" = vfio-pci ] || { echo "driver: $(driver_of "$E1000E")"; return 1; }
	ls /run/vfiod/bindings/
}

purge_is_clean() {
	dpkg -L vfiod vfiod-dkms | sort -u >/tmp/package-files
	# The package's initramfs-tools hook makes the purge trigger
	# update-initramfs, which rebuilds /boot's initramfs: minutes under
	# TCG, for an image this guest never boots (the lab boots its own).
	# The real one ran at install, in the chroot on the host.
	if [ -x /usr/sbin/update-initramfs ]; then
		dpkg-divert --quiet --local --rename --add /usr/sbin/update-initramfs &&
			ln -s /bin/true /usr/sbin/update-initramfs || return 1
	fi
	# bounded: a hang shows what hangs instead of waiting for the host's timeout
	timeout 300 apt-get purge -y -q vfiod vfiod-dkms || {
		rc_purge=$?
		echo "apt-get purge failed or hung (status $rc_purge); processes:"
		for p in /proc/[0-9]*; do
			c=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)
			[ -z "$c" ] || echo "${p#/proc/} $(cut -d' ' -f3 "$p/stat" 2>/dev/null) $c"
		done | tail -n 40
		journalctl -b --no-pager -n 60 2>/dev/null | tail -n 60
		return 1
	}
	for p in vfiod vfiod-dkms; do
		if dpkg-query -W -f '${db:Status-Status}\n' "$p" 2>/dev/null | grep -qv '^not-installed$'; then
			echo "$p: $(dpkg-query -W -f '${db:Status-Status}' "$p")"
			return 1
		fi
	done
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" != vfiod ] || { echo "vfiod still runs: ${p#/proc/}"; return 1; }
	done
	# every file and link of the packages is gone (directories and the
	# merged-/usr links such as /lib are shared), the module too
	left=0
	while read -r f; do
		[ ! -d "$f" ] || continue
		if [ -e "$f" ] || [ -L "$f" ]; then
			echo "left behind: $f"
			left=1
		fi
	done </tmp/package-files
	[ "$left" -eq 0 ] || return 1
	for d in /run/vfiod /var/lib/vfiod /etc/vfiod /var/lib/dkms/vfiod-mm /usr/src/vfiod-mm-*; do
		[ ! -e "$d" ] || { echo "left behind: $d"; ls -la "$d"; return 1; }
	done
	ls /usr/lib/modules/"$KVER"/updates/dkms/vfiod_mm.ko* 2>/dev/null && { echo "module left behind"; return 1; }
	[ ! -e /etc/systemd/system/multi-user.target.wants/vfiod.service ] ||
		{ echo "the unit is still enabled"; return 1; }
	:
}

no_binding_left() {
	original=$(cat /tmp/e1000e-driver)
	[ "$(driver_of "$E1000E")" = "$original" ] ||
		{ echo "$E1000E driver: '$(driver_of "$E1000E")', expected '$original'"; return 1; }
	override=$(cat "/sys/bus/pci/devices/$E1000E/driver_override")
	[ "$override" = "(null)" ] || { echo "driver_override left: $override"; return 1; }
}

check unit_enabled_and_running unit_enabled_and_running
check module_from_dkms_loaded module_from_dkms_loaded
check vfiod_uses_the_module vfiod_uses_the_module
check vfioctl_answers vfioctl_answers
check vfioctl_names_devices vfioctl_names_devices
check installed_files_present installed_files_present
check bind_e1000e bind_e1000e
check purge_is_clean purge_is_clean
check no_binding_left no_binding_left

echo "guest uptime: $(cut -d' ' -f1 /proc/uptime) s; systemd jobs: $(systemctl list-jobs --no-legend | wc -l)"
echo "@@VFIOD-DONE $rc@@"
# The unit's SuccessAction=poweroff-immediate did not end this guest once
# the packages were purged (the guest idled until the host's timeout; not
# seen in vm-systemd-boot, whose checks purge nothing). The root is the
# initramfs, so nothing is lost by powering off here, at once.
sync
echo o >/proc/sysrq-trigger
exit 0
