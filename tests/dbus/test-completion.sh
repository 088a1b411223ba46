#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The bash completion of vfioctl (shell-completion/bash/vfioctl) against the
# real vfiod on the fixture: the script is sourced into bash, COMP_WORDS and
# COMP_CWORD are set as bash sets them (split at ':' and '=' as well as at
# blanks), _vfioctl is called, and COMPREPLY is compared with what the
# fixture and vfiod hold. The names come through `vfioctl __complete`,
# which must say nothing at all when vfiod is not there.
. "$(dirname "$0")/lib.sh"

command -v bash >/dev/null || bail_out "bash is not installed"
COMPLETION=$SOURCE_ROOT/shell-completion/bash/vfioctl

# complete LINE: COMPREPLY for the command line LINE (cursor at its end),
# one word per line in $OUT, sorted. The words are the line's blank-separated
# words, each split again before and after every ':' and '=', as bash does
# with its default COMP_WORDBREAKS; a line ending in a blank completes "".
complete_line() {
	bash -c '
		set -u
		. "$1"
		line=$2
		COMP_WORDS=()
		for tok in $line; do
			while [[ $tok =~ ^([^:=]*)([:=]+)(.*)$ ]]; do
				[[ -n ${BASH_REMATCH[1]} ]] && COMP_WORDS+=("${BASH_REMATCH[1]}")
				COMP_WORDS+=("${BASH_REMATCH[2]}")
				tok=${BASH_REMATCH[3]}
			done
			[[ -n $tok ]] && COMP_WORDS+=("$tok")
		done
		[[ $line == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE=$line
		COMP_POINT=${#line}
		COMPREPLY=()
		_vfioctl
		printf "%s\n" "${COMPREPLY[@]}"
	' complete "$COMPLETION" "$1" | sed '/^$/d' | LC_ALL=C sort >"$OUT"
}

assert_reply() {
	assert_eq "$(printf '%s\n' "$@" | sed '/^$/d' | LC_ALL=C sort)" "$(cat "$OUT")" "$REPLY_WHAT"
}

completes_verbs() {
	REPLY_WHAT="verbs"
	complete_line "$VFIOCTL_LINE "
	assert_reply bind config devices groups host mdev mdev-parents mdev-types mdevs memlock quarantine show sriov unbind vm
	REPLY_WHAT="sriov set's options"
	complete_line "$VFIOCTL_LINE sriov set 0000:02:00.0 --"
	assert_reply --num-vfs --restore
	REPLY_WHAT="verbs starting with mdev"
	complete_line "$VFIOCTL_LINE mdev"
	assert_reply mdev mdev-parents mdev-types mdevs
	REPLY_WHAT="vm commands starting with re"
	complete_line "$VFIOCTL_LINE vm re"
	assert_reply register release remove-device
	# the hidden verb stays hidden
	complete_line "$VFIOCTL_LINE _"
	[ ! -s "$OUT" ] || fail "offers $(cat "$OUT") for '_'"
}

completes_options() {
	REPLY_WHAT="global options"
	complete_line "$VFIOCTL_LINE --"
	assert_reply --bus-address --help --json --version
	REPLY_WHAT="options of vm register starting with --memlock"
	complete_line "$VFIOCTL_LINE vm register vm1 --memlock-"
	assert_reply --memlock-cap --memlock-policy
	REPLY_WHAT="values of --backend"
	complete_line "$VFIOCTL_LINE vm register vm1 --backend "
	assert_reply auto iommufd type1
	REPLY_WHAT="options of bind"
	complete_line "$VFIOCTL_LINE bind --u"
	assert_reply --unbind-host-members
}

completes_pci_addresses() {
	addresses=$(ls "$ROOT/sys/bus/pci/devices")
	[ "$(echo "$addresses" | wc -l)" -gt 2 ] || fail "the fixture has too few PCI functions"
	REPLY_WHAT="every PCI address for show"
	complete_line "$VFIOCTL_LINE show "
	assert_reply $addresses

	# a prefix that crosses a ':': bash replaces only the part after the last ':'
	one=$(echo "$addresses" | sed -n 2p)
	prefix=$(echo "$one" | cut -c1-9) # DDDD:BB:S
	expected=$(echo "$addresses" | grep "^$prefix" | cut -c9-)
	[ -n "$expected" ] || fail "nothing starts with $prefix"
	REPLY_WHAT="addresses starting with $prefix, after the last ':'"
	complete_line "$VFIOCTL_LINE bind $prefix"
	assert_reply $expected
	# and the same word that bash passes as "DDDD", ":", "BB", ":" (cursor after the ':')
	REPLY_WHAT="addresses starting with $(echo "$one" | cut -c1-8)"
	complete_line "$VFIOCTL_LINE show $(echo "$one" | cut -c1-8)"
	assert_reply $(echo "$addresses" | grep "^$(echo "$one" | cut -c1-8)" | cut -c9-)
}

completes_group_numbers() {
	groups=$(ls "$ROOT/sys/kernel/iommu_groups" | sort -n)
	[ -n "$groups" ] || fail "the fixture has no IOMMU groups"
	"$VFIOCTL" --bus-address="$BUS" __complete groups >"$T/groups" || fail "__complete groups failed"
	assert_eq "$groups" "$(cat "$T/groups")" "__complete groups"
	# the completion script's way to vfiod, as its verbs use it
	REPLY_WHAT="group numbers starting with 1"
	bash -c '. "$1"; COMP_WORDS=("$2" --bus-address = "$3"); COMP_CWORD=3; _vfioctl_bus=$4
		_vfioctl_reply_names 1 groups; printf "%s\n" "${COMPREPLY[@]}"' x \
		"$COMPLETION" "$VFIOCTL" "$BUS" "$BUS" | sed '/^$/d' | LC_ALL=C sort >"$OUT"
	assert_reply $(echo "$groups" | grep '^1')
}

completes_mdev_parents_and_types() {
	vfioctl --json mdev-parents
	assert_vfioctl_ok
	parents=$(jq -r '.[].parent' "$OUT")
	[ -n "$parents" ] || fail "the fixture has no mdev parents"
	REPLY_WHAT="mdev parents"
	complete_line "$VFIOCTL_LINE mdev create "
	assert_reply $parents
	parent=$(echo "$parents" | head -n1)
	vfioctl --json mdev-types "$parent"
	assert_vfioctl_ok
	types=$(jq -r '.[].type' "$OUT")
	REPLY_WHAT="mdev types of $parent"
	complete_line "$VFIOCTL_LINE mdev create $parent "
	assert_reply $types
}

# VMM: a stand-in VMM spawned before the checks (cleanup_vmms ends it)
completes_vm_names() {
	vfioctl vm register comp-alpha --pid "$VMM" --backend type1 --vmm-opens-groups --memory 64M
	assert_vfioctl_ok
	vfioctl vm register comp-beta --pid "$VMM" --backend type1 --vmm-opens-groups --memory 64M
	assert_vfioctl_ok
	vfioctl vm register other --pid "$VMM" --backend type1 --vmm-opens-groups --memory 64M
	assert_vfioctl_ok
	REPLY_WHAT="VM names starting with comp"
	complete_line "$VFIOCTL_LINE vm release comp"
	assert_reply comp-alpha comp-beta
	REPLY_WHAT="every VM name"
	complete_line "$VFIOCTL_LINE vm show "
	assert_reply comp-alpha comp-beta other
	# a new VM's name is the user's to choose
	complete_line "$VFIOCTL_LINE vm register "
	[ ! -s "$OUT" ] || fail "offers $(cat "$OUT") for a new VM's name"
}

quiet_without_vfiod() {
	# a bus where nobody owns org.vfiod1, and no bus at all
	for bus in "$BUS" "unix:path=$T/no-such-socket"; do
		rc=0
		"$VFIOCTL" --bus-address="$bus" __complete devices >"$T/o" 2>"$T/e" || rc=$?
		[ "$rc" -eq 1 ] || fail "__complete exited $rc on $bus"
		[ ! -s "$T/o" ] && [ ! -s "$T/e" ] || fail "__complete printed: $(cat "$T/o" "$T/e")"
	done
	REPLY_WHAT="nothing for show without vfiod"
	complete_line "$VFIOCTL_LINE show "
	assert_reply
	# the verbs are still offered
	REPLY_WHAT="verbs without vfiod"
	complete_line "$VFIOCTL_LINE gr"
	assert_reply groups
}

hidden_from_help() {
	"$VFIOCTL" --help >"$T/help"
	! grep -q complete "$T/help" || fail "--help mentions __complete"
}

make_fixture
start_bus
start_vfiod
# the command line's start: the real vfioctl on this test's bus
VFIOCTL_LINE="$VFIOCTL --bus-address=$BUS"
trap 'cleanup_vmms; cleanup' EXIT

check "verbs and vm commands complete" completes_verbs
check "options and option values complete" completes_options
check "PCI addresses come from vfiod, also across ':'" completes_pci_addresses
check "IOMMU group numbers come from vfiod" completes_group_numbers
check "mdev parents and their types come from vfiod" completes_mdev_parents_and_types
spawn_vmm
check "VM names come from vfiod" completes_vm_names
check "__complete is not in --help" hidden_from_help
stop_vfiod || :
check "without vfiod: no names, no messages, verbs still complete" quiet_without_vfiod

done_testing
