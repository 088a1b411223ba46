#!/bin/sh
# The full fault sweep (issue 12): tests/vm/cases/vm-faults-sweep.sh with
# every pass of every step faulted (the suite faults each distinct step of
# each op once), through the vm suite's own runner. VFIOD_FAULTS_SWEEP=all
# reaches the guest as VFIOD_LAB_GUEST_ENV. Prints the sweep's summary
# line per backend and kernel; fails as the test fails.
#
# Usage: bench/faults-sweep.sh [--kernels "test distro"] [--build DIR]
set -eu

usage() {
	echo "usage: $0 [--kernels \"test distro\"] [--build DIR]" >&2
	exit 2
}

source_root=$(cd "$(dirname "$0")/.." && pwd)
build=build
kernels="test distro"
while [ $# -gt 0 ]; do
	case "$1" in
	--kernels) [ $# -ge 2 ] || usage; kernels=$2; shift 2 ;;
	--build) [ $# -ge 2 ] || usage; build=$2; shift 2 ;;
	*) usage ;;
	esac
done
[ -f "$build/build.ninja" ] || { echo "$0: $build is not a configured build directory (meson setup $build)" >&2; exit 2; }
build=$(cd "$build" && pwd)
ninja -C "$build" >/dev/null

start=$(date +%s)
rc=0
# every pass: a few hundred runs of 5-15 s each per backend
VFIOD_LAB_KERNELS=$(echo "$kernels" | tr ' ' ',') \
VFIOD_LAB_CASE_TIMEOUT=14400 \
VFIOD_LAB_TIMEOUT=30000 \
VFIOD_LAB_GUEST_ENV="VFIOD_FAULTS_SWEEP=all" \
	"$source_root/tests/vm/runners/run-vm-test.sh" "$build" "$source_root" vm-faults-sweep || rc=$?
end=$(date +%s)

mkdir -p "$build/bench"
summary=$build/bench/faults-sweep-$(date -u +%Y%m%dT%H%M%SZ).txt
{
	echo "vm-faults-sweep, every pass ($kernels): exit status $rc, $((end - start)) s"
	for k in $kernels; do
		tr -d '\r' <"$build/meson-logs/vm/vm-faults-sweep-$k.log" 2>/dev/null | grep '^faults sweep' || :
	done
} | tee "$summary"
exit "$rc"
