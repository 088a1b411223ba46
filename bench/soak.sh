#!/bin/sh
# The long hotplug soak (issue 12): tests/vm/cases/vm-soak-hotplug.sh in the
# lab guest (test kernel) with as many cycles as asked, through the vm
# suite's own runner (tests/vm/runners/run-vm-test.sh); the cycle count and the
# backends reach the guest as VFIOD_LAB_GUEST_ENV. Prints, per backend,
# cycles, elapsed time, cycles per minute and vfiod's heap in use, RSS and descriptor
# count after cycle 10 and at the end; fails as the test fails (a charge
# mismatch, a limit below the charge, heap in use beyond 1% or RSS beyond 5%, a descriptor more).
#
# Usage: bench/soak.sh [--backend iommufd|type1|both] [--build DIR] CYCLES
#   --build DIR   a configured build directory (default: build); it is
#                 built first (ninja)
# Guest log: DIR/meson-logs/vm/vm-soak-hotplug-test.log (the same file the
# suite writes); the summary lines are copied to DIR/bench/soak-*.txt.
set -eu

usage() {
	echo "usage: $0 [--backend iommufd|type1|both] [--build DIR] CYCLES" >&2
	exit 2
}

source_root=$(cd "$(dirname "$0")/.." && pwd)
build=build
backends=iommufd,type1
while [ $# -gt 0 ]; do
	case "$1" in
	--backend)
		[ $# -ge 2 ] || usage
		case "$2" in
		iommufd | type1) backends=$2 ;;
		both) backends=iommufd,type1 ;;
		*) usage ;;
		esac
		shift 2 ;;
	--build)
		[ $# -ge 2 ] || usage
		build=$2
		shift 2 ;;
	-h | --help) usage ;;
	-*) usage ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || usage
cycles=$1
case "$cycles" in
'' | *[!0-9]* | 0*) echo "$0: CYCLES must be a positive number" >&2; exit 2 ;;
esac
[ "$cycles" -gt 10 ] || { echo "$0: CYCLES must be above 10 (RSS and descriptors are compared with cycle 10)" >&2; exit 2; }
[ -f "$build/build.ninja" ] || { echo "$0: $build is not a configured build directory (meson setup $build)" >&2; exit 2; }
build=$(cd "$build" && pwd)

ninja -C "$build" >/dev/null

# The guest's time limits: a cycle takes 1.5-2 s on a loaded 2-core host
# (TCG); allow 6 s per cycle, plus setup, per backend.
n_backends=$(echo "$backends" | tr ',' '\n' | wc -l)
case_timeout=$((cycles * 6 + 300))
boot_timeout=$((case_timeout * n_backends + 600))

start=$(date +%s)
rc=0
VFIOD_LAB_KERNELS=test \
VFIOD_LAB_CASE_TIMEOUT=$case_timeout \
VFIOD_LAB_TIMEOUT=$boot_timeout \
VFIOD_LAB_GUEST_ENV="VFIOD_SOAK_CYCLES=$cycles VFIOD_SOAK_BACKENDS=$backends" \
	"$source_root/tests/vm/runners/run-vm-test.sh" "$build" "$source_root" vm-soak-hotplug || rc=$?
end=$(date +%s)

log=$build/meson-logs/vm/vm-soak-hotplug-test.log
mkdir -p "$build/bench"
summary=$build/bench/soak-$(date -u +%Y%m%dT%H%M%SZ).txt
{
	echo "vm-soak-hotplug: $cycles cycles per backend ($backends), exit status $rc," \
		"$((end - start)) s on the host including the boot"
	tr -d '\r' <"$log" | sed -n 's/^@@VFIOD-SOAK \(.*\)@@$/  \1/p'
} | tee "$summary"
exit "$rc"
