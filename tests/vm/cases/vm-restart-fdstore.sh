# vfiod-systemd: Debian 12 with systemd as PID 1 and the shipped unit (tests/vm/runners/run-systemd-case.sh)
# vfiod-kernels: test
# Issue 12 item 4, "Restarts keep every descriptor": vfiod keeps the
# descriptors it holds for each VM in systemd's fd store
# (daemon/fdstore.h) and takes them back at start. Two live VMs held by
# the reference VMM go through 20 restarts of vfiod, every other one a
# SIGKILL followed by the unit's Restart=:
#   - a: type1, vfiod holding the container and the groups (an mtty mdev
#     set up by the VMM, edu hot-added);
#   - b: iommufd, vfiod holding the iommufd, its own open of the NIC's
#     cdev, and a copy of each cdev file it handed to the VMM until it
#     sees it bound (daemon/vm-backend-iommufd.c).
# After each restart both VMs are there, vfiod holds exactly the
# descriptors it held before, and a hot-remove then a hot-add succeed on
# each WITHOUT the vfiod_mm helper (before the fd store an adopted VM had
# nothing of its own left to prove a detach with, and its hot-remove
# needed the helper: "vfiod_mm helper ... not loaded"). The test kernel
# runs it: the distro kernel has no iommufd.
# Then the attacks: a descriptor stored by a process other than vfiod is
# ignored by systemd (NotifyAccess=main); ones planted by root under
# vfiod's pid with forged names (a memfd named like a cdev of the VM, a
# /dev/null "container" of a VM without a journal, a name vfiod never
# uses) are refused, closed and removed from the store by vfiod.

VFIOCTL=$(command -v vfioctl)
VMM_BIN=/opt/vfiod/bin/vfd-vmm
INJECT=/opt/vfiod/bin/fdstore-inject
RESTARTS=${FDSTORE_RESTARTS:-20}

ctl() { # ctl ARGS...: vfioctl, failing the case with its stderr
	"$VFIOCTL" "$@" 2>/tmp/vfioctl.err >/tmp/vfioctl.out ||
		fail "vfioctl $* failed: $(cat /tmp/vfioctl.err)"
	log "vfioctl $*: ok"
}

# vmm_start TAG VM DEVICE: a vfd-vmm (root: no user in this rootfs)
# taking VM's descriptors; its pipes are fds 5/6 (TAG a) or 7/8 (TAG b)
vmm_start() { # vmm_start TAG VM DEVICE BACKEND
	_d=/tmp/vmm-$1
	rm -rf "$_d" && mkdir -p "$_d" && mkfifo "$_d/in" "$_d/out"
	sh -c 'read -r _go VFIOD_VMM_SECRET; export VFIOD_VMM_SECRET; exec "$0" "$@"' "$VMM_BIN" \
		"--$4" "$3" --vfiod "$2" --mem 16M <"$_d/in" >"$_d/out" 2>"$_d/stderr" &
	eval "VMM_PID_$1=$!"
	case $1 in
	a) exec 5>"$_d/in" 6<"$_d/out" ;;
	b) exec 7>"$_d/in" 8<"$_d/out" ;;
	esac
}

vmm_send() { # vmm_send TAG LINE: one line; its reply in REPLY
	case $1 in
	a) echo "$2" >&5; read -r REPLY <&6 || REPLY="(no reply)" ;;
	b) echo "$2" >&7; read -r REPLY <&8 || REPLY="(no reply)" ;;
	esac
	log "vfd-vmm $1: $2 -> $REPLY"
}

vmm_ok() { # vmm_ok TAG STEP...: the step must answer "<step> ok"
	vmm_send "$1" "$2"
	case "$REPLY" in
	"${2%% *} ok"*) ;;
	*) fail "vfd-vmm $1: '$2' answered '$REPLY': $(cat "/tmp/vmm-$1/stderr")" ;;
	esac
}

# an mtty mdev of each VM stays in its container: a hot-remove of the VM's
# only group would leave the container without its IOMMU (the kernel drops
# it with the last group), and no VMM re-sets it for a hot-add
mdev_uuid() {
	case $1 in a) echo 0a1b2c3d-0000-4000-8000-00000000f0a1 ;; b) echo 0a1b2c3d-0000-4000-8000-00000000f0b2 ;; esac
}

mdev_group() {
	basename "$(readlink "/sys/bus/mdev/devices/$1/iommu_group")"
}

# vm_up TAG VM DEVICE [iommufd]: type1, an mdev set up by the VMM (GetFds)
# then DEVICE hot-added; iommufd: DEVICE set up by the VMM (GetFds)
vm_up() {
	if [ "${4:-type1}" = iommufd ]; then
		vmm_start "$1" "$2" "$3" iommufd
		eval "_pid=\$VMM_PID_$1"
		ctl vm register "$2" --pid "$_pid" --backend iommufd --memory 16M
		ctl vm add-device "$2" "$3"
		vmm_send "$1" "go $("$VFIOCTL" vm secret "$2")"
		case "$REPLY" in "setup ok"*) ;; *) fail "vfd-vmm $1 setup: $REPLY $(cat "/tmp/vmm-$1/stderr")" ;; esac
		return
	fi
	_u=$(mdev_uuid "$1")
	[ -d "/sys/bus/mdev/devices/$_u" ] ||
		echo "$_u" >/sys/class/mdev_bus/mtty/mdev_supported_types/mtty-1/create ||
		fail "cannot create mdev $_u"
	vmm_start "$1" "$2" "$_u" type1
	eval "_pid=\$VMM_PID_$1"
	ctl vm register "$2" --pid "$_pid" --backend type1 --memory 16M
	ctl vm add-device "$2" "$_u"
	vmm_send "$1" "go $("$VFIOCTL" vm secret "$2")"
	case "$REPLY" in "setup ok"*) ;; *) fail "vfd-vmm $1 setup: $REPLY $(cat "/tmp/vmm-$1/stderr")" ;; esac
	ctl vm add-device "$2" "$3"
	vmm_ok "$1" "hotadd $2 $3"
}

vm_down() { # vm_down TAG VM: the VMM quits, the VM is released, the mdev removed
	vmm_send "$1" quit || true
	"$VFIOCTL" vm release "$2" >/dev/null 2>&1 || true
	wait_until 60 vm_gone "$2"
	[ ! -d "/sys/bus/mdev/devices/$(mdev_uuid "$1")" ] ||
		echo 1 >"/sys/bus/mdev/devices/$(mdev_uuid "$1")/remove" || true
}

vm_gone() {
	! "$VFIOCTL" --json vm list | jq -e --arg n "$1" '.[] | select(.name == $n)' >/dev/null
}

vfiod_pid() {
	systemctl show -p MainPID --value vfiod
}

vfiod_serves() {
	systemctl is-active -q vfiod && "$VFIOCTL" vm list >/dev/null 2>&1
}

# the descriptors vfiod holds on VFIO nodes, one "NODE" per line, sorted.
# One taken back from the store was opened in the mount namespace of an
# earlier vfiod, gone since: its link reads relative to the /dev mount
# ("/vfio/5").
vfiod_vfio_fds() {
	for _f in /proc/"$(vfiod_pid)"/fd/*; do
		readlink "$_f"
	done | sed 's|^/vfio/|/dev/vfio/|; s|^/iommu$|/dev/iommu|' | grep '^/dev/vfio/\|^/dev/iommu$' | sort || true
}

# the NIC's cdev node, as vfiod's descriptors name it
cdev_node() {
	echo "/dev/vfio/devices/$(ls "/sys/bus/pci/devices/$1/vfio-dev")"
}

# a restart: odd ones `systemctl restart`, even ones SIGKILL and the unit's Restart=
restart_vfiod() { # restart_vfiod N
	_old=$(vfiod_pid)
	if [ $(($1 % 2)) -eq 1 ]; then
		systemctl restart vfiod
	else
		kill -KILL "$_old"
		wait_until 60 sh -c "[ \"\$(systemctl show -p MainPID --value vfiod)\" != $_old ] && [ \"\$(systemctl show -p MainPID --value vfiod)\" != 0 ]"
	fi
	wait_until 60 vfiod_serves
	[ "$(vfiod_pid)" != "$_old" ] || fail "restart $1: vfiod was not restarted"
}

no_helper() {
	# the kernel would load it again on vfiod's genl lookup (its family alias)
	mkdir -p /run/modprobe.d
	echo "install vfiod_mm /bin/false" >/run/modprobe.d/vfiod-restart-fdstore.conf
	if grep -q '^vfiod_mm ' /proc/modules; then
		# modules-load.d loads it at boot: this case proves vfiod needs it not
		systemctl stop vfiod
		rmmod vfiod_mm || fail "cannot unload vfiod_mm"
		systemctl start vfiod
		wait_until 60 vfiod_serves
	fi
	! grep -q '^vfiod_mm ' /proc/modules || fail "vfiod_mm is loaded"
}

testcase_restarts_keep_descriptors() {
	EDU=$(lab_device edu)
	NIC=$(lab_device e1000e)
	no_helper
	[ "$(systemctl show -p NotifyAccess --value vfiod)" = main ] || fail "the unit's NotifyAccess is not main"
	[ "$(systemctl show -p FileDescriptorStoreMax --value vfiod)" -ge 64 ] || fail "no fd store"
	[ -e /dev/iommu ] || fail "no /dev/iommu: this case needs the test kernel"
	vm_up a fdstore-a "$EDU"
	vm_up b fdstore-b "$NIC" iommufd
	# b: the iommufd, vfiod's own open of the NIC's cdev, and its copy of
	# the VMM's file (bound by the VMM; let go at the next hand-out or
	# ConfirmAttached, which the hot-add below does)
	cdev=$(cdev_node "$NIC")
	type1=$(printf '/dev/vfio/%s\n' "$(pci_group "$EDU")" "$(mdev_group "$(mdev_uuid a)")" vfio)
	want=$(printf '%s\n' "$type1" /dev/iommu "$cdev" "$cdev" | sort)
	assert_eq "$want" "$(vfiod_vfio_fds)" "vfiod holds a's container and groups, b's iommufd and cdev files"
	after_cycle=$(printf '%s\n' "$type1" /dev/iommu "$cdev" | sort)

	i=1
	while [ "$i" -le "$RESTARTS" ]; do
		restart_vfiod "$i"
		log "restart $i: vfiod pid $(vfiod_pid)"
		assert_eq "fdstore-a fdstore-b" "$("$VFIOCTL" --json vm list | jq -r '[.[].name] | sort | join(" ")')" \
			"restart $i: both VMs adopted"
		assert_eq "$want" "$(vfiod_vfio_fds)" "restart $i: every descriptor back, none twice"
		want=$after_cycle
		for t in a b; do
			if [ "$t" = a ]; then vm=fdstore-a; dev=$EDU; else vm=fdstore-b; dev=$NIC; fi
			vmm_ok "$t" "hotremove $dev"
			ctl vm remove-device "$vm" "$dev"
			ctl vm add-device "$vm" "$dev"
			vmm_ok "$t" "hotadd $vm $dev"
		done
		assert_eq "$after_cycle" "$(vfiod_vfio_fds)" "restart $i: after hot-remove and hot-add"
		assert_eq iommufd "$("$VFIOCTL" --json vm show fdstore-b | jq -r .backend)" \
			"restart $i: b is still an iommufd VM"
		! grep -q '^vfiod_mm ' /proc/modules || fail "vfiod_mm got loaded"
		i=$((i + 1))
	done
	vm_down a fdstore-a
	vm_down b fdstore-b
	assert_eq "" "$(vfiod_vfio_fds)" "released: vfiod holds nothing"
	restart_vfiod 1
	assert_eq "" "$(vfiod_vfio_fds)" "released VMs' descriptors left the store"
}

# the log lines of vfiod since pid $1 started
vfiod_log_of() {
	journalctl -b -u vfiod -o cat _PID="$1" --no-pager 2>/dev/null
}

testcase_forged_store_refused() {
	EDU=$(lab_device edu)
	NIC=$(lab_device e1000e)
	no_helper
	vm_up a fdstore-c "$EDU"
	id=$(busctl call org.vfiod1 /org/vfiod1 org.vfiod1.Manager GetVM s fdstore-c | sed 's|^o "/org/vfiod1/vm/\([0-9]*\)"$|\1|')
	[ -n "$id" ] || fail "no id for fdstore-c"
	want=$(vfiod_vfio_fds)
	pid=$(vfiod_pid)

	# a process other than vfiod's main one: systemd ignores it (NotifyAccess=main)
	NOTIFY_SOCKET=/run/systemd/notify "$INJECT" "vm-$id-group-$(pci_group "$NIC")" null
	# root forging vfiod's pid (CAP_SYS_ADMIN may name any pid in SCM_CREDENTIALS): stored
	NOTIFY_SOCKET=/run/systemd/notify "$INJECT" --pid "$pid" "vm-$id-cdev-forged" memfd
	NOTIFY_SOCKET=/run/systemd/notify "$INJECT" --pid "$pid" "vm-999-container" null
	NOTIFY_SOCKET=/run/systemd/notify "$INJECT" --pid "$pid" "forged name" memfd

	restart_vfiod 1
	new=$(vfiod_pid)
	wait_until 30 sh -c "journalctl -b -u vfiod -o cat _PID=$new --no-pager | grep -q 'vm-999-container'"
	log "$(vfiod_log_of "$new" | grep -i 'store\|took back' || true)"
	vfiod_log_of "$new" | grep -q "Stored descriptor \"vm-$id-cdev-forged\" belongs to no VM" ||
		fail "the forged cdev was not refused"
	vfiod_log_of "$new" | grep -q 'Stored descriptor "vm-999-container" belongs to no VM' ||
		fail "the container of a VM without a journal was not refused"
	vfiod_log_of "$new" | grep -q 'Stored descriptor "forged name" belongs to no VM' ||
		fail "a name vfiod never stores was not refused"
	vfiod_log_of "$new" | grep -q "took back its container and 2 group" ||
		fail "the real descriptors were not taken back"
	if vfiod_log_of "$new" | grep -q "vm-$id-group-$(pci_group "$NIC")"; then
		fail "a foreign process's FDSTORE reached vfiod"
	fi
	for f in /proc/"$new"/fd/*; do
		case "$(readlink "$f")" in *memfd:forged*) fail "vfiod kept a planted memfd ($f)" ;; esac
	done
	assert_eq "$want" "$(vfiod_vfio_fds)" "vfiod holds its own descriptors, nothing planted"

	# the VM works as before, and the next restart has nothing forged left
	vmm_ok a "hotremove $EDU"
	ctl vm remove-device fdstore-c "$EDU"
	ctl vm add-device fdstore-c "$EDU"
	vmm_ok a "hotadd fdstore-c $EDU"
	restart_vfiod 2
	new=$(vfiod_pid)
	wait_until 30 sh -c "journalctl -b -u vfiod -o cat _PID=$new --no-pager | grep -q 'took back'"
	if vfiod_log_of "$new" | grep -q 'belongs to no VM'; then
		fail "the forged descriptors came back after their refusal: $(vfiod_log_of "$new" | grep 'belongs to no VM')"
	fi
	vm_down a fdstore-c
}
