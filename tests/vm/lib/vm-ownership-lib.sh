# shellcheck shell=sh
# Shared by the cases that drive the reference VMM through vfiod
# (vm-ownership-*, vm-reaccount-*, vm-bind-journal, ...); no testcase_* of
# its own.
# Sourced after guest-lib.sh and tests/vmm/vmm-lib.sh.
#
#   vmm_spawn ARGS...        start `vfd-vmm ARGS` held before its setup, so
#                            that the VM can be registered with its pid
#                            first; the process execs vfd-vmm later under
#                            the same pid (VMM_PID)
#   vmm_go [SECRET]          let it run: it authenticates with its VM's
#                            secret (AuthenticateVMM), asks vfiod for its
#                            descriptors (GetFds) and answers "setup ..."
#                            (VMM_SETUP)
#   vmm_kill                 SIGKILL, reaped: an exit without release
#   vfioctl ARGS             the real vfioctl; stdout in $OUT, stderr in
#                            $ERR, status in $RC
#   vm_state NAME            the VM's State, "gone" when vfiod dropped it
#   device_snapshot BDF...   "bdf driver override" lines: the state that a
#                            refused or released claim must leave as it was
#   assert_refused NAME      RC 1 and the stable error name on stderr

VFIOCTL=/opt/vfiod/bin/vfioctl
OUT=/tmp/vfioctl.out
ERR=/tmp/vfioctl.err

vfioctl() {
	RC=0
	"$VFIOCTL" "$@" >"$OUT" 2>"$ERR" || RC=$?
	log "vfioctl $* -> $RC $(cat "$OUT" "$ERR" | tr '\n' ' ')" >&2
}

vfioctl_ok() {
	vfioctl "$@"
	[ "$RC" -eq 0 ] || fail "vfioctl $* failed ($RC): $(cat "$ERR")"
}

assert_refused() {
	[ "$RC" -eq 1 ] || fail "expected a refusal ($1), got status $RC: $(cat "$OUT" "$ERR")"
	grep -q "($1)" "$ERR" || fail "expected $1, got: $(cat "$ERR")"
}

vmm_spawn() {
	[ -x "$VMM_BIN" ] || skip "vfd-vmm is not built"
	VMM_DIR=$(mktemp -d /tmp/vfd-vmm.XXXXXX)
	mkfifo "$VMM_DIR/in" "$VMM_DIR/out"
	# the VM it takes its descriptors from (--vfiod VM): vmm_go gives it that VM's secret
	VMM_VM=$(echo " $* " | sed -n 's/.* --vfiod \([^ ]*\) .*/\1/p')
	# `read` takes one line from the FIFO byte by byte and leaves the rest
	# to vfd-vmm; exec keeps the pid that vfiod knows as the VMM. The line
	# carries the VM's secret (vfd-vmm authenticates with it), never argv.
	# VMM_WANT_PID: the pid the kernel hands out next (ns_last_pid), written
	# right before the fork so that nothing else takes it (pid reuse tests)
	[ -z "${VMM_WANT_PID:-}" ] || echo $((VMM_WANT_PID - 1)) >/proc/sys/kernel/ns_last_pid
	sh -c 'read -r _go VFIOD_VMM_SECRET; export VFIOD_VMM_SECRET; exec "$0" "$@"' "$VMM_BIN" "$@" \
		<"$VMM_DIR/in" >"$VMM_DIR/out" 2>"$VMM_DIR/stderr" &
	VMM_PID=$!
	exec 7>"$VMM_DIR/in" 8<"$VMM_DIR/out"
	log "vfd-vmm $* held as pid $VMM_PID" >&2
}

# vmm_go [SECRET]: let it run, with SECRET (default: the secret of its VM,
# read as root with `vfioctl vm secret`; "-": none, unauthenticated)
vmm_go() {
	_vg_secret=${1:-}
	if [ -z "$_vg_secret" ] && [ -n "$VMM_VM" ]; then
		_vg_secret=$("$VFIOCTL" vm secret "$VMM_VM" 2>/dev/null) || _vg_secret=
	fi
	[ "$_vg_secret" != - ] || _vg_secret=
	echo "go $_vg_secret" >&7
	vmm_read setup
	VMM_SETUP=$VMM_REPLY
	case "$VMM_SETUP" in
	"setup ok"*) ;;
	*) fail "vfd-vmm setup failed: $VMM_SETUP $(cat "$VMM_DIR/stderr")" ;;
	esac
}

vmm_kill() {
	kill -KILL "$VMM_PID"
	wait "$VMM_PID" 2>/dev/null || true
	exec 7>&- 8<&-
	rm -rf "$VMM_DIR"
}

vm_state() {
	"$VFIOCTL" --json vm list | jq -r --arg n "$1" \
		'(.[] | select(.name == $n) | .state) // "gone"'
}

vm_is_gone() {
	[ "$(vm_state "$1")" = gone ]
}

device_snapshot() {
	for _ds in "$@"; do
		echo "$_ds $(pci_driver "$_ds") $(cat "/sys/bus/pci/devices/$_ds/driver_override")"
	done
}

mdev_exists() {
	[ -d "/sys/bus/mdev/devices/$1" ]
}

mdev_gone() {
	[ ! -e "/sys/bus/mdev/devices/$1" ]
}

# the VMM's RLIMIT_MEMLOCK, "soft hard" in bytes (or "unlimited unlimited")
memlock_of() {
	awk '/^Max locked memory/ { print $4, $5 }' "/proc/$1/limits"
}

# vm_prop VM PROPERTY: one org.vfiod1.VM property (D-Bus name, e.g.
# LockedBytes), through vfioctl, whose JSON spells it in snake_case
# (locked_bytes; VMMPid is vmm_pid)
vm_prop() {
	_key=$(printf '%s\n' "$2" | sed -E 's/([a-z0-9])([A-Z])/\1_\2/g; s/([A-Z])([A-Z][a-z])/\1_\2/g' |
		tr '[:upper:]' '[:lower:]')
	"$VFIOCTL" --json vm show "$1" | jq -r ".$_key"
}
