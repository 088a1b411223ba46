# vfiod-kernels: test distro
# vfiod-timeouts: case=1800 boot=3600
# The fault sweep (issue 12): one VM's life, every host change it makes
# enumerated from vfiod's own trace (--test-fault-trace), then each step
# faulted in turn: an injected error at that step (as the kernel could
# fail it) and a SIGKILL of vfiod right before it. After each run, and
# after the next vfiod's start, the host is exactly as before the
# operation or exactly as after it: the drivers and driver_override of
# edu's group, the mdev, the VM's devices, the VMM's RLIMIT_MEMLOCK, the
# charge check, the journal files and the group node's owner. A release
# or a remove that failed half-way is the one exception by design: it
# stays resumable (the VM keeps what it did not give back yet, the journal
# names it), and one more Release / RemoveDevice, without a fault, must
# reach exactly the state after. Every case then ends the VM and checks
# that the host is as it was before the VM.
#
# The life (ops): 1 register, 2 create-mdev (vfiod creates a vGPU), 3
# add-device edu (claim, open, raise), 4 remove-device edu (proof, give
# back, lower), 5 release (the vGPU removed). Between them, not swept,
# the VMM takes its descriptors, attaches edu and detaches it again, and
# exits before the release (reference VMM, tests/vmm; the VM is
# registered --keep-after-exit).
#
# Suite: each distinct step of each op, at its first pass in that op, with
# both faults; type1 on both kernels, iommufd on the test kernel. bench/faults-sweep.sh runs every pass
# (VFIOD_FAULTS_SWEEP=all).

. /opt/vfiod/tests/vmm/vmm-lib.sh
. /opt/vfiod/tests/vm/lib/vm-ownership-lib.sh

U=5e1f0a35-9a2c-4b6e-8f0d-1c2b3a4d5e6f
JOURNAL=/run/vfiod/vms
TRACE=/tmp/vfiod-trace
OPS="1 2 3 4 5"

op_1() { vfioctl vm register f --pid "$VMM_PID" --backend "$BACKEND" --memory 64M --keep-after-exit; }
op_2() { vfioctl vm create-mdev f vfiod_vgpu vfiod_vgpu-1 --uuid "$U"; }
op_3() { vfioctl vm add-device f "$EDU"; }
op_4() { vfioctl vm remove-device f "$EDU"; }
op_5() { vfioctl vm release f; }
op_name() {
	case $1 in
	1) echo register ;; 2) echo create-mdev ;; 3) echo add-device ;;
	4) echo remove-device ;; 5) echo release ;;
	esac
}

# the VMM's part after op N (not swept)
after_op() {
	case $1 in
	2) vmm_go; vmm_step map 0 64M ;;
	3) vmm_step hotadd f "$EDU"; vmm_step hotremove "$EDU" ;;
	# the VMM ends (the VM stays: --keep-after-exit) so that Release may give the vGPU back
	4) vmm_stop; VMM_GONE=1 ;;
	esac
}

journal_files() {
	find /run/vfiod/vms /run/vfiod/bindings -type f 2>/dev/null | sort
}

# the host as this sweep compares it, one line per item
snapshot() {
	echo "edu: $(device_snapshot $MEMBERS | tr '\n' ' ')"
	echo "group node: $(stat -c %u:%g "/dev/vfio/$GROUP" 2>/dev/null || echo none)"
	echo "mdev: $(mdev_exists "$U" && echo "$U" || echo none)"
	if [ "$(vm_state f)" = gone ]; then
		echo "vm: gone"
	else
		echo "vm: $("$VFIOCTL" --json vm show f | jq -r '[.devices[].name] | sort | join(",")')"
		# exit 1 on a mismatch, with the JSON still printed
		"$VFIOCTL" --json vm check-charge f >/tmp/charge.json 2>/dev/null || :
		echo "charge matches: $(jq -r '.matches' /tmp/charge.json 2>/dev/null || echo unknown)"
	fi
	[ -n "${VMM_GONE:-}" ] || echo "limit: $(memlock_of "$VMM_PID")"
	echo "journals: $(journal_files | tr '\n' ' ')"
	if [ -e "$JOURNAL/f.json" ]; then
		echo "journal: $(jq -c '[[.devices[].name], .transaction]' "$JOURNAL/f.json")"
	fi
}

setup_host() {
	BACKEND=$1
	modprobe vfio-pci
	modprobe vfio_iommu_type1 || true
	modprobe mdev || fail "modprobe mdev"
	load_test_module vfiod_test_vgpu
	# iommufd's hot-remove proof (and type1's after a restart) needs the helper
	grep -q '^vfiod_mm ' /proc/modules || load_test_module vfiod_mm
	EDU=$(lab_device edu)
	GROUP=$(pci_group "$EDU")
	MEMBERS=$(ls "/sys/kernel/iommu_groups/$GROUP/devices")
	HOST_BEFORE=$(device_snapshot $MEMBERS)
}

# start_life FAULT: vfiod (tracing, FAULT armed unless empty) and a held VMM
start_life() {
	VMM_GONE=
	rm -f "$TRACE"
	if [ -n "$1" ]; then
		start_vfiod --test-fault-trace="$TRACE" --test-fault="$1"
	else
		start_vfiod --test-fault-trace="$TRACE"
	fi
	vmm_spawn "--$BACKEND" "$U" --vfiod f --user vmm --mem 64M
}

# end_life: the VMM gone, the VM released, vfiod stopped; the host as before the VM
end_life() {
	[ -n "$VMM_GONE" ] || vmm_kill
	if ! vm_is_gone f; then
		vfioctl vm release f
		poll_until 60 vm_is_gone f || fail "VM f not gone after its VMM's exit and a Release"
	fi
	stop_vfiod
	assert_eq "$HOST_BEFORE" "$(device_snapshot $MEMBERS)" "edu's group as before the VM"
	mdev_gone "$U" || fail "the vGPU vfiod created outlived the VM"
	[ -z "$(journal_files)" ] || fail "journals left: $(journal_files)"
}

# the clean life: the state before and after each op, and the trace lines of each
clean_life() {
	start_life ""
	snapshot >/tmp/state.0
	for k in $OPS; do
		_from=$(wc -l <"$TRACE")
		"op_$k"
		[ "$RC" -eq 0 ] || fail "op $(op_name "$k") failed without a fault: $(cat "$ERR")"
		_to=$(wc -l <"$TRACE")
		sed -n "$((_from + 1)),${_to}p" "$TRACE" >"/tmp/trace.$k"
		snapshot >"/tmp/state.$k"
		after_op "$k"
		# the VMM's part changes the charge and the journal: the next op starts from here
		snapshot >"/tmp/state.$k.next"
	done
	end_life
	[ -s /tmp/trace.3 ] || fail "the add-device op passed no step"
}

# the cases of op K: "STEP N" lines, each distinct step once (all passes with VFIOD_FAULTS_SWEEP=all)
cases_of() {
	if [ "${VFIOD_FAULTS_SWEEP:-}" = all ]; then
		cat "/tmp/trace.$1"
	else
		awk '!seen[$1]++' "/tmp/trace.$1"
	fi
}

# settled BEFORE AFTER: the host (in /tmp/state.now) is as in one of the two
settled() {
	snapshot >/tmp/state.now
	cmp -s /tmp/state.now "$1" || cmp -s /tmp/state.now "$2"
}

# one case: op K with STEP's pass N faulted by ACTION (an errno number or kill)
fault_case() {
	_k=$1 _step=$2 _n=$3 _action=$4
	_what="$(op_name "$_k"): $_step pass $_n, $_action"
	start_life "$_step:$_n:$_action"
	for _j in $OPS; do
		[ "$_j" -lt "$_k" ] || break
		"op_$_j"
		[ "$RC" -eq 0 ] || fail "$_what: op $(op_name "$_j") failed before the fault: $(cat "$ERR")"
		after_op "$_j"
	done
	"op_$_k"
	grep -qx "$_step $_n" "$TRACE" || fail "$_what: vfiod never passed the armed step"
	if [ "$_action" = kill ]; then
		[ "$RC" -ne 0 ] || fail "$_what: the op answered although vfiod was killed"
		_pid=$(cat "$VFIOD_PIDFILE")
		poll_until 20 process_has_exited "$_pid" || fail "$_what: vfiod still alive"
		wait "$_pid" 2>/dev/null || :
		rm -f "$VFIOD_PIDFILE"
		start_vfiod --test-fault-trace="$TRACE.after"
		KILLS=$((KILLS + 1))
	else
		ERRORS=$((ERRORS + 1))
	fi
	CHECKED=$((CHECKED + 1))
	_before=/tmp/state.$((_k - 1)).next
	[ "$_k" -gt 1 ] || _before=/tmp/state.0
	# a journal write or a limit that failed is written again within a second or
	# two (a deadline: one snapshot is several vfioctl calls, slow under TCG)
	_deadline=$(($(date +%s) + 8))
	until settled "$_before" "/tmp/state.$_k" || [ "$(date +%s)" -ge "$_deadline" ]; do
		sleep 0.5
	done
	if cmp -s /tmp/state.now "$_before"; then
		AS_BEFORE=$((AS_BEFORE + 1))
	elif cmp -s /tmp/state.now "/tmp/state.$_k"; then
		AS_AFTER=$((AS_AFTER + 1))
	elif [ "$_k" -ge 4 ]; then
		# a give-back that stopped half-way: resumable, and the next try finishes it
		"op_$_k"
		snapshot >/tmp/state.retry
		CHECKED=$((CHECKED + 1))
		cmp -s /tmp/state.retry "/tmp/state.$_k" ||
			fail "$_what: not finished by one more try:
$(diff "/tmp/state.$_k" /tmp/state.retry)"
		RESUMED=$((RESUMED + 1))
	else
		fail "$_what: the host is neither as before nor as after the op:
--- before
$(cat "$_before")
--- after
$(cat "/tmp/state.$_k")
--- now
$(cat /tmp/state.now)
$(tail -n 20 "$VFIOD_LOG")"
	fi
	end_life
	CHECKED=$((CHECKED + 1))
	log "ok: $_what"
}

sweep() {
	setup_host "$1"
	# a testcase before this one that failed half-way may have left its VM behind
	[ -z "$(journal_files)" ] && mdev_gone "$U" || fail "an earlier testcase left a VM: $(journal_files)"
	clean_life
	KILLS=0 ERRORS=0 CHECKED=0 AS_BEFORE=0 AS_AFTER=0 RESUMED=0 STEPS=0
	for k in $OPS; do
		cases_of "$k" >"/tmp/cases.$k"
		while read -r step n <&9; do
			STEPS=$((STEPS + 1))
			fault_case "$k" "$step" "$n" 5   # EIO
			fault_case "$k" "$step" "$n" kill
		done 9<"/tmp/cases.$k"
	done
	echo "faults sweep ($BACKEND, $(uname -r)): $STEPS steps swept x 2 faults = $((KILLS + ERRORS)) runs" \
		"($ERRORS errors, $KILLS kills); $CHECKED states checked: $AS_BEFORE as before the op," \
		"$AS_AFTER as after, $RESUMED finished by one more try"
	[ "$STEPS" -gt 0 ] || fail "no step swept"
}

testcase_faults_sweep_type1() { sweep type1; }
testcase_faults_sweep_iommufd() {
	# the issue's matrix: both backends on the test kernel, type1 on the distro kernel
	[ "$(vm_kernel)" = test ] || skip "iommufd is swept on the test kernel"
	has_iommufd || skip "no /dev/iommu on this kernel"
	sweep iommufd
}
