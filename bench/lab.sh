#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench/lab.sh [--runs N] [--kernel distro|test|modern] [--builddir DIR] [--out FILE]
#              [--vm-kernel test|modern] [--vm-ram MIB] [--prec-mib "1024 2048"] [--no-vm]
#
# The lab rows of issue 13 (nested VM, real kernel), in the same table and
# JSON row format as bench/run.sh: in the lab guest, one round of
#   - bind + unbind of edu's group: vfioctl bind/unbind (through vfiod on
#     the guest's system bus) against the same raw sysfs writes
#     (driver_override, drivers_probe, unbind) and against driverctl
#     set-override/unset-override;
#   - mdev create + remove (mtty): vfioctl mdev create/remove against the
#     raw sysfs writes (create, remove) and against mdevctl start/stop.
# Every round checks its end state. driverctl and mdevctl are Debian 12's
# packages, fetched with apt-get download into the lab cache (a private apt
# configuration, as tests/lab/qemu10.sh does; the host's packages stay
# untouched) and carried into the guest with bash (driverctl is a bash
# script) and bench/timeit. Medians of N interleaved runs after 2 warm-up
# runs, min and max. A second boot (--vm-kernel, default test: iommufd and
# the test vGPU module; --vm-ram MiB of lab guest RAM, default 3584) runs
# bench/lab-vm-guest.sh: a VM hot-add + hot-remove of edu and of a pinning
# vGPU through vfiod against the same steps by hand, and memlock precision
# (vfiod's limit / the peak charge, beside libvirt's formula) for VMs of
# --prec-mib MiB. --no-vm skips that boot. See bench/README.md.
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/tests/lab/lab-lib.sh"
BUILD=$SRC/build-bench
RUNS=11
KERNEL=distro
OUTFILE=
VM_KERNEL="test"
VM_RAM=3584
PREC_MIB="1024 2048"
NO_VM=

while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--kernel) KERNEL=$2; shift 2 ;;
	--builddir) BUILD=$2; shift 2 ;;
	--out) OUTFILE=$2; shift 2 ;;
	--vm-kernel) VM_KERNEL=$2; shift 2 ;;
	--vm-ram) VM_RAM=$2; shift 2 ;;
	--prec-mib) PREC_MIB=$2; shift 2 ;;
	--no-vm) NO_VM=1; shift ;;
	-h|--help) sed -n '3,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench/lab.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done

say() { printf '%s\n' "bench: $*" >&2; }

if [ ! -f "$BUILD/build.ninja" ]; then
	say "configuring a release build in $BUILD"
	meson setup "$BUILD" "$SRC" --buildtype=release >/dev/null
fi
say "building"
ninja -C "$BUILD" >/dev/null
[ -x "$BUILD/bench/timeit" ] || { echo "bench/lab.sh: $BUILD/bench/timeit was not built" >&2; exit 1; }

COMMIT=$(git -C "$SRC" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$COMMIT" != unknown ] && ! git -C "$SRC" diff --quiet HEAD -- 2>/dev/null; then
	COMMIT=$COMMIT-dirty
fi
[ -n "$OUTFILE" ] || OUTFILE=$SRC/bench/results/$COMMIT-lab.json

# ---- driverctl and mdevctl: Debian 12's packages, unpacked in the lab cache ----
MIRROR=${VFIOD_LAB_DEBIAN_MIRROR:-http://deb.debian.org}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
aptdir=$LAB_CACHE/bench-apt
papt() {
	_tool=$1
	shift
	"$_tool" -o Dir::Etc::sourcelist="$aptdir/sources.list" \
		-o Dir::Etc::sourceparts="$aptdir/sources.list.d" \
		-o Dir::State::lists="$aptdir/lists" \
		-o Dir::Cache="$aptdir/cache" \
		-o APT::Sandbox::User="$(id -un)" \
		-o Debug::NoLocking=true "$@"
}
lab_lock "$LAB_CACHE/locks/bench-tools.lock"
if [ ! -f "$aptdir/.updated" ]; then
	[ -r "$KEYRING" ] || lab_die "$KEYRING missing (debian-archive-keyring)"
	mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" "$aptdir/sources.list.d"
	echo "deb [signed-by=$KEYRING] $MIRROR/debian bookworm main" >"$aptdir/sources.list"
	say "updating the private apt lists in $aptdir"
	papt apt-get -q update >"$aptdir/update.log" 2>&1 ||
		{ tail -n 20 "$aptdir/update.log" >&2; lab_die "apt-get update (private lists) failed"; }
	touch "$aptdir/.updated"
fi
tools=$aptdir/root
if [ ! -x "$tools/usr/sbin/driverctl" ] || [ ! -x "$tools/usr/bin/mdevctl" ]; then
	rm -rf "$aptdir/debs" "$tools"
	mkdir -p "$aptdir/debs" "$tools"
	say "fetching driverctl and mdevctl (apt-get download)"
	(cd "$aptdir/debs" && papt apt-get -q download driverctl mdevctl >"$aptdir/download.log" 2>&1) ||
		{ tail -n 20 "$aptdir/download.log" >&2; lab_die "apt-get download driverctl mdevctl failed"; }
	for deb in "$aptdir"/debs/*.deb; do
		dpkg-deb -x "$deb" "$tools"
	done
fi
lab_unlock
VERSIONS=$(for deb in "$aptdir"/debs/*.deb; do dpkg-deb -f "$deb" Package Version | sed 's/^[^:]*: //' | paste -sd' '; done | paste -sd',' | sed 's/,/, /g')

T=$(mktemp -d -t vfiod-bench-lab.XXXXXX)
trap 'rm -rf "$T"' EXIT

# ---- the payload: the tools at their guest paths (merged /usr), no folders ----
mkdir -p "$T/p/usr/bin" "$T/p/usr/sbin" "$T/p/usr/lib/x86_64-linux-gnu"
cp "$tools/usr/sbin/driverctl" "$T/p/usr/sbin/"
cp "$tools/usr/bin/mdevctl" "$T/p/usr/bin/"
cp "$BUILD/bench/timeit" "$T/p/usr/bin/"
cp "$BUILD/bench/trivial" "$T/p/usr/bin/vfd-trivial"
cp /usr/bin/bash "$T/p/usr/bin/"
# the libraries of bash and mdevctl that the guest image may lack
for lib in $(ldd /usr/bin/bash "$tools/usr/bin/mdevctl" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u); do
	cp -L "$lib" "$T/p/usr/lib/x86_64-linux-gnu/"
done
{
	echo "BENCH_RUNS=$RUNS"
	cat "$SRC/bench/lab-guest.sh"
	(cd "$T/p" && find . -type f | sed 's|^\./||' | tar -czf - -T -) | base64
} >"$T/guest.sh"

say "booting the lab guest ($KERNEL kernel): bind/unbind and mdev rows, $RUNS runs each"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
rc=0
"$SRC/tests/lab/run-guest-script.sh" --build "$BUILD" "$KERNEL" "$T/guest.sh" "$T/out" >"$T/run.log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ] || [ ! -f "$T/out/timeit-bind.json" ]; then
	# the script's own lines, not the kernel's
	grep -v '^\[ *[0-9.]*\]' "$T/out/console.log" 2>/dev/null | tail -n 60 >&2 || tail -n 60 "$T/run.log" >&2
	echo "bench/lab.sh: the guest script failed (status $rc)" >&2
	exit 1
fi

# ---- the VM rows: a second boot, on a kernel with iommufd, with more RAM ----
if [ -z "$NO_VM" ]; then
	{
		echo "BENCH_RUNS=$RUNS"
		echo "BENCH_PREC_MIB=\"$PREC_MIB\""
		cat "$SRC/bench/lab-vm-guest.sh"
		(cd "$T/p" && echo usr/bin/timeit | tar -czf - -T -) | base64
	} >"$T/guest-vm.sh"
	say "booting the lab guest ($VM_KERNEL kernel, $VM_RAM MiB): VM hot-add rows, $RUNS runs each; precision for $PREC_MIB MiB"
	rc=0
	VFIOD_LAB_MEM=$VM_RAM "$SRC/tests/lab/run-guest-script.sh" --build "$BUILD" "$VM_KERNEL" "$T/guest-vm.sh" "$T/outvm" \
		>"$T/run-vm.log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ] || [ ! -f "$T/outvm/timeit-vm-edu.json" ]; then
		grep -v '^\[ *[0-9.]*\]' "$T/outvm/console.log" 2>/dev/null | tail -n 80 >&2 || tail -n 60 "$T/run-vm.log" >&2
		echo "bench/lab.sh: the VM guest script failed (status $rc)" >&2
		exit 1
	fi
	cp "$T/outvm"/timeit-vm-*.json "$T/outvm/precision.tsv" "$T/out/"
	cp "$T/outvm/checks-vm.txt" "$T/out/"
fi
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

ROWS=$T/rows.jsonl
: >"$ROWS"
# row FILE WORKLOAD PEER_KEY PEER_NAME: as bench/run.sh's timed_row
row() {
	jq -c --arg w "$2" --arg k "$3" --arg p "$4" '
		def fig(s): {value: s.median, min: s.min, max: s.max};
		{workload: $w, unit: "ms", vfiod: fig(.a.wall_ms), peer: ({name: $p} + fig(.[$k].wall_ms)),
		 ratio: (if .[$k].wall_ms.median > 0 then .a.wall_ms.median / .[$k].wall_ms.median else null end)}' \
		"$1" >>"$ROWS"
}
row "$T/out/timeit-bind.json" "bind + unbind of one group (edu), vfioctl (lab)" b "raw sysfs writes"
row "$T/out/timeit-bind.json" "bind + unbind of one group (edu), vfioctl (lab)" c "driverctl set/unset-override"
row "$T/out/timeit-bind.json" "bind + unbind of one group (edu), vfioctl (lab)" d "floor of a two-command tool: raw writes + 2 starts of a trivial C program"
if [ -f "$T/out/timeit-mdev.json" ]; then
	row "$T/out/timeit-mdev.json" "mdev create + remove (mtty), vfioctl (lab)" b "raw sysfs writes"
	row "$T/out/timeit-mdev.json" "mdev create + remove (mtty), vfioctl (lab)" c "mdevctl start/stop"
	row "$T/out/timeit-mdev.json" "mdev create + remove (mtty), vfioctl (lab)" d "floor of a two-command tool: raw writes + 2 starts of a trivial C program"
fi
if [ -f "$T/out/timeit-vm-edu.json" ]; then
	row "$T/out/timeit-vm-edu.json" "VM hot-add + hot-remove of edu (type1, 64 MiB VM), vfiod (lab)" b "by hand: sysfs, prlimit, VMM's own VFIO"
	row "$T/out/timeit-vm-vgpu.json" "VM hot-add + hot-remove of a pinning vGPU (type1, 64 MiB VM), vfiod (lab)" b "by hand: sysfs, prlimit, VMM's own VFIO"
fi
if [ -f "$T/out/timeit-vm-edu-iommufd.json" ]; then
	row "$T/out/timeit-vm-edu-iommufd.json" "VM hot-add + hot-remove of edu (iommufd, 64 MiB VM), vfiod (lab)" b "by hand: sysfs, prlimit, VMM's own iommufd"
fi
# precision rows: one VM per scenario, deterministic (min = max = value);
# the peer is libvirt's formula (bench/lab-vm-guest.sh) for the same VM
if [ -s "$T/out/precision.tsv" ]; then
	while IFS='	' read -r backend mib config peak vlimit llimit _pin headroom; do
		case $headroom in
		known) hr="known: VMM's headroom 0, vGPU budget configured" ;;
		*) hr="defaults: 64 MiB headroom, 256 MiB per mdev" ;;
		esac
		jq -nc --arg w "memlock limit / peak charge, $backend, ${mib} MiB VM, $config, $hr (lab)" \
			--argjson peak "$peak" --argjson v "$vlimit" --argjson l "$llimit" '
			def fig(x): {value: x, min: x, max: x};
			{workload: $w, unit: "limit/charge", peak_charge_bytes: $peak, vfiod_limit_bytes: $v, libvirt_limit_bytes: $l,
			 vfiod: fig($v / $peak), peer: ({name: "libvirt formula"} + fig($l / $peak)),
			 ratio: (($v / $peak) / ($l / $peak))}' >>"$ROWS"
	done <"$T/out/precision.tsv"
fi
GUEST=$(cat "$T/out/checks.txt" "$T/out/checks-vm.txt" 2>/dev/null | paste -sd' ')

mkdir -p "$(dirname "$OUTFILE")"
jq -s --arg commit "$COMMIT" --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	--arg kernel "$KERNEL" --arg vm_kernel "$([ -n "$NO_VM" ] || echo "$VM_KERNEL")" --arg vm_ram "$VM_RAM" --arg guest "$GUEST" --arg tools "$VERSIONS" --arg nproc "$(nproc)" \
	--arg load_start "$LOAD_START" --arg load_end "$LOAD_END" --argjson runs "$RUNS" '
	{commit: $commit, date: $date, lab: {kernel: $kernel, vm_kernel: $vm_kernel, vm_guest_ram_mib: ($vm_ram | tonumber), guest: $guest, peers: $tools},
	 machine: {cpus: ($nproc | tonumber), loadavg_start: $load_start, loadavg_end: $load_end},
	 runs: $runs, warmup: 2, rows: .}' "$ROWS" >"$OUTFILE"

jq -r '
	def num: if . == null then "-" elif . >= 100 then (. + 0.5 | floor | tostring)
		elif . >= 10 then ((. * 10 + 0.5 | floor) / 10 | tostring)
		else ((. * 100 + 0.5 | floor) / 100 | tostring) end;
	def fig: (.value | num) + " [" + (.min | num) + "-" + (.max | num) + "]";
	.rows[] | [.workload, .unit, (.vfiod | fig), .peer.name, (.peer | fig), (.ratio | num)] | @tsv' \
	"$OUTFILE" >"$T/table.tsv"
{
	printf 'WORKLOAD\tUNIT\tVFIOD median [min-max]\tPEER\tPEER median [min-max]\tRATIO\n'
	cat "$T/table.tsv"
} | awk -F '\t' '
	{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NR }
	END { for (r = 1; r <= n; r++) { line = ""
		for (i = 1; i <= 6; i++) line = line sprintf(i < 6 ? "%-" w[i] "s  " : "%s", cell[r, i])
		print line } }'
echo
echo "commit $COMMIT, lab guest on the $KERNEL kernel, VM rows on the ${VM_KERNEL} kernel with $VM_RAM MiB ($GUEST), peers $VERSIONS;" \
	"host load average $LOAD_START at start, $LOAD_END at the end;" \
	"medians of $RUNS runs after 2 warm-up runs (precision rows: one VM each, exact);" \
	"ratio = vfiod / peer (lower is better)"
echo "rows written to $OUTFILE"
