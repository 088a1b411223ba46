# vfiod-kernels: distro
# The VMM's identity does not rest on a pid number (docs/security.md). An
# attacker opens a system-bus connection from a child process, keeps the
# socket and lets the child exit; the VMM is then started with the child's
# pid (forced through /proc/sys/kernel/ns_last_pid). For the bus that old
# connection now carries the VMM's pid. It must get NotVMM and no
# descriptor, before and after the real VMM took its own; so must the same
# trick from another uid, even with the VM's secret.

. /opt/vfiod/tests/vmm/vmm-lib.sh
. /opt/vfiod/tests/vm/lib/vm-ownership-lib.sh

STALE_BIN=/opt/vfiod/bin/vfd-stale-bus

# stale_start UID: the attacker, as UID without capabilities; its bus
# connection belongs to the exited pid STALE_PID
stale_start() {
	[ -x "$STALE_BIN" ] || skip "vfd-stale-bus is not built"
	STALE_DIR=$(mktemp -d /tmp/stale.XXXXXX)
	mkfifo "$STALE_DIR/in" "$STALE_DIR/out"
	setpriv --reuid="$1" --regid="$1" --clear-groups --inh-caps=-all --bounding-set=-all \
		"$STALE_BIN" <"$STALE_DIR/in" >"$STALE_DIR/out" 2>"$STALE_DIR/err" &
	STALE_RUNNER=$!
	exec 5>"$STALE_DIR/in" 6<"$STALE_DIR/out"
	read -r -t 30 line <&6 || fail "vfd-stale-bus said nothing: $(cat "$STALE_DIR/err")"
	case "$line" in
	"stale pid="*) STALE_PID=${line#stale pid=} ;;
	*) fail "vfd-stale-bus: $line $(cat "$STALE_DIR/err")" ;;
	esac
	[ ! -d "/proc/$STALE_PID" ] || fail "the connecting child $STALE_PID still runs"
	log "uid $1 holds a bus connection of the exited pid $STALE_PID"
}

# stale CMD ARGS...: one command of the attacker; its answer in STALE_REPLY
stale() {
	echo "$*" >&5
	read -r -t 30 STALE_REPLY <&6 || fail "vfd-stale-bus gave no answer to $1"
	log "attacker: $* -> $STALE_REPLY"
}

stale_stop() {
	echo quit >&5
	exec 5>&- 6<&-
	wait "$STALE_RUNNER" 2>/dev/null || true
	rm -rf "$STALE_DIR"
}

# spawn_vmm_at NAME: the VM's VMM, held, with the attacker's old pid
spawn_vmm_at() {
	_sv_try=0
	while :; do
		VMM_WANT_PID=$STALE_PID vmm_spawn --type1 "$EDU" --vfiod "$1" --user vmm --mem 16M
		[ "$VMM_PID" != "$STALE_PID" ] || break
		log "the VMM got pid $VMM_PID, not $STALE_PID: again"
		kill -KILL "$VMM_PID"
		wait "$VMM_PID" 2>/dev/null || true
		exec 7>&- 8<&-
		rm -rf "$VMM_DIR"
		_sv_try=$((_sv_try + 1))
		[ "$_sv_try" -lt 20 ] || fail "could not give the VMM pid $STALE_PID"
	done
	log "the VMM of $1 runs as pid $VMM_PID, the attacker's old pid"
}

assert_not_vmm() {
	assert_eq "$1 err=org.vfiod1.Error.NotVMM" "$STALE_REPLY" "$2"
}

setup() {
	modprobe vfio-pci
	modprobe vfio_iommu_type1 || true
	EDU=$(lab_device edu)
	BEFORE=$(device_snapshot "$EDU")
	start_vfiod
}

# the attack on one VM; UID is the attacker's
pid_reuse_attack() {
	stale_start "$1"
	spawn_vmm_at "$2"
	vfioctl_ok vm register "$2" --pid "$VMM_PID" --backend type1 --memory 16M
	vfioctl_ok vm add-device "$2" "$EDU"
	secret=$("$VFIOCTL" vm secret "$2")

	# before the VMM took its descriptors: the pid matches, nothing else does
	stale getfds "$2"
	assert_not_vmm getfds "GetFds on the stale connection (uid $1)"
	stale devfds "$2" "$EDU"
	assert_not_vmm devfds "GetDeviceFds on the stale connection (uid $1)"
	stale auth "$2" 0123456789abcdef0123456789abcdef
	assert_not_vmm auth "AuthenticateVMM with a guessed secret (uid $1)"
	assert_eq registered "$(vm_state "$2")" "state after the attacks"

	# the VMM authenticates on its own connection and takes its descriptors
	vmm_go
	assert_eq active "$(vm_state "$2")" "state once the VMM has its descriptors"
	vfiod_log | grep -q "VM $2: descriptors to pid $VMM_PID (uid 1000)" ||
		fail "the real VMM did not get its descriptors"
	vmm_step map 0x100000 1M
	vmm_step edu-dma 0x100000 1024

	# after: still nothing for the old connection
	stale getfds "$2"
	assert_not_vmm getfds "GetFds on the stale connection after the VMM's (uid $1)"
	stale release "$2"
	assert_eq "release err=org.freedesktop.DBus.Error.AccessDenied" "$STALE_REPLY" \
		"Release on the stale connection (uid $1)"
	assert_eq active "$(vm_state "$2")" "state after the stale Release"
}

testcase_same_uid_stale_connection_gets_nothing() {
	setup
	pid_reuse_attack 1000 same
	# even a right secret is no help on a connection whose pid is not the VMM's
	# any more; here: the attacker is uid 1000 too, the secret proves who
	# may act, and it has none
	vmm_stop
	wait_until 60 vm_is_gone same
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu after the VM is gone"
	stale_stop
	stop_vfiod
}

testcase_other_uid_stale_connection_gets_nothing_even_with_the_secret() {
	setup
	pid_reuse_attack 1001 other
	# a leaked secret does not help another uid: the uid is checked too
	stale auth other "$secret"
	assert_not_vmm auth "AuthenticateVMM from uid 1001 with the right secret"
	stale getfds other
	assert_not_vmm getfds "GetFds from uid 1001 after presenting the secret"
	vmm_stop
	wait_until 60 vm_is_gone other
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu after the VM is gone"
	stale_stop
	stop_vfiod
}

testcase_a_vmm_without_the_secret_gets_nothing() {
	setup
	vmm_spawn --type1 "$EDU" --vfiod nosecret --user vmm --mem 16M
	vfioctl_ok vm register nosecret --pid "$VMM_PID" --backend type1 --memory 16M
	vfioctl_ok vm add-device nosecret "$EDU"
	# the right process and uid, no secret: not proven
	echo "go " >&7
	vmm_read setup
	case "$VMM_REPLY" in
	"setup err="*) ;;
	*) fail "the VMM without secret answered: $VMM_REPLY" ;;
	esac
	grep -q org.vfiod1.Error.NotVMM "$VMM_DIR/stderr" ||
		fail "expected NotVMM, got: $(cat "$VMM_DIR/stderr")"
	wait "$VMM_PID" 2>/dev/null || true
	exec 7>&- 8<&-
	rm -rf "$VMM_DIR"
	wait_until 60 vm_is_gone nosecret
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu after the VM is gone"
	stop_vfiod
}
