# vfiod-kernels: modern test
# QEMU's live update (cpr-transfer) on iommufd, with the reference VMM:
# the running VMM (uid 1000, no capabilities) maps its 64 MiB of guest
# memory with IOMMU_IOAS_MAP_FILE from a memfd, then hands its iommufd,
# edu's cdev and the memfd to a second VMM process over a unix socket.
# The VM's charge moves through vfiod (VM.ChangeProcessToCaller, asked by
# the new process with the iommufd it took over): vfiod raises the
# new process's RLIMIT_MEMLOCK, the new process calls
# IOMMU_IOAS_CHANGE_PROCESS, and the commit checks /proc on both sides
# (the new VmPin and VmLck are the VM's 64 MiB, the old ones 0) before the
# new process is the VM's VMM and the old one's limit is set back. The old
# VMM's exit then releases nothing; the new VMM hot-removes edu, and
# after a vfiod restart (the journal names the new VMM) releases the VM:
# everything is given back. Refused: a process of a third uid, a caller that is neither the
# VMM nor the owner, a dead process, vfiod itself, the VMM itself; a move
# whose mappings are not file mappings (the kernel says EINVAL, vfiod's
# commit ChargeNotMoved); a deadline or an abort sets the limit back; a
# process of the VMM's uid that holds no iommufd of the VM, or only an open
# of /dev/iommu that is not the VM's (the kernel has no kcmp: ChangeProcess
# cannot prove it, and ChangeProcessToCaller with another VM's iommufd
# fails the status-flag proof); a process where a VM's charge is moving
# as another VM's VMM (RegisterVM, AttachVMM); a thread's
# pidfd (PIDFD_THREAD) of another VM's VMM. The target's exit ends a move
# at once, and an abort after the new process's ioctl commits the move
# (the kernel moved the charge: neither side is left wrong); a new process
# that exits after its ioctl strands the VM's charge (no raised limit on
# either side, no further move); an old VMM that quits after the new
# process's ioctl, before a commit, commits the move.
# On the 6.12 test kernel, which lacks IOMMU_IOAS_CHANGE_PROCESS, the
# method answers NotSupported and changes nothing.

. /opt/vfiod/tests/vmm/vmm-lib.sh
. /opt/vfiod/tests/vm/lib/vm-ownership-lib.sh

MiB64=67108864
SOCK=/tmp/vfd-live.sock

# ---- the second VMM (fds 5 and 6; the first is vmm-lib.sh's, on 7 and 8) ----

# new_spawn VM: `vfd-vmm --receive SOCK --vfiod VM --user vmm` in NEW_PID,
# with the VM's secret on its stdin (it authenticates once it is the VMM)
new_spawn() {
	NEW_DIR=$(mktemp -d /tmp/vfd-new.XXXXXX)
	mkfifo "$NEW_DIR/in" "$NEW_DIR/out"
	sh -c 'read -r _go VFIOD_VMM_SECRET; export VFIOD_VMM_SECRET; exec "$0" "$@"' "$VMM_BIN" \
		--receive "$SOCK" --vfiod "$1" --user vmm \
		<"$NEW_DIR/in" >"$NEW_DIR/out" 2>"$NEW_DIR/stderr" &
	NEW_PID=$!
	exec 5>"$NEW_DIR/in" 6<"$NEW_DIR/out"
	echo "go $("$VFIOCTL" vm secret "$1")" >&5
	new_read setup
	case "$NEW_REPLY" in
	"setup ok"*) ;;
	*) fail "the new VMM's setup failed: $NEW_REPLY $(cat "$NEW_DIR/stderr")" ;;
	esac
	log "new VMM: pid $NEW_PID" >&2
}

new_read() {
	NEW_REPLY=
	# shellcheck disable=SC3045
	read -r -t 120 NEW_REPLY <&6 || fail "the new VMM gave no reply to '$1': $(cat "$NEW_DIR/stderr")"
	log "new vfd-vmm: $NEW_REPLY" >&2
}

new_try() {
	echo "$*" >&5
	new_read "$*"
}

new_step() {
	new_try "$@"
	case "$NEW_REPLY" in
	"$1 ok"*) ;;
	*) fail "new VMM step '$*' failed: $NEW_REPLY $(cat "$NEW_DIR/stderr")" ;;
	esac
}

new_stop() { # new_stop [RC]: quit, and the new VMM exits with RC (0)
	echo quit >&5
	new_read quit
	exec 5>&- 6<&-
	_ns_rc=0
	wait "$NEW_PID" || _ns_rc=$?
	rm -rf "$NEW_DIR"
	assert_eq "${1:-0}" "$_ns_rc" "exit status of the new VMM"
}

# ---- what the kernel and vfiod say ----

# kb FIELD PID: VmPin or VmLck of PID in kB
kb() {
	awk -v f="$1:" '$1 == f { print $2 }' "/proc/$2/status"
}

# charge_is PID KB: PID's VmPin and VmLck (per-process accounting) are KB
charge_is() {
	assert_eq "$2 $2" "$(kb VmPin "$1") $(kb VmLck "$1")" "VmPin and VmLck of pid $1 ($3)"
}

# runs_as PID UID: PID's effective uid (/proc/PID/status) is UID
runs_as() {
	[ "$(awk '$1 == "Uid:" { print $3 }' "/proc/$1/status" 2>/dev/null)" = "$2" ]
}

change_pid() {
	vm_prop "$1" ProcessChangePid
}

no_move() {
	[ "$(change_pid "$1")" = 0 ]
}

# nothing_moved VM VMM TARGET TARGET_LIMIT: the refusal changed nothing
nothing_moved() {
	assert_eq "$2" "$(vm_prop "$1" VMMPid)" "the VM's VMM"
	assert_eq 0 "$(change_pid "$1")" "no move under way"
	assert_eq "$4" "$(memlock_of "$3")" "the limit of pid $3"
}

# a VM with edu whose VMM maps all of its memory (MAP_FILE with --map-file), handed to a new VMM
live_vm() { # live_vm NAME [--map-file]
	EDU=$(lab_device edu)
	BEFORE=$(device_snapshot "$EDU")
	vmm_spawn --iommufd "$EDU" --vfiod "$1" --user vmm --memfd --mem 64M ${2:-}
	OLD=$VMM_PID
	OLD_ORIG=$(memlock_of "$OLD")
	vfioctl_ok vm register "$1" --pid "$OLD" --backend iommufd --memory 64M
	vfioctl_ok vm add-device "$1" "$EDU"
	vmm_go
	assert_contains "$VMM_SETUP" "rlimit_mode=1" "vfiod's per-process accounting"
	vmm_step map 0 64M
	vmm_step edu-dma 0x1000 256
	LIMIT=$(memlock_of "$OLD")
	[ "$LIMIT" != "$OLD_ORIG" ] || fail "vfiod set no limit for the VM ($LIMIT)"
	charge_is "$OLD" 65536 "the old VMM maps 64 MiB"
	vfioctl vm check-charge "$1"
	assert_eq "expected $MiB64 observed $MiB64 limit ${LIMIT%% *} match" "$(cat "$OUT")" "CheckCharge before"

	new_spawn "$1"
	NEW=$NEW_PID
	NEW_ORIG=$(memlock_of "$NEW")
	assert_ne "$LIMIT" "$NEW_ORIG" "the new VMM's own limit differs from the VM's"
	charge_is "$NEW" 0 "the new VMM before the handover"
	vmm_step handover "$SOCK"
	assert_eq "$NEW" "$(vmm_field peer)" "handed to the new VMM"
	new_step accept
	assert_eq "$EDU" "$(vmm_field device "$NEW_REPLY")" "the device handed over"
}

testcase_live_update_moves_the_charge() {
	[ "$(vm_kernel)" = modern ] || skip "IOMMU_IOAS_CHANGE_PROCESS: Linux 6.13 and later"
	has_iommufd || fail "no /dev/iommu on the modern kernel"
	modprobe vfio-pci
	kmsg_mark
	start_vfiod
	vfioctl_ok --json host
	assert_eq true "$(jq -r .ioas_change_process "$OUT")" "the 7.3 kernel has IOAS_CHANGE_PROCESS"
	live_vm live --map-file

	# --- refused: the VM stays with the old VMM, the new process's limit untouched ---
	# exec: $! is the uid 1001 process itself, not a shell around it
	sh -c 'exec /usr/bin/setpriv --reuid=1001 --regid=1001 --clear-groups sleep 600' &
	THIRD=$!
	poll_until 5 runs_as "$THIRD" 1001 || fail "no uid 1001 process"
	# the VMM names a process of a third uid
	vmm_try change-process live "$THIRD"
	assert_eq "org.freedesktop.DBus.Error.AccessDenied" "$(vmm_field name)" "the VMM names uid 1001's process"
	# root (the owner) names it: not the VMM's uid
	vfioctl vm change-process live --pid "$THIRD"
	assert_refused org.vfiod1.Error.NotVMM
	assert_contains "$(cat "$ERR")" "runs as uid 1001, the VMM of VM live as uid 1000" "why"
	# a caller that is neither the VMM nor the owner: the VMM's uid, unauthenticated, and uid 1001
	run_as_vmm "$VFIOCTL" vm change-process live --pid "$NEW" >"$OUT" 2>"$ERR" && fail "uid 1000 moved the VM"
	grep -q "AccessDenied" "$ERR" || fail "uid 1000, not the VMM: $(cat "$ERR")"
	setpriv --reuid=1001 --regid=1001 --clear-groups "$VFIOCTL" vm change-process live --pid "$THIRD" \
		>"$OUT" 2>"$ERR" && fail "uid 1001 moved the VM"
	grep -q "AccessDenied" "$ERR" || fail "uid 1001: $(cat "$ERR")"
	kill "$THIRD"
	# a process of the VMM's uid that holds no iommufd of the VM: no raised limit for it
	sh -c 'exec /usr/bin/setpriv --reuid=1000 --regid=1000 --clear-groups sleep 600' &
	SAME=$!
	poll_until 5 runs_as "$SAME" 1000 || fail "no uid 1000 process"
	same_orig=$(memlock_of "$SAME")
	vmm_try change-process live "$SAME"
	assert_eq "org.vfiod1.Error.NotVMM" "$(vmm_field name)" "a process without the VM's iommufd"
	grep -q "pid $SAME holds no iommufd of VM live" "$VMM_DIR/stderr" || fail "why: $(cat "$VMM_DIR/stderr")"
	nothing_moved live "$OLD" "$SAME" "$same_orig"
	kill "$SAME"
	# a process that has exited (a pidfd of a reaped child)
	vmm_try change-process live dead
	assert_eq "org.vfiod1.Error.VMMExited" "$(vmm_field name)" "a dead process"
	# vfiod itself, the VMM itself
	vfioctl vm change-process live --pid "$(cat "$VFIOD_PIDFILE")"
	assert_refused org.vfiod1.Error.NotVMM
	assert_contains "$(cat "$ERR")" "is vfiod itself" "vfiod"
	vmm_try change-process live "$OLD"
	assert_contains "$VMM_REPLY" "err=" "the VMM itself"
	grep -q "pid $OLD is the VMM of VM live already" "$VMM_DIR/stderr" || fail "the VMM itself: $(cat "$VMM_DIR/stderr")"
	nothing_moved live "$OLD" "$NEW" "$NEW_ORIG"
	# the new VMM holds the VM's iommufd, but ChangeProcess, which names it, proves that by
	# kcmp(2) on its /proc/PID/fd only: the lab's 7.3 kernel has none (tests/lab/test-kernel-7.3.config
	# sets neither CONFIG_KCMP nor CONFIG_CHECKPOINT_RESTORE), where any open of /dev/iommu would do
	vmm_try change-process live "$NEW"
	assert_eq "org.vfiod1.Error.NotVMM" "$(vmm_field name)" "ChangeProcess without kcmp"
	grep -q "this kernel has no kcmp(2): vfiod cannot prove pid $NEW holds the iommufd of VM live" \
		"$VMM_DIR/stderr" || fail "why (no kcmp): $(cat "$VMM_DIR/stderr")"
	nothing_moved live "$OLD" "$NEW" "$NEW_ORIG"
	charge_is "$OLD" 65536 "the old VMM after the refusals"

	# --- the move: the new process asks with the iommufd it took over (ChangeProcessToCaller);
	# its limit first, then its ioctl, then the commit ---
	new_step take-change live 120
	assert_eq "$NEW" "$(change_pid live)" "the move under way"
	assert_eq "$LIMIT" "$(memlock_of "$NEW")" "the new VMM's limit raised to the VM's before its ioctl"
	vmm_try change-process live "$NEW"
	assert_eq "org.vfiod1.Error.ProcessChangePending" "$(vmm_field name)" "a second move"
	# a process where VM live's charge is moving is nobody else's VMM meanwhile
	vfioctl vm register pending2 --pid "$NEW" --backend iommufd --memory 16M
	assert_refused org.vfiod1.Error.ProcessChangePending
	assert_contains "$(cat "$ERR")" "pid $NEW is where another VM's charge is moving" "why (RegisterVM)"
	vfioctl_ok vm prepare pending3 --backend iommufd --memory 16M
	vfioctl vm attach-vmm pending3 --pid "$NEW"
	assert_refused org.vfiod1.Error.ProcessChangePending
	assert_contains "$(cat "$ERR")" "pid $NEW is where the charge of VM live is moving" "why (AttachVMM)"
	assert_eq prepared "$(vm_state pending3)" "pending3 has no VMM"
	# and no other VM's charge may move to it (check_target())
	sh -c 'exec /usr/bin/setpriv --reuid=1000 --regid=1000 --clear-groups sleep 600' &
	p3=$!
	poll_until 5 runs_as "$p3" 1000 || fail "no uid 1000 process"
	vfioctl_ok vm attach-vmm pending3 --pid "$p3"
	vfioctl vm change-process pending3 --pid "$NEW"
	assert_refused org.vfiod1.Error.NotVMM
	assert_contains "$(cat "$ERR")" "pid $NEW is where the charge of VM live is moving" "why (ChangeProcess)"
	vfioctl_ok vm release pending3
	wait_until 30 vm_is_gone pending3
	kill "$p3"
	assert_eq "$OLD" "$(vm_prop live VMMPid)" "the VMM until the commit"
	new_step ioas-change-process
	charge_is "$NEW" 65536 "the new VMM holds the charge"
	charge_is "$OLD" 0 "the old VMM holds none"
	vmm_step commit-change live
	assert_eq "$MiB64" "$(vmm_field moved)" "bytes moved"
	assert_eq "$NEW" "$(vm_prop live VMMPid)" "the VM's VMM"
	assert_eq 0 "$(change_pid live)" "no move under way"
	assert_eq "$LIMIT" "$(memlock_of "$NEW")" "the new VMM's limit"
	assert_eq "$OLD_ORIG" "$(memlock_of "$OLD")" "the old VMM's limit set back"
	vfioctl vm check-charge live
	assert_eq "expected $MiB64 observed $MiB64 limit ${LIMIT%% *} match" "$(cat "$OUT")" "CheckCharge after"
	vfiod_log | grep -q "VM live: its VMM is pid $NEW now (was pid $OLD): $MiB64 bytes of charge moved" ||
		fail "the move is not logged"
	# the new VMM drives edu through the memory it took over
	new_step edu-dma 0x2000 256

	# the old VMM goes, as the old QEMU does: the VM stays (status 1: the refused steps above)
	vmm_stop 1
	! poll_until 1 vm_is_gone live || fail "the old VMM's exit released the VM"
	assert_eq active "$(vm_state live)" "the VM after the old VMM's exit"

	# the new VMM hot-removes edu; vfiod gives it back and sets the new VMM's own limit back
	new_step hotremove "$EDU"
	vfioctl_ok vm remove-device live "$EDU"
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu given back"
	charge_is "$NEW" 0 "no device: nothing pinned"
	assert_eq "$NEW_ORIG" "$(memlock_of "$NEW")" "the new VMM's own limit"

	# a restart: the journal names the new VMM, whose exit or Release ends the VM
	stop_vfiod
	start_vfiod
	assert_eq "$NEW" "$(vm_prop live VMMPid)" "the VM's VMM after a restart"
	assert_eq active "$(vm_state live)" "the VM after a restart"
	new_step release
	assert_contains "$NEW_REPLY" "state=released" "Release by the new VMM"
	wait_until 30 vm_is_gone live
	new_stop
	stop_vfiod
	kmsg_assert_clean
}

testcase_refusals_leave_the_vm_with_its_vmm() {
	[ "$(vm_kernel)" = modern ] || skip "IOMMU_IOAS_CHANGE_PROCESS: Linux 6.13 and later"
	has_iommufd || fail "no /dev/iommu on the modern kernel"
	modprobe vfio-pci
	kmsg_mark
	start_vfiod
	# guest memory from a memfd, mapped by address (IOAS_MAP): no file mappings
	live_vm plain

	# a deadline: the limit set back, nothing moved
	# a thread of another VM's VMM, by a PIDFD_THREAD pidfd: its tid is no VMM's pid
	new_step thread
	tid=$(vmm_field tid "$NEW_REPLY")
	[ -n "$tid" ] && [ "$tid" != "$NEW" ] || fail "no thread in the new VMM: $NEW_REPLY"
	vfioctl_ok vm register other --pid "$NEW" --backend iommufd --memory 16M
	vmm_try change-process plain "tid:$tid"
	assert_eq "org.freedesktop.DBus.Error.InvalidArgs" "$(vmm_field name)" "a thread of VM other's VMM"
	grep -q "names a thread, not a process" "$VMM_DIR/stderr" ||
		fail "why: $(cat "$VMM_DIR/stderr")"
	nothing_moved plain "$OLD" "$NEW" "$NEW_ORIG"
	# a PIDFD_THREAD pidfd of the leader itself: readable when that thread exits, while the
	# process's other threads hold its files on
	vmm_try change-process plain "tid:$NEW"
	assert_eq "org.freedesktop.DBus.Error.InvalidArgs" "$(vmm_field name)" "a PIDFD_THREAD pidfd of a leader"
	grep -q "names a thread, not a process" "$VMM_DIR/stderr" ||
		fail "why (leader): $(cat "$VMM_DIR/stderr")"
	nothing_moved plain "$OLD" "$NEW" "$NEW_ORIG"
	vfioctl_ok vm release other
	wait_until 30 vm_is_gone other
	# the target of another VM's move under way. VM other2's VMM is a uid 1000
	# process; the new VMM holds plain's iommufd, which counts as other2's only
	# on a kernel without kcmp (CONFIG_KCMP: the lab's 7.3 has none)
	sh -c 'exec /usr/bin/setpriv --reuid=1000 --regid=1000 --clear-groups sleep 600' &
	p2=$!
	poll_until 5 runs_as "$p2" 1000 || fail "no uid 1000 process"
	vfioctl_ok vm register other2 --pid "$p2" --backend iommufd --memory 16M
	# the attack: root names the new VMM for other2; the new VMM holds an open of /dev/iommu
	# (plain's iommufd), not other2's. Without kcmp(2) vfiod used to take any iommufd as other2's
	# and raised the new VMM's limit for a charge it cannot take
	other2_orig=$(memlock_of "$NEW")
	vfioctl vm change-process other2 --pid "$NEW" --timeout 120
	assert_refused org.vfiod1.Error.NotVMM
	assert_contains "$(cat "$ERR")" "pid $NEW" "why (ChangeProcess)"
	assert_eq 0 "$(change_pid other2)" "no move of other2"
	assert_eq "$other2_orig" "$(memlock_of "$NEW")" "the new VMM's limit"
	# the same, asked by the new VMM with plain's iommufd: the same node, another open file
	new_try take-change other2 120
	assert_eq "org.vfiod1.Error.NotVMM" "$(vmm_field name "$NEW_REPLY")" "plain's iommufd for other2"
	grep -q "the descriptor pid $NEW sent is not the iommufd of VM other2" "$NEW_DIR/stderr" ||
		fail "why (ChangeProcessToCaller): $(cat "$NEW_DIR/stderr")"
	assert_eq 0 "$(change_pid other2)" "no move of other2"
	assert_eq "$other2_orig" "$(memlock_of "$NEW")" "the new VMM's limit"
	nothing_moved plain "$OLD" "$NEW" "$NEW_ORIG"
	vfioctl_ok vm release other2
	wait_until 30 vm_is_gone other2
	kill "$p2"

	new_step take-change plain 2
	assert_eq "$LIMIT" "$(memlock_of "$NEW")" "raised"
	wait_until 20 no_move plain
	nothing_moved plain "$OLD" "$NEW" "$NEW_ORIG"
	vfiod_log | grep -q "VM plain: the move of its charge to pid $NEW was not committed in time" ||
		fail "the deadline is not logged"

	# an abort, by the owner; meanwhile no device change
	new_step take-change plain 120
	vfioctl vm remove-device plain "$EDU"
	assert_refused org.vfiod1.Error.DeviceBusy
	assert_contains "$(cat "$ERR")" "is moving to pid $NEW" "why"
	vfioctl vm add-device plain "$(lab_device nvme)"
	assert_refused org.vfiod1.Error.DeviceBusy
	assert_eq "$EDU" "$("$VFIOCTL" --json vm show plain | jq -r '[.devices[].name] | join(" ")')" "devices"
	vfioctl_ok vm change-process plain --abort
	nothing_moved plain "$OLD" "$NEW" "$NEW_ORIG"

	# the kernel refuses to move a charge that is not of file mappings; so does vfiod's commit
	new_step take-change plain 120
	new_try ioas-change-process
	assert_eq "ioas-change-process err=EINVAL" "$NEW_REPLY" "the kernel's answer"
	vmm_try commit-change plain
	assert_eq "org.vfiod1.Error.ChargeNotMoved" "$(vmm_field name)" "the commit"
	grep -q "refused unless every mapping is IOMMU_IOAS_MAP_FILE" "$VMM_DIR/stderr" || fail "the error does not say why: $(cat "$VMM_DIR/stderr")"
	nothing_moved plain "$OLD" "$NEW" "$NEW_ORIG"
	charge_is "$OLD" 65536 "the old VMM keeps the charge"
	charge_is "$NEW" 0 "the new VMM has none"
	vfioctl vm change-process plain --commit
	assert_refused org.vfiod1.Error.NoProcessChange

	# the target's exit ends a move at once (not at its deadline), and no limit is set on its pid
	new_step take-change plain 120
	assert_eq "$NEW" "$(change_pid plain)" "the move under way"
	# the new VMM goes (status 1: the kernel's refusal; edu's file closes)
	new_stop 1
	wait_until 10 no_move plain
	vfiod_log | grep -q "VM plain: pid $NEW, which its charge was moving to, exited" ||
		fail "the target's exit is not logged"
	vfiod_log | grep -q "pid $NEW exited; no limit to set back" || fail "a limit was set on a dead pid"
	assert_eq "$OLD" "$(vm_prop plain VMMPid)" "the VM's VMM"
	# four moves ended without a commit (deadline, abort, failed commit, exit): no fifth, since
	# each raised a target's limit for a while and its children keep what they inherited
	vmm_try change-process plain "$OLD"
	assert_eq "org.vfiod1.Error.ChargeNotMoved" "$(vmm_field name)" "a fifth move"
	grep -q "4 moves of the charge of VM plain ended without a commit" "$VMM_DIR/stderr" ||
		fail "why (fifth move): $(cat "$VMM_DIR/stderr")"
	# then the old VMM (status 1: its refused commit): its exit releases the VM
	vmm_stop 1
	wait_until 60 vm_is_gone plain
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu given back"
	stop_vfiod
	kmsg_assert_clean
}

# the new process made the ioctl, the move is aborted: vfiod reads both
# sides, sees the charge moved, and commits instead of leaving the new VMM
# charged at its own limit and the old one with a raised limit and no charge
testcase_abort_after_the_kernel_moved_commits() {
	[ "$(vm_kernel)" = modern ] || skip "IOMMU_IOAS_CHANGE_PROCESS: Linux 6.13 and later"
	has_iommufd || fail "no /dev/iommu on the modern kernel"
	modprobe vfio-pci
	kmsg_mark
	start_vfiod
	live_vm moved --map-file
	# a hard limit that allows the VM's already: only the soft one is raised
	prlimit --pid "$NEW" --memlock="${NEW_ORIG%% *}:268435456"
	NEW_ORIG="${NEW_ORIG%% *} 268435456"
	assert_eq "$NEW_ORIG" "$(memlock_of "$NEW")" "the new VMM's own limits"
	new_step take-change moved 120
	assert_eq "${LIMIT%% *} 268435456" "$(memlock_of "$NEW")" "the soft limit raised, the hard one kept"
	new_step ioas-change-process
	charge_is "$NEW" 65536 "the new VMM holds the charge"
	charge_is "$OLD" 0 "the old VMM holds none"
	vmm_step abort-change moved
	assert_eq "$NEW" "$(vm_prop moved VMMPid)" "the abort committed: the VM's VMM"
	assert_eq 0 "$(change_pid moved)" "no move under way"
	assert_eq "$LIMIT" "$(memlock_of "$NEW")" "the new VMM's limit is the VM's, hard one too"
	assert_eq "$OLD_ORIG" "$(memlock_of "$OLD")" "the old VMM's limit set back"
	vfiod_log | grep -q "VM moved: the move of its charge to pid $NEW ends (aborted), but the kernel moved the charge already: the move is committed" ||
		fail "the commit instead of the abort is not logged"
	vfioctl vm check-charge moved
	assert_eq "expected $MiB64 observed $MiB64 limit ${LIMIT%% *} match" "$(cat "$OUT")" "CheckCharge after"
	vmm_stop
	new_step hotremove "$EDU"
	vfioctl_ok vm remove-device moved "$EDU"
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu given back"
	assert_eq "$NEW_ORIG" "$(memlock_of "$NEW")" "the new VMM's own limit"
	new_step release
	wait_until 30 vm_is_gone moved
	new_stop
	stop_vfiod
	kmsg_assert_clean
}

# the new process made the ioctl and exited before any commit: the charge
# left the old VMM for a process that is gone. Neither keeps a raised
# limit: the old VMM's goes back to its own, vfiod sets none for the VM
# any more and refuses another move, across a restart too
testcase_target_exit_after_the_ioctl_strands_the_charge() {
	[ "$(vm_kernel)" = modern ] || skip "IOMMU_IOAS_CHANGE_PROCESS: Linux 6.13 and later"
	has_iommufd || fail "no /dev/iommu on the modern kernel"
	modprobe vfio-pci
	kmsg_mark
	start_vfiod
	live_vm stranded --map-file
	new_step take-change stranded 120
	new_step ioas-change-process
	charge_is "$OLD" 0 "the old VMM holds none"
	new_stop
	wait_until 10 no_move stranded
	assert_eq "$OLD" "$(vm_prop stranded VMMPid)" "the VM's VMM"
	assert_eq "$OLD_ORIG" "$(memlock_of "$OLD")" "the old VMM's limit set back to its own"
	vfiod_log | grep -q "VM stranded (change-process): part of its charge left the VMM (pid $OLD) without a commit" ||
		fail "the stranded charge is not logged"
	vmm_try change-process stranded "$OLD"
	assert_eq "org.vfiod1.Error.ChargeNotMoved" "$(vmm_field name)" "another move"
	stop_vfiod
	start_vfiod
	assert_eq "$OLD_ORIG" "$(memlock_of "$OLD")" "the old VMM's limit after a restart"
	vmm_try change-process stranded "$OLD"
	assert_eq "org.vfiod1.Error.ChargeNotMoved" "$(vmm_field name)" "another move after a restart"
	vmm_stop 1
	wait_until 60 vm_is_gone stranded
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu given back"
	stop_vfiod
	kmsg_assert_clean
}

# a live update's old process quits once the new one runs: the old VMM's
# exit after the new process's ioctl, before any commit, commits the move
# (the new process gained exactly the VM's charge; the old one's counters
# went with its mm). Before, vfiod could not read the old side, ended the
# move uncommitted (the new process's limit set back under the charge it
# holds) and took the exit for the VM's VMM's: the VM released under the
# new VMM, which still ran it
testcase_old_vmm_exit_after_the_ioctl_commits() {
	[ "$(vm_kernel)" = modern ] || skip "IOMMU_IOAS_CHANGE_PROCESS: Linux 6.13 and later"
	has_iommufd || fail "no /dev/iommu on the modern kernel"
	modprobe vfio-pci
	kmsg_mark
	start_vfiod
	live_vm oldquits --map-file
	new_step take-change oldquits 120
	new_step ioas-change-process
	charge_is "$NEW" 65536 "the new VMM holds the charge"
	# the old VMM quits (its exit status is not the point)
	echo quit >&7
	vmm_read quit
	exec 7>&- 8<&-
	wait "$VMM_PID" || true
	rm -rf "$VMM_DIR"
	wait_until 10 no_move oldquits
	assert_eq "$NEW" "$(vm_prop oldquits VMMPid)" "the old VMM's exit committed: the VM's VMM"
	assert_eq "$LIMIT" "$(memlock_of "$NEW")" "the new VMM's limit is the VM's, hard one too"
	vfiod_log | grep -q "VM oldquits: the move of its charge to pid $NEW ends (the VMM exited), but the kernel moved the charge already: the move is committed" ||
		fail "the commit at the old VMM's exit is not logged"
	vfioctl vm check-charge oldquits
	assert_eq "expected $MiB64 observed $MiB64 limit ${LIMIT%% *} match" "$(cat "$OUT")" "CheckCharge after"
	new_step hotremove "$EDU"
	vfioctl_ok vm remove-device oldquits "$EDU"
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu given back"
	new_step release
	wait_until 30 vm_is_gone oldquits
	new_stop
	stop_vfiod
	kmsg_assert_clean
}

# vfiod dies (SIGKILL) after the new process's ioctl, before any commit:
# the next vfiod sets the new process's limit back, finds the VMM pinning
# less than at the move's start (journaled), and strands the VM's charge
testcase_crash_after_the_ioctl_strands_the_charge() {
	[ "$(vm_kernel)" = modern ] || skip "IOMMU_IOAS_CHANGE_PROCESS: Linux 6.13 and later"
	has_iommufd || fail "no /dev/iommu on the modern kernel"
	modprobe vfio-pci
	kmsg_mark
	start_vfiod
	live_vm crashed --map-file
	new_step take-change crashed 120
	new_step ioas-change-process
	charge_is "$NEW" 65536 "the new VMM holds the charge"
	_kv_pid=$(cat "$VFIOD_PIDFILE")
	kill -KILL "$_kv_pid"
	wait "$_kv_pid" 2>/dev/null || :
	rm -f "$VFIOD_PIDFILE"
	assert_eq "$LIMIT" "$(memlock_of "$NEW")" "the raise outlives the crash"
	start_vfiod
	assert_eq "$OLD" "$(vm_prop crashed VMMPid)" "the VM's VMM after the restart"
	assert_eq 0 "$(change_pid crashed)" "no move under way"
	assert_eq "$NEW_ORIG" "$(memlock_of "$NEW")" "the new process's limit set back"
	assert_eq "$OLD_ORIG" "$(memlock_of "$OLD")" "the old VMM's limit set back"
	vmm_try change-process crashed "$NEW"
	assert_eq "org.vfiod1.Error.ChargeNotMoved" "$(vmm_field name)" "another move"
	new_stop
	vmm_stop 1
	wait_until 60 vm_is_gone crashed
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu given back"
	stop_vfiod
	kmsg_assert_clean
}

# vfiod as its unit (systemd/vfiod.service.in) starts it: root with only
# CAP_CHOWN, CAP_SYS_RESOURCE and CAP_NET_ADMIN (no CAP_SYS_PTRACE)
start_vfiod_like_unit() {
	_su_real=$VFIOD_BIN
	UNIT_BIN=$(mktemp -d /tmp/vfd-unit.XXXXXX)
	printf '#!/bin/sh\nexec /usr/bin/setpriv --bounding-set=-all,+chown,+sys_resource,+net_admin --inh-caps=-all %s/vfiod "$@"\n' \
		"$_su_real" >"$UNIT_BIN/vfiod"
	chmod 755 "$UNIT_BIN/vfiod"
	VFIOD_BIN=$UNIT_BIN
	start_vfiod
	VFIOD_BIN=$_su_real
	# CAP_CHOWN (0), CAP_NET_ADMIN (12), CAP_SYS_RESOURCE (24)
	assert_eq "0000000001001001 0000000001001001" \
		"$(awk '$1 == "CapEff:" || $1 == "CapBnd:" { printf "%s%s", s, $2; s = " " }' \
		"/proc/$(cat "$VFIOD_PIDFILE")/status")" "vfiod's capabilities (effective, bounding)"
}

# the move for a VMM of uid 1000 under the unit's capabilities: vfiod may
# not read /proc/PID/fd of another uid's process without CAP_SYS_PTRACE,
# so ChangeProcess (which names the target) is refused; the new process
# asking with the iommufd it took over (ChangeProcessToCaller) needs no
# ptrace rights, and the charge moves
testcase_live_update_under_the_units_capabilities() {
	[ "$(vm_kernel)" = modern ] || skip "IOMMU_IOAS_CHANGE_PROCESS: Linux 6.13 and later"
	has_iommufd || fail "no /dev/iommu on the modern kernel"
	modprobe vfio-pci
	kmsg_mark
	start_vfiod_like_unit
	live_vm unitcaps --map-file
	vmm_try change-process unitcaps "$NEW" 120
	assert_eq "org.vfiod1.Error.NotVMM" "$(vmm_field name)" "ChangeProcess under the unit"
	grep -q "vfiod may not read the descriptors of pid $NEW" "$VMM_DIR/stderr" ||
		fail "why (no ptrace rights): $(cat "$VMM_DIR/stderr")"
	nothing_moved unitcaps "$OLD" "$NEW" "$NEW_ORIG"
	new_step take-change unitcaps 120
	assert_eq "$NEW" "$(change_pid unitcaps)" "the move under way"
	assert_eq "$LIMIT" "$(memlock_of "$NEW")" "the new VMM's limit raised to the VM's"
	new_step ioas-change-process
	charge_is "$NEW" 65536 "the new VMM holds the charge"
	charge_is "$OLD" 0 "the old VMM holds none"
	vmm_step commit-change unitcaps
	assert_eq "$MiB64" "$(vmm_field moved)" "bytes moved"
	assert_eq "$NEW" "$(vm_prop unitcaps VMMPid)" "the VM's VMM"
	assert_eq "$OLD_ORIG" "$(memlock_of "$OLD")" "the old VMM's limit set back"
	new_step edu-dma 0x2000 256
	vmm_stop 1
	new_step hotremove "$EDU"
	vfioctl_ok vm remove-device unitcaps "$EDU"
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu given back"
	assert_eq "$NEW_ORIG" "$(memlock_of "$NEW")" "the new VMM's own limit"
	new_step release
	wait_until 30 vm_is_gone unitcaps
	new_stop
	stop_vfiod
	rm -rf "$UNIT_BIN"
	kmsg_assert_clean
}

# GetDeviceFds in a loop: vfiod keeps and journals a copy of each file it
# hands out until the file is bound, at most 8 a device; then it answers
# TooManyRequests, saying why
testcase_get_device_fds_is_bounded() {
	has_iommufd || fail "no /dev/iommu on this kernel"
	modprobe vfio-pci
	kmsg_mark
	start_vfiod
	EDU=$(lab_device edu)
	BEFORE=$(device_snapshot "$EDU")
	vmm_spawn --iommufd "$EDU" --vfiod grab --user vmm --memfd --mem 16M
	vfioctl_ok vm register grab --pid "$VMM_PID" --backend iommufd --memory 16M
	vfioctl_ok vm add-device grab "$EDU"
	vmm_go
	vmm_try grab-many grab "$EDU" 20
	assert_eq "org.vfiod1.Error.TooManyRequests" "$(vmm_field name)" "the 9th unbound file"
	assert_eq 8 "$(vmm_field got)" "files handed out"
	grep -q "8 files of $EDU are handed out and not bound yet" "$VMM_DIR/stderr" ||
		fail "why: $(cat "$VMM_DIR/stderr")"
	vmm_try grab-many grab "$EDU" 1
	assert_eq "org.vfiod1.Error.TooManyRequests" "$(vmm_field name)" "and the next"
	# the VMM goes (status 1: its refused steps); vfiod binds and closes each copy it kept
	vmm_stop 1
	wait_until 60 vm_is_gone grab
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu given back"
	stop_vfiod
	kmsg_assert_clean
}

# the 6.12 test kernel: iommufd without IOMMU_IOAS_CHANGE_PROCESS
testcase_not_supported_by_this_kernel() {
	[ "$(vm_kernel)" = test ] || skip "the kernel without IOMMU_IOAS_CHANGE_PROCESS is the test kernel"
	has_iommufd || fail "no /dev/iommu on the test kernel"
	modprobe vfio-pci
	start_vfiod
	vfioctl_ok --json host
	assert_eq false "$(jq -r .ioas_change_process "$OUT")" "6.12 has no IOAS_CHANGE_PROCESS"
	EDU=$(lab_device edu)
	BEFORE=$(device_snapshot "$EDU")
	vmm_spawn --iommufd "$EDU" --vfiod old612 --user vmm --memfd --mem 16M
	vfioctl_ok vm register old612 --pid "$VMM_PID" --backend iommufd --memory 16M
	vfioctl_ok vm add-device old612 "$EDU"
	vmm_go
	vmm_step map 0 16M
	sh -c 'exec /usr/bin/setpriv --reuid=1000 --regid=1000 --clear-groups sleep 600' &
	target=$!
	poll_until 5 runs_as "$target" 1000 || fail "no uid 1000 process"
	before=$(memlock_of "$target")
	vfioctl vm change-process old612 --pid "$target"
	assert_refused org.vfiod1.Error.NotSupported
	assert_contains "$(cat "$ERR")" "IOMMU_IOAS_CHANGE_PROCESS is not supported by this kernel" "why"
	vmm_try change-process old612 "$target"
	assert_eq org.vfiod1.Error.NotSupported "$(vmm_field name)" "asked by the VMM"
	nothing_moved old612 "$VMM_PID" "$target" "$before"
	kill "$target"
	vmm_stop 1
	wait_until 60 vm_is_gone old612
	assert_eq "$BEFORE" "$(device_snapshot "$EDU")" "edu given back"
	stop_vfiod
}
