# vfiod-kernels: distro test
# vfiod serves the inventory from a copy kept in memory and re-read per
# kernel uevent (daemon/inventory.h). After every kind of change the lab can
# make (a bind to vfio-pci and an unbind, by hand and through vfiod, a
# driver_override written alone, mdevs created and removed, a virtual mdev
# parent registered, a function hot-unplugged and found again by a rescan,
# a burst of changes with no query in between), what the running vfiod
# answers through the system bus and vfioctl --json equals a fresh read:
# a second vfiod, started with --inventory-only on a private bus, which
# keeps no copy and reads sysfs on every call. The comparisons run right
# after each change, with no settling in between, except where a helper
# settles udev: a change whose uevent is queued is seen by the next query.

REF_DIR=/run/vfiod-ref
REF_BUS=unix:path=$REF_DIR/bus
REF_BUS_PID=
REF_PID=
VFIOCTL=/opt/vfiod/bin/vfioctl

ref_has_name() {
	dbus-send --bus="$REF_BUS" --print-reply --dest=org.freedesktop.DBus \
		/org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner \
		string:org.vfiod1 2>/dev/null | grep -q 'boolean true'
}

# start_both: vfiod on the system bus, the fresh-read reference on its own bus
start_both() {
	trap cleanup_both EXIT
	start_vfiod
	mkdir -p "$REF_DIR"
	cat >"$REF_DIR/bus.conf" <<-EOF
	<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
	 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
	<busconfig>
	  <type>custom</type>
	  <listen>$REF_BUS</listen>
	  <auth>EXTERNAL</auth>
	  <policy context="default">
	    <allow user="*"/>
	    <allow own="*"/>
	    <allow send_type="method_call"/>
	    <allow send_type="signal"/>
	    <allow send_type="method_return"/>
	    <allow send_type="error"/>
	    <allow receive_type="method_call"/>
	    <allow receive_type="signal"/>
	    <allow receive_type="method_return"/>
	    <allow receive_type="error"/>
	  </policy>
	</busconfig>
	EOF
	dbus-daemon --config-file="$REF_DIR/bus.conf" --nofork >"$REF_DIR/bus.log" 2>&1 &
	REF_BUS_PID=$!
	wait_until 30 test -S "$REF_DIR/bus"
	"$VFIOD_BIN/vfiod" --bus-address="$REF_BUS" --inventory-only >"$REF_DIR/vfiod.log" 2>&1 &
	REF_PID=$!
	poll_until 30 ref_has_name || { cat "$REF_DIR/vfiod.log" >&2; fail "the reference vfiod did not take its name"; }
}

cleanup_both() {
	[ -z "$REF_PID" ] || kill -TERM "$REF_PID" 2>/dev/null || true
	[ -z "$REF_BUS_PID" ] || kill -TERM "$REF_BUS_PID" 2>/dev/null || true
	if [ -f "$VFIOD_PIDFILE" ]; then
		kill -TERM "$(cat "$VFIOD_PIDFILE")" 2>/dev/null || true
		rm -f "$VFIOD_PIDFILE"
	fi
}

stop_both() {
	kill -TERM "$REF_PID"
	REF_PID=
	kill -TERM "$REF_BUS_PID"
	REF_BUS_PID=
	stop_vfiod
}

# same_as_fresh WHEN: every inventory list and every function's record, from
# the running vfiod and from the reference, byte for byte
same_as_fresh() {
	_sf_n=0
	for _sf_verb in devices groups mdev-parents mdev-types mdevs; do
		"$VFIOCTL" --json $_sf_verb >"$REF_DIR/cached.json" ||
			fail "$1: vfioctl --json $_sf_verb failed"
		"$VFIOCTL" --bus-address="$REF_BUS" --json $_sf_verb >"$REF_DIR/fresh.json" ||
			fail "$1: vfioctl --json $_sf_verb from the reference failed"
		if ! cmp -s "$REF_DIR/cached.json" "$REF_DIR/fresh.json"; then
			diff "$REF_DIR/fresh.json" "$REF_DIR/cached.json" >&2 || true
			fail "$1: vfioctl $_sf_verb of the running vfiod differs from a fresh read (diff: fresh, cached)"
		fi
		# a comparison of two empty answers would prove nothing
		if [ "$_sf_verb" = devices ]; then
			cp "$REF_DIR/fresh.json" "$REF_DIR/fresh-devices.json"
			[ "$(jq length "$REF_DIR/fresh.json")" -gt 0 ] || fail "$1: the fresh read lists no PCI function"
		fi
	done
	# GetDevice and GetGroup too, of the functions the cases change (every
	# function is in the lists above; a show is two calls under TCG)
	for _sf_a in $(lab_addresses); do
		"$VFIOCTL" --json show "$_sf_a" >"$REF_DIR/cached.json" 2>&1 || true
		"$VFIOCTL" --bus-address="$REF_BUS" --json show "$_sf_a" >"$REF_DIR/fresh.json" 2>&1 || true
		if ! cmp -s "$REF_DIR/cached.json" "$REF_DIR/fresh.json"; then
			diff "$REF_DIR/fresh.json" "$REF_DIR/cached.json" >&2 || true
			fail "$1: vfioctl show $_sf_a of the running vfiod differs from a fresh read"
		fi
		_sf_n=$((_sf_n + 1))
	done
	log "$1: the kept inventory equals a fresh read ($(jq length "$REF_DIR/fresh-devices.json") functions, $_sf_n shown)"
}

# lab_addresses: the present functions of edu, e1000e, nvme and the ICH9 SMBus
lab_addresses() {
	for _la in /sys/bus/pci/devices/*; do
		case "$(cat "$_la/vendor"):$(cat "$_la/device")" in
		0x1234:0x11e8|0x8086:0x10d3|0x1b36:0x0010|0x8086:0x2930) basename "$_la" ;;
		esac
	done
}

# cached_field ADDR JQ: a field of ADDR's record as the running vfiod serves it
cached_field() {
	"$VFIOCTL" --json show "$1" | jq -r "$2"
}

testcase_bind_unbind_and_driver_override() {
	bdf=$(lab_device edu)
	[ -z "$(pci_driver "$bdf")" ] || unbind_vfio "$bdf"
	start_both
	same_as_fresh "at start"

	# by hand: override, drivers_probe (pci bind, vfio group add)
	echo vfio-pci >"/sys/bus/pci/devices/$bdf/driver_override"
	echo "$bdf" >/sys/bus/pci/drivers_probe
	assert_eq vfio-pci "$(cached_field "$bdf" .device.driver)" "edu's driver right after the bind"
	assert_eq true "$(cached_field "$bdf" .group.viable)" "edu's group right after the bind"
	same_as_fresh "bound to vfio-pci by hand"

	echo "$bdf" >"/sys/bus/pci/devices/$bdf/driver/unbind"
	same_as_fresh "unbound by hand, override still set"
	# the kernel sends no uevent for this write
	echo >"/sys/bus/pci/devices/$bdf/driver_override"
	assert_eq null "$(cached_field "$bdf" .device.driver_override)" "edu's override right after clearing it"
	same_as_fresh "driver_override cleared alone"
	echo vfio-pci >"/sys/bus/pci/devices/$bdf/driver_override"
	assert_eq vfio-pci "$(cached_field "$bdf" .device.driver_override)" "edu's override right after setting it"
	same_as_fresh "driver_override set alone"
	echo >"/sys/bus/pci/devices/$bdf/driver_override"
	same_as_fresh "driver_override cleared again"

	# through vfiod: its own writes, the unbind's on a thread of its own
	"$VFIOCTL" bind "$bdf" >/dev/null || fail "vfioctl bind $bdf"
	same_as_fresh "bound through vfiod"
	"$VFIOCTL" unbind "$bdf" >/dev/null || fail "vfioctl unbind $bdf"
	same_as_fresh "unbound through vfiod"

	# a host driver binds and unbinds (the distro kernel has e1000e as a module)
	nic=$(lab_device e1000e)
	if modprobe e1000e 2>/dev/null && [ -n "$(pci_driver "$nic")" ]; then
		same_as_fresh "e1000e bound to its host driver"
		echo "$nic" >"/sys/bus/pci/devices/$nic/driver/unbind"
		same_as_fresh "e1000e unbound from its host driver"
	else
		log "no e1000e driver on this kernel: host-driver bind not exercised"
	fi

	# a shared group: the ICH9 SMBus function leaves and rejoins its host driver
	echo 0000:00:1f.3 >/sys/bus/pci/devices/0000:00:1f.3/driver/unbind
	same_as_fresh "ICH9 SMBus unbound (its shared group changes viability)"
	echo 0000:00:1f.3 >/sys/bus/pci/drivers_probe
	same_as_fresh "ICH9 SMBus bound again"

	stop_both
}

testcase_mdev_create_and_remove() {
	[ -d /sys/class/mdev_bus/mtty ] || skip "no mtty mdev parent in this guest"
	start_both
	type=$(ls /sys/class/mdev_bus/mtty/mdev_supported_types | head -n1)
	before=$("$VFIOCTL" --json mdev-types mtty | jq --arg t "$type" '.[] | select(.type == $t) | .available_instances')

	# by hand: the mdev, its parent's available instances, its group
	uuid=$(cat /proc/sys/kernel/random/uuid)
	echo "$uuid" >"/sys/class/mdev_bus/mtty/mdev_supported_types/$type/create"
	assert_eq "$uuid" "$("$VFIOCTL" --json mdevs | jq -r --arg u "$uuid" '.[] | select(.uuid == $u) | .uuid')" \
		"the new mdev right after its creation"
	after=$("$VFIOCTL" --json mdev-types mtty | jq --arg t "$type" '.[] | select(.type == $t) | .available_instances')
	[ "$after" -lt "$before" ] || fail "available_instances of $type still $after after a create (was $before)"
	same_as_fresh "mtty mdev created by hand"
	echo 1 >"/sys/bus/mdev/devices/$uuid/remove"
	same_as_fresh "mtty mdev removed by hand"

	# through vfiod
	uuid=$("$VFIOCTL" mdev create mtty "$type" | tail -n1)
	[ -d "/sys/bus/mdev/devices/$uuid" ] || fail "vfioctl mdev create made no mdev ($uuid)"
	same_as_fresh "mtty mdev created through vfiod"
	"$VFIOCTL" mdev remove "$uuid" >/dev/null || fail "vfioctl mdev remove $uuid"
	wait_until 30 test ! -e "/sys/bus/mdev/devices/$uuid"
	same_as_fresh "mtty mdev removed through vfiod"

	# another parent, and two at once
	if [ -d /sys/class/mdev_bus/mbochs ]; then
		btype=$(ls /sys/class/mdev_bus/mbochs/mdev_supported_types | head -n1)
		u1=$(cat /proc/sys/kernel/random/uuid)
		u2=$(cat /proc/sys/kernel/random/uuid)
		echo "$u1" >"/sys/class/mdev_bus/mbochs/mdev_supported_types/$btype/create"
		echo "$u2" >"/sys/class/mdev_bus/mtty/mdev_supported_types/$type/create"
		same_as_fresh "an mbochs and an mtty mdev created"
		echo 1 >"/sys/bus/mdev/devices/$u1/remove"
		echo 1 >"/sys/bus/mdev/devices/$u2/remove"
		same_as_fresh "both removed"
	fi

	# a parent that registers while vfiod runs (the project's test vGPU)
	if [ -f "$VFIOD_MODULES/vfiod_test_vgpu.ko" ] && ! grep -q '^vfiod_test_vgpu ' /proc/modules; then
		insmod "$VFIOD_MODULES/vfiod_test_vgpu.ko" || fail "insmod vfiod_test_vgpu.ko"
		wait_until 30 test -d /sys/class/mdev_bus/vfiod_vgpu
		same_as_fresh "the test vGPU parent registered"
		u=$(mdev_create vfiod_vgpu vfiod_vgpu-1)
		same_as_fresh "a test vGPU created"
		mdev_remove "$u"
		same_as_fresh "the test vGPU removed"
		rmmod vfiod_test_vgpu || fail "rmmod vfiod_test_vgpu"
		same_as_fresh "the test vGPU parent gone"
	else
		log "the test vGPU module is not built or already loaded: parent registration not exercised"
	fi

	stop_both
}

testcase_hot_unplug_and_rescan() {
	bdf=$(lab_device edu)
	nic=$(lab_device e1000e)
	[ -z "$(pci_driver "$bdf")" ] || unbind_vfio "$bdf"
	start_both

	# an unbound function leaves, its group with it
	echo 1 >"/sys/bus/pci/devices/$nic/remove"
	[ ! -e "/sys/bus/pci/devices/$nic" ] || fail "$nic still present after remove"
	assert_eq "" "$("$VFIOCTL" --json devices | jq -r --arg a "$nic" '.[] | select(.address == $a) | .address')" \
		"the removed function right after its removal"
	same_as_fresh "e1000e hot-unplugged"

	# a function bound to vfio-pci leaves (group node and all)
	bind_vfio "$bdf"
	same_as_fresh "edu bound"
	echo 1 >"/sys/bus/pci/devices/$bdf/remove"
	same_as_fresh "edu hot-unplugged while bound to vfio-pci"

	echo 1 >/sys/bus/pci/rescan
	[ -e "/sys/bus/pci/devices/$nic" ] || fail "$nic not back after a rescan"
	[ -e "/sys/bus/pci/devices/$bdf" ] || fail "$bdf not back after a rescan"
	same_as_fresh "both found again by a rescan"
	[ -z "$(pci_driver "$bdf")" ] || unbind_vfio "$bdf"
	same_as_fresh "edu unbound after the rescan"

	stop_both
}

testcase_a_burst_of_changes_without_queries() {
	bdf=$(lab_device edu)
	[ -z "$(pci_driver "$bdf")" ] || unbind_vfio "$bdf"
	start_both
	same_as_fresh "before the burst"
	i=0
	while [ "$i" -lt 20 ]; do
		echo vfio-pci >"/sys/bus/pci/devices/$bdf/driver_override"
		echo "$bdf" >/sys/bus/pci/drivers_probe
		echo "$bdf" >"/sys/bus/pci/devices/$bdf/driver/unbind"
		echo >"/sys/bus/pci/devices/$bdf/driver_override"
		i=$((i + 1))
	done
	echo vfio-pci >"/sys/bus/pci/devices/$bdf/driver_override"
	echo "$bdf" >/sys/bus/pci/drivers_probe
	same_as_fresh "after 20 binds and unbinds, left bound"
	unbind_vfio "$bdf"
	same_as_fresh "unbound"

	# uevents alone (no driver_override written): the ICH9 SMBus function
	# leaves its host driver and comes back, 20 times, and leaves once more
	smbus=0000:00:1f.3
	i=0
	while [ "$i" -lt 20 ]; do
		echo "$smbus" >"/sys/bus/pci/devices/$smbus/driver/unbind"
		echo "$smbus" >/sys/bus/pci/drivers_probe
		i=$((i + 1))
	done
	echo "$smbus" >"/sys/bus/pci/devices/$smbus/driver/unbind"
	same_as_fresh "after 20 unbinds and binds of the ICH9 SMBus, left unbound"
	echo "$smbus" >/sys/bus/pci/drivers_probe
	same_as_fresh "the ICH9 SMBus bound again"
	stop_both
}

testcase_sriov_vf_changes() {
	for f in /sys/bus/pci/devices/*/sriov_totalvfs; do
		[ -e "$f" ] && break
		skip "the lab has no SR-IOV device (QEMU 7.2's q35 guest: edu, e1000e, nvme, ICH9)"
	done
	pf=$(basename "$(dirname "$f")")
	start_both
	echo 1 >"/sys/bus/pci/devices/$pf/sriov_numvfs" || skip "$pf does not enable VFs"
	same_as_fresh "one VF of $pf enabled"
	echo 0 >"/sys/bus/pci/devices/$pf/sriov_numvfs"
	same_as_fresh "the VFs of $pf disabled"
	stop_both
}
