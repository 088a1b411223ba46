# vfiod-kernels: distro test
# vfiod's udev monitor on a real kernel with udevd: binding, unbinding and
# mdev creation make vfiod emit org.vfiod1.Manager.InventoryChanged(kind,
# action, name), and what vfioctl reads afterwards matches. (The dbus suite
# cannot cover this: its daemon reads a fixture and no udevd runs there.)

EVENTS_LOG=/run/vfiod-events.log
MONITOR_PID=

# start_event_monitor: watch InventoryChanged on the system bus, ready when it returns
start_event_monitor() {
	: >"$EVENTS_LOG"
	dbus-monitor --system \
		"type='signal',interface='org.vfiod1.Manager',member='InventoryChanged'" \
		"type='method_call',interface='org.freedesktop.DBus.Peer',member='Ping'" \
		>"$EVENTS_LOG" 2>&1 &
	MONITOR_PID=$!
	# a Ping the monitor sees proves its match rules are in place
	wait_until 30 ping_seen
}

ping_seen() {
	dbus-send --system --print-reply --dest=org.vfiod1 /org/vfiod1 \
		org.freedesktop.DBus.Peer.Ping >/dev/null 2>&1 || true
	grep -q 'member=Ping' "$EVENTS_LOG"
}

# events: the InventoryChanged signals seen so far, one "kind action name" per line
events() {
	awk '/member=InventoryChanged/ { n = 3; line = ""; next }
	     n > 0 && /^ *string "/ {
		sub(/^ *string "/, ""); sub(/"$/, "")
		line = line (line == "" ? "" : " ") $0
		if (--n == 0) print line
	     }' "$EVENTS_LOG"
}

event_seen() {
	events | grep -qx "$1"
}

# wait_event "KIND ACTION NAME": fail with the events seen unless it comes within 30 s
wait_event() {
	poll_until 30 event_seen "$1" && return 0
	echo "InventoryChanged signals seen:" >&2
	events >&2
	fail "no InventoryChanged($1) within 30 s"
}

cleanup_events() {
	[ -z "$MONITOR_PID" ] || kill "$MONITOR_PID" 2>/dev/null || true
	if [ -f "$VFIOD_PIDFILE" ]; then
		kill -TERM "$(cat "$VFIOD_PIDFILE")" 2>/dev/null || true
		rm -f "$VFIOD_PIDFILE"
	fi
}

testcase_bind_and_unbind_emit_pci_and_group_events() {
	trap cleanup_events EXIT
	bdf=$(lab_device edu)
	group=$(pci_group "$bdf")
	[ -z "$(pci_driver "$bdf")" ] || unbind_vfio "$bdf"

	start_vfiod
	start_event_monitor

	bind_vfio "$bdf"
	wait_event "pci bind $bdf"
	# the group node /dev/vfio/N appears once vfio-pci owns the group
	wait_event "group add $group"
	assert_eq vfio-pci "$(/opt/vfiod/bin/vfioctl --json show "$bdf" | jq -r .device.driver)" \
		"driver vfioctl reports after the bind"
	assert_eq true "$(/opt/vfiod/bin/vfioctl --json show "$bdf" | jq -r .group.viable)" \
		"viability of group $group after the bind"

	unbind_vfio "$bdf"
	wait_event "pci unbind $bdf"
	wait_event "group remove $group"
	log "InventoryChanged seen: $(events | tr '\n' ';')"
	assert_eq null "$(/opt/vfiod/bin/vfioctl --json show "$bdf" | jq -r .device.driver)" \
		"driver vfioctl reports after the unbind"

	kill "$MONITOR_PID"
	MONITOR_PID=
	stop_vfiod
}

testcase_mdev_create_and_remove_emit_mdev_events() {
	trap cleanup_events EXIT
	[ -d /sys/class/mdev_bus/mtty ] || skip "no mtty mdev parent in this guest"
	type=$(ls /sys/class/mdev_bus/mtty/mdev_supported_types | head -n1)

	start_vfiod
	start_event_monitor

	uuid=$(mdev_create mtty "$type")
	wait_event "mdev add $uuid"
	assert_eq "$uuid" "$(/opt/vfiod/bin/vfioctl --json mdevs | jq -r --arg u "$uuid" '.[] | select(.uuid == $u) | .uuid')" \
		"vfioctl mdevs lists the new mdev"

	mdev_remove "$uuid"
	wait_event "mdev remove $uuid"
	log "InventoryChanged seen: $(events | tr '\n' ';')"
	assert_eq "" "$(/opt/vfiod/bin/vfioctl --json mdevs | jq -r --arg u "$uuid" '.[] | select(.uuid == $u) | .uuid')" \
		"vfioctl mdevs no longer lists the removed mdev"

	kill "$MONITOR_PID"
	MONITOR_PID=
	stop_vfiod
}
