#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every vfioctl argument is checked before any bus call: bad input is one
# line on stderr naming the bad argument, exit 2. The checks run against a
# bus address where nothing listens, so reaching the bus would show up as
# a different message and exit 1.
. "$(dirname "$0")/lib.sh"

: "${VFIOD_VERSION:?VFIOD_VERSION must be the project version}"

NOBUS="unix:path=$T/nothing-listens-here"

# bad ARGS...: vfioctl with ARGS must fail as a usage error before the bus
bad() {
	RC=0
	"$VFIOCTL" --bus-address="$NOBUS" "$@" >"$OUT" 2>"$ERR" || RC=$?
}

# bad_raw ARGS...: the same without any option added
bad_raw() {
	RC=0
	"$VFIOCTL" "$@" >"$OUT" 2>"$ERR" || RC=$?
}

bad_device_addresses() {
	long=$(printf '0%.0s' $(seq 300))
	nl='0000:00:02.0
'
	for arg in "" "0000:00:02" "00:02.0" "0000:00:20.0" "0000:00:02.8" "0000:00:02.0 " \
		" 0000:00:02.0" "$nl" "10000:00:02.0" "0000:000:02.0" "0000:00:002.0" \
		"../../../etc" "0000:00:02.0/.." "g000:00:02.0" "0x00:00:02.0" "0000-00-02.0" \
		"0000:00:02.00" "$long"; do
		bad show "$arg"
		assert_one_line_error 2 "invalid DEVICE"
	done
}

bad_mdev_parents() {
	long=$(printf 'p%.0s' $(seq 256))
	tab=$(printf 'a\tb')
	for arg in "" "a/b" "/" "." ".." "a b" "$tab" "$long"; do
		bad mdev-types "$arg"
		assert_one_line_error 2 "invalid PARENT"
	done
}

wrong_number_of_arguments() {
	bad show
	assert_one_line_error 2 "'show' needs DEVICE"
	bad show 0000:00:02.0 0000:00:03.0
	assert_one_line_error 2 "extra argument '0000:00:03.0'"
	bad mdev-types a b
	assert_one_line_error 2 "extra argument 'b'"
	for verb in devices groups mdevs mdev-parents; do
		bad "$verb" extra
		assert_one_line_error 2 "'$verb' takes no arguments"
	done
}

unknown_verbs_and_options() {
	bad frobnicate
	assert_one_line_error 2 "unknown verb 'frobnicate'"
	bad
	assert_one_line_error 2 "missing verb"
	bad --frobnicate devices
	assert_one_line_error 2 "unknown option '--frobnicate'"
	bad -x devices
	assert_one_line_error 2 "unknown option '-x'"
	bad --json=yes devices
	assert_one_line_error 2 "option '--json=yes' takes no argument"
	bad_raw devices --bus-address
	assert_one_line_error 2 "needs an argument"
	bad_raw --bus-address= devices
	assert_one_line_error 2 "--bus-address needs a D-Bus address"
}

error_lines_stay_one_line() {
	# a newline or escape in an argument must not break the one-line rule
	bad show "$(printf 'x\n\033[31my')"
	assert_one_line_error 2 'x\x0a\x1b[31my'
}

help_and_version() {
	for opt in --help -h; do
		bad_raw "$opt"
		assert_eq 0 "$RC" "exit status of $opt"
		grep -q '^Usage: vfioctl ' "$OUT" || fail "$opt: no usage line"
		for verb in devices groups show mdev-parents mdev-types mdevs; do
			grep -q "^  $verb" "$OUT" || fail "$opt does not list $verb"
		done
		grep -q '2 bad usage' "$OUT" || fail "$opt does not document exit status 2"
	done
	bad_raw --version
	assert_eq 0 "$RC" "exit status of --version"
	assert_eq "vfioctl $VFIOD_VERSION" "$(cat "$OUT")" "--version"
}

good_input_reaches_the_bus() {
	# the control: valid arguments do reach the (absent) bus, exit 1
	for args in "devices" "show 0000:00:02.0" "mdev-types mtty" "mdev-types"; do
		# shellcheck disable=SC2086
		bad $args
		assert_one_line_error 1 "vfiod is not running"
	done
}

check "show: malformed PCI addresses are usage errors" bad_device_addresses
check "mdev-types: malformed parent names are usage errors" bad_mdev_parents
check "missing and extra arguments are usage errors" wrong_number_of_arguments
check "unknown verbs and options are usage errors" unknown_verbs_and_options
check "control bytes in arguments are escaped, the error stays one line" error_lines_stay_one_line
check "--help lists every verb and the exit codes; --version" help_and_version
check "valid arguments go to the bus (control for the checks above)" good_input_reaches_the_bus

done_testing
