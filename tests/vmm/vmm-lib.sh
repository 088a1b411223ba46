# shellcheck shell=sh
# Drive the reference VMM (vfd-vmm) from a nested-VM test case, sourced by
# tests/vm/cases/*.sh after guest-lib.sh (busybox ash, `set -e` subshells).
#
# vfd-vmm answers every step with one line, "<step> ok key=value ..." or
# "<step> err=ENAME ...". The case talks to it through two FIFOs, so it can
# act on the kernel (sysfs writes as root) while the VMM holds its
# mappings, and read each reply as soon as it exists: no sleeps.
#
#   vmm_start ARGS...        start `vfd-vmm ARGS` (as root; pass --user vmm
#                            to have it drop privileges), wait for its setup
#                            line into VMM_SETUP; fails unless "setup ok"
#   vmm_step STEP...         send one step, reply in VMM_REPLY; fails unless ok
#   vmm_try STEP...          same, but a failing step is not an error
#   vmm_field KEY [LINE]     value of KEY=... in LINE (default VMM_REPLY)
#   vmm_stop [RC]            quit and reap it; fails unless it exits with RC (0)
#   kmsg_mark / kmsg_assert_clean   no WARNING/BUG/Oops in the kernel log
#                            since the mark (a dmesg baseline)
#   kmsg_has ERE             the kernel logged a line matching ERE since the mark

VMM_BIN=${VFIOD_BIN:-/opt/vfiod/bin}/vfd-vmm
VMM_TIMEOUT=${VMM_TIMEOUT:-120}

vmm_start() {
	[ -x "$VMM_BIN" ] || skip "vfd-vmm is not built"
	VMM_DIR=$(mktemp -d -t vfd-vmm.XXXXXX)
	mkfifo "$VMM_DIR/in" "$VMM_DIR/out"
	# Both ends open the FIFOs in the same order (in, then out): no deadlock.
	"$VMM_BIN" "$@" <"$VMM_DIR/in" >"$VMM_DIR/out" 2>"$VMM_DIR/stderr" &
	VMM_PID=$!
	exec 7>"$VMM_DIR/in" 8<"$VMM_DIR/out"
	log "vfd-vmm $* (pid $VMM_PID)" >&2
	vmm_read setup
	VMM_SETUP=$VMM_REPLY
	case "$VMM_SETUP" in
	"setup ok"*) ;;
	*) fail "vfd-vmm setup failed: $VMM_SETUP $(cat "$VMM_DIR/stderr")" ;;
	esac
}

vmm_read() {
	VMM_REPLY=
	# busybox ash has read -t; a hung VMM must fail the case, not stall it
	# shellcheck disable=SC3045
	if ! read -r -t "$VMM_TIMEOUT" VMM_REPLY <&8; then
		fail "vfd-vmm gave no reply to '$1' within ${VMM_TIMEOUT}s: $(cat "$VMM_DIR/stderr" 2>/dev/null)"
	fi
	log "vfd-vmm: $VMM_REPLY" >&2
}

vmm_try() {
	echo "$*" >&7
	vmm_read "$*"
	case "$VMM_REPLY" in
	"$1 ok"* | "$1 err="*) ;;
	*) fail "vfd-vmm answered '$*' with: $VMM_REPLY" ;;
	esac
}

vmm_step() {
	vmm_try "$@"
	case "$VMM_REPLY" in
	"$1 ok"*) ;;
	*) fail "vfd-vmm step '$*' failed: $VMM_REPLY" ;;
	esac
}

vmm_field() {
	echo "${2-$VMM_REPLY}" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# shellcheck disable=SC2120 # RC is optional
vmm_stop() {
	_vs_want=${1:-0}
	echo quit >&7
	vmm_read quit
	exec 7>&- 8<&-
	_vs_rc=0
	wait "$VMM_PID" || _vs_rc=$?
	rm -rf "$VMM_DIR"
	assert_eq "$_vs_want" "$_vs_rc" "exit status of vfd-vmm"
}

kmsg_mark() {
	KMSG_MARK=$(dmesg | wc -l)
}

kmsg_assert_clean() {
	_ka_new=$(dmesg | tail -n +$((KMSG_MARK + 1)))
	if echo "$_ka_new" | grep -Eq 'WARNING:|BUG:|Oops|Call Trace:|general protection'; then
		echo "$_ka_new" >&2
		fail "the kernel logged a warning or bug"
	fi
}

kmsg_has() {
	dmesg | tail -n +$((KMSG_MARK + 1)) | grep -Eq "$1"
}
