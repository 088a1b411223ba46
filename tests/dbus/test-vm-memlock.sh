#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# VM accounting on the fixture host: the RegisterVM options of memory
# locking and post-mortem accounting, the memlock cap refusing an add
# before anything changes, the limit vfiod sets through prlimit() (or the
# warning when it may not: no CAP_SYS_RESOURCE), CheckCharge, the VMM
# kept after its exit with release_on_exit off, and Manager.MmHelper.
# The fixture has no /dev/vfio: type1 with vmm_opens_groups, as test-vm.sh.
# The kernel side (real pins, the vfiod_mm helper) is in the vm suite:
# vm-mm-helper-exit, vm-reaccount-limits.
. "$(dirname "$0")/lib.sh"

command -v busctl >/dev/null 2>&1 || { echo "1..0 # SKIP busctl is not installed"; exit 0; }
command -v prlimit >/dev/null 2>&1 || { echo "1..0 # SKIP prlimit is not installed"; exit 0; }

M=org.vfiod1.Manager
UUID1=5b2c2f8e-6a0e-4c57-9d51-0d1c7e0a0011
LIMIT_64M=134217728 # the precise policy: 64 MiB of guest memory + 64 MiB headroom

# vmm_state_is NAME STATE: the VMMState of VM NAME is STATE
vmm_state_is() {
	[ "$(vm_prop "$1" VMMState)" = "$2" ]
}

vm_prop() {
	busctl --address="$BUS" get-property org.vfiod1 "$(vm_path "$1")" org.vfiod1.VM "$2" | cut -d' ' -f2- | tr -d '"'
}

# register_opts NAME OPTIONS...: RegisterVMWithPid through busctl, options as busctl a{sv} words
register_opts() {
	_name=$1
	shift
	spawn_vmm
	RC=0
	busctl --address="$BUS" -- call org.vfiod1 /org/vfiod1 "$M" RegisterVMWithPid \
		'ssutbsa{sv}' "$_name" "$UUID1" "$VMM" 67108864 false type1 "$@" >"$OUT" 2>"$ERR" || RC=$?
}

options_are_validated() {
	for c in "memlock_policy s greedy|Invalid memlock_policy 'greedy'" \
		"memlock_policy b true|Option memlock_policy must be a string" \
		"memlock_cap_bytes t 0|Option memlock_cap_bytes must not be 0" \
		"memlock_cap_bytes u 5|Option memlock_cap_bytes must be a uint64" \
		"release_on_exit s no|Option release_on_exit must be a boolean" \
		"vmm_opens_groups b false|Option vmm_opens_groups given twice"; do
		opt=${c%%|*}; text=${c#*|}
		# shellcheck disable=SC2086 # the option is three busctl words
		register_opts bad 2 vmm_opens_groups b true $opt
		[ "$RC" -ne 0 ] || fail "$opt was accepted"
		grep -q "$text" "$ERR" || fail "$opt: $(cat "$ERR")"
	done
	vfioctl vm register bad --pid "$VMM" --backend type1 --memlock-policy greedy
	assert_one_line_error 2 "invalid --memlock-policy 'greedy'"
	vfioctl --json vm list
	assert_eq 0 "$(jq length "$OUT")" "VMs after refused registrations"
}

mm_helper_is_reported() {
	v=$(busctl --address="$BUS" get-property org.vfiod1 /org/vfiod1 "$M" MmHelper | cut -d' ' -f2 | tr -d '"')
	if [ -d /sys/module/vfiod_mm ]; then
		assert_eq available "$v" "MmHelper with the module loaded"
	else
		assert_eq absent "$v" "MmHelper without the module"
		grep -q "accounting after exit unavailable (vfiod_mm not loaded)" "$T/vfiod.log" ||
			fail "no log line about the missing helper"
	fi
}

cap_refuses_before_anything_changes() {
	make_group_node 2
	register_opts cap 2 vmm_opens_groups b true memlock_cap_bytes t 104857600
	[ "$RC" -eq 0 ] || fail "register: $(cat "$ERR")"
	before=$(memlock_of "$VMM")
	vfioctl vm add-device cap 0000:01:00.0
	assert_one_line_error 1 "(org.vfiod1.Error.MemlockCapExceeded)"
	grep -q "needs a memlock limit of $LIMIT_64M bytes, above its cap of 104857600" "$ERR" ||
		fail "the refusal does not name the limit and the cap: $(cat "$ERR")"
	assert_eq "$before" "$(memlock_of "$VMM")" "the VMM's limit after the refused add"
	assert_eq 0 "$(stat -c %u "$ROOT/dev/vfio/2")" "group node owner after the refused add"
	assert_eq "@" "$("$VFIOCTL" --bus-address="$BUS" --json vm list | jq -r '.[] | select(.name == "cap") | "@" + (.devices | join(","))')" \
		"devices after the refused add"
	vfioctl vm release cap
	assert_vfioctl_ok
}

# memlock_headroom_bytes: the VM's own headroom replaces the configured 64 MiB
# in the precise limit; the cap's refusal names the limit, so this holds
# whether or not vfiod may raise hard limits here
own_headroom_replaces_the_configured_one() {
	make_group_node 2
	# 64 MiB + 8 MiB: above a cap of 70 MiB, and the refusal names it
	register_opts hr8 3 vmm_opens_groups b true memlock_headroom_bytes t 8388608 memlock_cap_bytes t 73400320
	[ "$RC" -eq 0 ] || fail "register: $(cat "$ERR")"
	vfioctl vm add-device hr8 0000:01:00.0
	assert_one_line_error 1 "(org.vfiod1.Error.MemlockCapExceeded)"
	grep -q "needs a memlock limit of 75497472 bytes, above its cap of 73400320" "$ERR" ||
		fail "the limit with an 8 MiB headroom: $(cat "$ERR")"
	vfioctl vm release hr8
	assert_vfioctl_ok
	# headroom 0 (a VMM that maps guest memory only): 64 MiB fits a 64 MiB cap
	register_opts hr0 3 vmm_opens_groups b true memlock_headroom_bytes t 0 memlock_cap_bytes t 67108864
	[ "$RC" -eq 0 ] || fail "register: $(cat "$ERR")"
	vfioctl vm add-device hr0 0000:01:00.0
	assert_vfioctl_ok
	if can_raise_hard_limits; then
		assert_eq "67108864 67108864" "$(memlock_of "$VMM")" "the limit with headroom 0"
	fi
	vfioctl vm remove-device hr0 0000:01:00.0
	assert_vfioctl_ok
	vfioctl vm release hr0
	assert_vfioctl_ok
	# below what the VMM declares it maps besides guest memory: refused
	register_opts hrlow 3 vmm_opens_groups b true memlock_headroom_bytes t 1048576 extra_charge_bytes t 4194304
	[ "$RC" -ne 0 ] || fail "a headroom below extra_charge_bytes was accepted"
	grep -q "Option memlock_headroom_bytes (1048576) is below extra_charge_bytes (4194304)" "$ERR" ||
		fail "the refusal: $(cat "$ERR")"
	register_opts hrbad 2 vmm_opens_groups b true memlock_headroom_bytes s 0
	[ "$RC" -ne 0 ] || fail "a string headroom was accepted"
	grep -q "Option memlock_headroom_bytes must be a uint64" "$ERR" || fail "the refusal: $(cat "$ERR")"
	vfioctl vm register hrcli --pid "$VMM" --backend type1 --headroom lots
	assert_one_line_error 2 "invalid --headroom 'lots'"
	vfioctl --json vm list
	assert_eq 0 "$(jq length "$OUT")" "VMs after the headroom checks"
}

# whether vfiod, running as we do, may raise a hard limit (CAP_SYS_RESOURCE): probed on a throwaway process
can_raise_hard_limits() {
	sleep 600 &
	_p=$!
	_hard=$(prlimit --pid "$_p" --memlock --noheadings --raw --output HARD)
	_rc=0
	# an unlimited hard limit is only lowered: that needs no capability
	if [ "$_hard" != unlimited ]; then
		prlimit --pid "$_p" --memlock="$((_hard + 4096)):$((_hard + 4096))" 2>/dev/null || _rc=1
	fi
	kill "$_p"
	return "$_rc"
}

limit_raised_and_restored() {
	make_group_node 2
	register_opts lim 1 vmm_opens_groups b true
	[ "$RC" -eq 0 ] || fail "register: $(cat "$ERR")"
	# the VMM inherited this shell's limit; no device: vfiod leaves it alone
	orig=$(memlock_of $$)
	assert_eq "$orig" "$(memlock_of "$VMM")" "the limit after registering without devices"
	vfioctl vm add-device lim 0000:01:00.0
	assert_vfioctl_ok
	if can_raise_hard_limits; then
		assert_eq "$LIMIT_64M $LIMIT_64M" "$(memlock_of "$VMM")" "the limit with the device"
		grep -q "VM lim (add): RLIMIT_MEMLOCK of the VMM (pid $VMM) set to $LIMIT_64M" "$T/vfiod.log" ||
			fail "no log line for the raise"
	else
		grep -q "VM lim (add): cannot set the VMM's RLIMIT_MEMLOCK to $LIMIT_64M bytes: Operation not permitted" \
			"$T/vfiod.log" || fail "a refused raise is not reported"
		assert_eq "$orig" "$(memlock_of "$VMM")" "the limit when vfiod may not raise it"
	fi
	vfioctl vm remove-device lim 0000:01:00.0
	assert_vfioctl_ok
	assert_eq "$orig" "$(memlock_of "$VMM")" "the limit once the device is given back"
	vfioctl vm release lim
	assert_vfioctl_ok
}

policy_none_leaves_the_limit_alone() {
	make_group_node 2
	register_opts none 2 vmm_opens_groups b true memlock_policy s none
	[ "$RC" -eq 0 ] || fail "register: $(cat "$ERR")"
	orig=$(memlock_of "$VMM")
	vfioctl vm add-device none 0000:01:00.0
	assert_vfioctl_ok
	assert_eq "$orig" "$(memlock_of "$VMM")" "the limit with memlock_policy none"
	grep -q "VM none (add): RLIMIT_MEMLOCK" "$T/vfiod.log" && fail "vfiod touched the limit"
	vfioctl vm release none
	assert_vfioctl_ok
}

check_charge_compares() {
	register_opts chk 1 vmm_opens_groups b true
	[ "$RC" -eq 0 ] || fail "register: $(cat "$ERR")"
	# nothing assigned: nothing expected, and a sleep(1) locks nothing
	vfioctl vm check-charge chk
	assert_vfioctl_ok
	case "$(cat "$OUT")" in
	"expected 0 observed 0 limit "*" match") ;;
	*) fail "check-charge: $(cat "$OUT")" ;;
	esac
	assert_eq true "$(vm_prop chk ChargeMatches)" "ChargeMatches"
	assert_eq 0 "$(vm_prop chk ExpectedChargeBytes)" "ExpectedChargeBytes"
	assert_eq alive "$(vm_prop chk VMMState)" "VMMState"
	vfioctl --json vm check-charge chk
	assert_vfioctl_ok
	assert_eq "0 0 true" "$(jq -r '"\(.expected_bytes) \(.observed_bytes) \(.matches)"' "$OUT")" "check-charge --json"
	vfioctl vm release chk
	assert_vfioctl_ok
}

kept_after_exit_until_release() {
	register_opts keep 2 vmm_opens_groups b true release_on_exit b false
	[ "$RC" -eq 0 ] || fail "register: $(cat "$ERR")"
	kill "$VMM"
	poll_until 5 vmm_state_is keep exited || fail "VMMState did not become exited within 5 s"
	assert_eq registered "$(vm_prop keep State)" "the VM stays after its VMM's exit"
	vfioctl --json vm list
	assert_eq "exited 0" "$(jq -r '.[] | select(.name == "keep") | "\(.vmm_state) \(.locked_bytes)"' "$OUT")" \
		"vm list after the exit"
	grep -q "VM keep: VMM (pid $VMM) exited; kept until Release" "$T/vfiod.log" || fail "no log line"
	vfioctl vm release keep
	assert_vfioctl_ok
	assert_eq released "$(cat "$OUT")" "Release after the exit"
	[ -z "$(vm_path keep)" ] || fail "the VM is still there"
}

# etc/vfiod/memlock.conf (read at start): its headroom replaces the 64 MiB
# for every VM, a VM's own memlock_headroom_bytes still wins; the limit is
# read from the cap's refusal, which names it
# limit_named_by_refusal NAME CAP [OPTIONS...]: LIMIT, the limit an add-device
# needs (not a command substitution: the VMM it spawns would hold its pipe)
limit_named_by_refusal() {
	_n=$1 _cap=$2
	shift 2
	register_opts "$_n" "$(($# / 3 + 2))" vmm_opens_groups b true memlock_cap_bytes t "$_cap" "$@"
	[ "$RC" -eq 0 ] || fail "register $_n: $(cat "$ERR")"
	vfioctl vm add-device "$_n" "${ADD_DEVICE:-0000:01:00.0}"
	[ "$RC" -ne 0 ] || fail "add-device under a cap of $_cap was accepted"
	LIMIT=$(sed -n 's/.*needs a memlock limit of \([0-9]*\) bytes.*/\1/p' "$ERR")
	vfioctl vm release "$_n"
	assert_vfioctl_ok
}

settings_file_headroom_applies() {
	make_group_node 2
	# 64 MiB + the file's 16 MiB
	limit_named_by_refusal conf 1048576
	assert_eq 83886080 "$LIMIT" "the limit with headroom = 16M"
	limit_named_by_refusal confown 1048576 memlock_headroom_bytes t 0
	assert_eq 67108864 "$LIMIT" "the limit with the VM's own headroom 0"
	# an mdev alone: its type's budget from the file (the default: 64 + 16 MiB)
	make_group_node 11
	ADD_DEVICE=83b8f4f2-509f-382f-3c1e-e6bfe0fa1001 limit_named_by_refusal confmdev 1048576
	assert_eq 8388608 "$LIMIT" "the limit of an mdev of a type with a budget of 8M"
}

bad_settings_file_keeps_the_defaults() {
	grep -q "Memlock settings: etc/vfiod/memlock.conf: .*line 1.*; using the defaults" "$T/vfiod.log" ||
		fail "no log line for the bad file: $(grep -i memlock "$T/vfiod.log")"
	make_group_node 2
	limit_named_by_refusal bad 1048576
	assert_eq "$LIMIT_64M" "$LIMIT" "the limit after a bad settings file"
}

trap 'cleanup_vmms; cleanup' EXIT
make_fixture
start_bus
start_vfiod

check "RegisterVM checks the memlock and release_on_exit options" options_are_validated
check "Manager.MmHelper says whether vfiod_mm is there" mm_helper_is_reported
check "a memlock cap refuses an add before anything changes" cap_refuses_before_anything_changes
check "a VM's memlock_headroom_bytes replaces the configured headroom" own_headroom_replaces_the_configured_one
check "the limit is raised for a device and restored without one (or the refusal is reported)" limit_raised_and_restored
check "memlock_policy none leaves the VMM's limit alone" policy_none_leaves_the_limit_alone
check "CheckCharge compares the expected and observed charge" check_charge_compares
check "release_on_exit off keeps the VM after its VMM's exit until Release" kept_after_exit_until_release

stop_vfiod || :
mkdir -p "$ROOT/etc/vfiod"
printf '# test\nheadroom = 16M\nmdev-budget i915-GVTg_V5_4 = 8M\n' >"$ROOT/etc/vfiod/memlock.conf"
start_vfiod
check "etc/vfiod/memlock.conf's headroom applies, a VM's own wins" settings_file_headroom_applies
stop_vfiod || :
printf 'headroom = lots\n' >"$ROOT/etc/vfiod/memlock.conf"
start_vfiod
check "a bad etc/vfiod/memlock.conf is logged and the defaults apply" bad_settings_file_keeps_the_defaults

done_testing
