#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench/repeat-testcase.sh [--build DIR] [--rounds N] [--setup TESTCASE]... CASE TESTCASE
#
# A race hunt for the libvirt guest cases: one boot of CASE's world runs
# the --setup testcases once (in the order given), then TESTCASE N times
# (default 20), through the vm suite's own runner
# (tests/vm/runners/run-libvirt-test.sh, VFIOD_LAB_TESTCASES). Fails when a
# round fails, when vfiod was restarted in the guest (systemd's NRestarts:
# it died, e.g. an abort) or when its journal holds an assertion or a core
# dump. Example (issue 14: libvirt's events during a give-back):
#
#   bench/repeat-testcase.sh --rounds 20 \
#       --setup testcase_virsh_attach_detach_into_a_broker_domain \
#       --setup testcase_virsh_attach_of_another_vms_device_is_undone \
#       vm-modern-libvirt-iommufd testcase_detach_during_a_give_back
#
# Guest log: DIR/meson-logs/vm/CASE-WORLD.log; the summary is copied to
# DIR/bench/repeat-CASE-TIME.txt.
set -eu

usage() {
	echo "usage: $0 [--build DIR] [--rounds N] [--setup TESTCASE]... CASE TESTCASE" >&2
	exit 2
}

source_root=$(cd "$(dirname "$0")/.." && pwd)
build=build
rounds=20
setup=
while [ $# -gt 0 ]; do
	case "$1" in
	--build) [ $# -ge 2 ] || usage; build=$2; shift 2 ;;
	--rounds) [ $# -ge 2 ] || usage; rounds=$2; shift 2 ;;
	--setup) [ $# -ge 2 ] || usage; setup="$setup $2"; shift 2 ;;
	-h | --help) sed -n '3,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) usage ;;
	*) break ;;
	esac
done
[ $# -eq 2 ] || usage
case_name=$1
testcase=$2
case "$rounds" in
'' | *[!0-9]* | 0*) echo "$0: --rounds must be a positive number" >&2; exit 2 ;;
esac
case_file=$source_root/tests/vm/cases/$case_name.sh
[ -f "$case_file" ] || { echo "$0: no tests/vm/cases/$case_name.sh" >&2; exit 2; }
grep -q '^# vfiod-libvirt:' "$case_file" || { echo "$0: $case_name is not a libvirt guest case" >&2; exit 2; }
[ -f "$build/build.ninja" ] || { echo "$0: $build is not a configured build directory (meson setup $build)" >&2; exit 2; }
build=$(cd "$build" && pwd)
ninja -C "$build" >/dev/null

list=$setup
i=0
while [ "$i" -lt "$rounds" ]; do
	list="$list $testcase"
	i=$((i + 1))
done

# the runner's guest log (run-libvirt-test.sh names it by the world): an
# earlier run's must not be read as this one's
world=$(sed -n 's/^#[[:space:]]*vfiod-world:[[:space:]]*//p' "$case_file" | head -n1 | awk '{ print $1 }')
case "${world:-bookworm}" in
trixie) log=$build/meson-logs/vm/$case_name-trixie.log ;;
*) log=$build/meson-logs/vm/$case_name-libvirt.log ;;
esac
rm -f "$log"

# a round takes 20-60 s in the TCG guest: 300 s each, and the boot
start=$(date +%s)
rc=0
VFIOD_LAB_TESTCASES="$list" \
VFIOD_LAB_TIMEOUT=$(((rounds + 3) * 300 + 600)) \
	"$source_root/tests/vm/runners/run-libvirt-test.sh" "$build" "$source_root" "$case_name" >"$build/repeat-runner.out" 2>&1 || rc=$?
end=$(date +%s)

[ -f "$log" ] || { cat "$build/repeat-runner.out"; echo "$0: no guest log $log" >&2; exit 1; }
pass=$(tr -d '\r' <"$log" | grep -c "^@@VFIOD-CASE libvirt $testcase PASS@@" || true)
fail=$(tr -d '\r' <"$log" | grep -c "^@@VFIOD-CASE libvirt [A-Za-z0-9_]* FAIL@@" || true)
health=$(tr -d '\r' <"$log" | sed -n 's/^@@VFIOD-TIME \(vfiod-restarts .*\)@@$/\1/p' | tail -n 1)
mkdir -p "$build/bench"
summary=$build/bench/repeat-$case_name-$(date -u +%Y%m%dT%H%M%SZ).txt
{
	echo "$case_name: $testcase $pass of $rounds rounds passed, $fail testcase(s) failed," \
		"runner exit status $rc, $((end - start)) s on the host including the boot"
	echo "  vfiod in the guest: ${health:-no health line (the guest did not finish)}"
	tr -d '\r' <"$log" | grep -E '^ *\[[0-9.]+\] round [0-9]+:' | sed 's/^/  /' || true
} | tee "$summary"

[ "$rc" -eq 0 ] || exit 1
[ "$pass" -eq "$rounds" ] && [ "$fail" -eq 0 ] || exit 1
case "$health" in
"vfiod-restarts 0 aborts-in-journal 0") ;;
*) exit 1 ;;
esac
