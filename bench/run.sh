#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench/run.sh [--out FILE] [--runs N] [--sizes "64 1024 4096"] [--builddir DIR] [--no-setup]
#              [--no-lab] [--lab-args "ARGS"]
#
# The hermetic benchmarks of issue 13, side by side with their peers, in one
# run: builds vfiod (release build in build-bench/ unless --builddir), then
# for each generated host (bench/gen-host.c: 64, 1024 and 4096 PCI functions
# with 16, 256 and 1024 mdevs, plus a copy of the machine's hwdb.bin so
# that vfiod names the functions as on a real host) starts a private
# dbus-daemon and the real vfiod on it, and measures
#   - vfioctl devices / groups / show ADDR against the floor (bench/floor.c,
#     the same attributes read by one small process) and against lspci -nk
#     on the same tree (lspci -A linux-sysfs -O sysfs.path=ROOT/sys/bus/pci);
#   - the D-Bus round trip of GetDevice and ListDevices, p50 and p99
#     (bench/bus-rtt.c), against the same read done in-process;
#   - vfiod's RSS and CPU time at start and after serving;
# and, once, vfioctl --version's start-up time and peak RSS against a
# trivial C program. Then the lab rows (bench/lab.sh: bind/unbind, mdevs,
# VM hot-add, memlock precision in the nested VM on a real kernel, reusing
# the vm suite's lab cache and preparing it if it is missing; --no-lab
# skips them, --lab-args passes arguments on). Every timed figure is the median of N interleaved runs
# (after warm-up runs), with min and max. Prints one table and writes the
# rows as JSON to FILE (default bench/results/COMMIT.json) for comparing
# two commits. See bench/README.md.
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build-bench
OUTFILE=
RUNS=11
WARMUP=2
SIZES="64 1024 4096"
SETUP=1
LAB=1
LAB_ARGS=

while [ $# -gt 0 ]; do
	case $1 in
	--out) OUTFILE=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--sizes) SIZES=$2; shift 2 ;;
	--builddir) BUILD=$2; shift 2 ;;
	--no-setup) SETUP=0; shift ;;
	--no-lab) LAB=0; shift ;;
	--lab-args) LAB_ARGS=$2; shift 2 ;;
	-h|--help) sed -n '3,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench/run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done

say() { printf '%s\n' "bench: $*" >&2; }

# ---- what it needs ----
if [ "$SETUP" -eq 1 ]; then
	sh "$SRC/tests/setup.sh"
	# lspci is the peer of the inventory rows
	if ! command -v lspci >/dev/null 2>&1; then
		SUDO=
		[ "$(id -u)" -eq 0 ] || SUDO=sudo
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends pciutils
	fi
fi
for tool in dbus-daemon dbus-send jq lspci meson ninja; do
	command -v "$tool" >/dev/null 2>&1 || { echo "bench/run.sh: $tool is missing (run without --no-setup)" >&2; exit 1; }
done

if [ ! -f "$BUILD/build.ninja" ]; then
	say "configuring a release build in $BUILD"
	meson setup "$BUILD" "$SRC" --buildtype=release >/dev/null
fi
say "building"
ninja -C "$BUILD" >/dev/null

VFIOD=$BUILD/daemon/vfiod
VFIOCTL=$BUILD/cli/vfioctl
B=$BUILD/bench
for p in "$VFIOD" "$VFIOCTL" "$B/gen-host" "$B/floor" "$B/bus-rtt" "$B/timeit" "$B/trivial"; do
	[ -x "$p" ] || { echo "bench/run.sh: $p was not built" >&2; exit 1; }
done

COMMIT=$(git -C "$SRC" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$COMMIT" != unknown ] && ! git -C "$SRC" diff --quiet HEAD -- 2>/dev/null; then
	COMMIT=$COMMIT-dirty
fi
[ -n "$OUTFILE" ] || OUTFILE=$SRC/bench/results/$COMMIT.json

T=$(mktemp -d -t vfiod-bench.XXXXXX)
BUS_PID=
VFIOD_PID=
cleanup() {
	[ -z "$VFIOD_PID" ] || { kill -TERM "$VFIOD_PID" 2>/dev/null || :; wait "$VFIOD_PID" 2>/dev/null || :; }
	[ -z "$BUS_PID" ] || kill -TERM "$BUS_PID" 2>/dev/null || :
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# the host's hardware database, copied into each generated host
HWDB=
for f in /etc/udev/hwdb.bin /usr/lib/udev/hwdb.bin; do
	[ -r "$f" ] && { HWDB=$f; break; }
done

ROWS=$T/rows.jsonl
: >"$ROWS"
TICK=$(getconf CLK_TCK)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the private bus and vfiod (as tests/dbus/lib.sh, without TAP) ----
start_bus() {
	cat >"$T/bus.conf" <<-EOF
	<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
	 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
	<busconfig>
	  <type>session</type>
	  <listen>unix:path=$T/bus.sock</listen>
	  <auth>EXTERNAL</auth>
	  <policy context="default">
	    <allow send_destination="*" eavesdrop="true"/>
	    <allow eavesdrop="true"/>
	    <allow own="*"/>
	  </policy>
	</busconfig>
	EOF
	dbus-daemon --config-file="$T/bus.conf" --fork --nopidfile \
		--print-address=1 --print-pid=1 >"$T/bus.info"
	BUS=$(sed -n 1p "$T/bus.info")
	BUS_PID=$(sed -n 2p "$T/bus.info")
}

stop_bus() {
	kill -TERM "$BUS_PID" 2>/dev/null || :
	BUS_PID=
}

vfiod_has_name() {
	dbus-send --bus="$BUS" --print-reply --dest=org.freedesktop.DBus \
		/org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.vfiod1 \
		2>/dev/null | grep -q 'boolean true'
}

start_vfiod() {
	"$VFIOD" --bus-address="$BUS" --root="$1" 2>>"$T/vfiod.log" &
	VFIOD_PID=$!
	_i=0
	until vfiod_has_name; do
		kill -0 "$VFIOD_PID" 2>/dev/null || { cat "$T/vfiod.log" >&2; exit 1; }
		_i=$((_i + 1))
		[ "$_i" -lt 600 ] || { echo "bench/run.sh: vfiod did not take its name in 60 s" >&2; exit 1; }
		sleep 0.1
	done
}

stop_vfiod() {
	kill -TERM "$VFIOD_PID"
	wait "$VFIOD_PID" || :
	VFIOD_PID=
}

# vfiod_usage: "RSS_KIB HWM_KIB CPU_MS ANON_KIB" of the running vfiod
vfiod_usage() {
	_rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$VFIOD_PID/status")
	_anon=$(awk '/^RssAnon:/ { print $2 }' "/proc/$VFIOD_PID/status")
	_hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$VFIOD_PID/status")
	# utime and stime are fields 14 and 15; the command name (2) has no spaces here
	_cpu=$(awk -v tick="$TICK" '{ printf "%.0f", ($14 + $15) * 1000 / tick }' "/proc/$VFIOD_PID/stat")
	echo "$_rss $_hwm $_cpu $_anon"
}

# ---- rows ----

# timeit -- A... :: B... [:: C...]: the interleaved runs, into $T/timeit.json
timeit() {
	"$B/timeit" -n "$RUNS" -w "$WARMUP" "$@" >"$T/timeit.json" || {
		echo "bench/run.sh: a command failed: $*" >&2; exit 1; }
}

# timed_row WORKLOAD METRIC PEER_KEY PEER_NAME: a row of the last timeit,
# vfiod's figure from its "a", the peer's from PEER_KEY ("b" or "c");
# METRIC wall_ms or maxrss_kib (shown in MiB)
timed_row() {
	jq -c --arg w "$1" --arg m "$2" --arg k "$3" --arg p "$4" '
		def scale: if $m == "maxrss_kib" then . / 1024 else . end;
		def fig(s): {value: (s.median | scale), min: (s.min | scale), max: (s.max | scale)};
		{workload: $w, unit: (if $m == "maxrss_kib" then "MiB" else "ms" end),
		 vfiod: fig(.a[$m]), peer: ({name: $p} + fig(.[$k][$m])),
		 ratio: (if .[$k][$m].median > 0 then .a[$m].median / .[$k][$m].median else null end)}' \
		"$T/timeit.json" >>"$ROWS"
}

mib() { awk -v k="$1" 'BEGIN { printf "%.2f", k / 1024 }'; }

# value_row WORKLOAD UNIT VALUE [PEER_NAME PEER_VALUE]
value_row() {
	jq -nc --arg w "$1" --arg u "$2" --argjson v "$3" --arg p "${4:-}" --arg pv "${5:-}" '
		{workload: $w, unit: $u, vfiod: {value: $v},
		 peer: (if $p == "" then null else {name: $p, value: ($pv | tonumber)} end),
		 ratio: (if $p == "" then null else $v / ($pv | tonumber) end)}' >>"$ROWS"
}

# ---- start-up: once ----
say "start-up: vfioctl --version against a trivial C program"
timeit -- "$VFIOCTL" --version :: "$B/trivial"
timed_row "vfioctl --version: start-up" wall_ms b "trivial C program"
timed_row "vfioctl --version: peak RSS" maxrss_kib b "trivial C program"

# ---- per host size ----
for size in $SIZES; do
	mdevs=$((size / 4))
	host=$T/host-$size
	say "$size functions, $mdevs mdevs: generating the host"
	"$B/gen-host" "$host" "$size" "$mdevs"
	# a real host has a hardware database: vfiod names every function from
	# it (lib/pci-names.c), the floor and lspci -n name nothing
	if [ -n "$HWDB" ]; then
		mkdir -p "$host/usr/lib/udev"
		cp "$HWDB" "$host/usr/lib/udev/hwdb.bin"
	fi
	label="$size fn"
	[ "$mdevs" -eq 0 ] || label="$size fn + $mdevs mdevs"

	start_bus
	start_vfiod "$host"
	set -- $(vfiod_usage)
	rss_start=$1 cpu_start=$3

	# a function in a shared group (a GPU and its audio): what one asks "show" about
	addr=$("$B/floor" "$host" devices | awk '$5 == "vfio-pci" { print $1; exit }')
	ctl="$VFIOCTL --bus-address=$BUS"
	lspci_cmd="lspci -A linux-sysfs -O sysfs.path=$host/sys/bus/pci -nk"

	say "$label: vfioctl devices, groups, show"
	timeit -- $ctl devices :: "$B/floor" "$host" devices :: $lspci_cmd
	timed_row "vfioctl devices, $label" wall_ms b "floor reader"
	timed_row "vfioctl devices, $label" wall_ms c "lspci -nk"
	timeit -- $ctl groups :: "$B/floor" "$host" groups
	timed_row "vfioctl groups, $label" wall_ms b "floor reader"
	timeit -- $ctl show "$addr" :: "$B/floor" "$host" show "$addr"
	timed_row "vfioctl show $addr, $label" wall_ms b "floor reader"
	timed_row "vfioctl show: peak RSS, $label" maxrss_kib b "floor reader"

	say "$label: D-Bus round trips"
	calls=$((RUNS * 20))
	"$B/bus-rtt" "$BUS" "$host" "$addr" "$calls" >"$T/rtt.json"
	jq -c --arg l "$label" '
		def row(w; s; f; pn; p): {workload: (w + ", " + $l), unit: "ms",
			vfiod: {value: s[f], min: s.min_ms, max: s.max_ms, n: s.n},
			peer: {name: pn, value: p[f], min: p.min_ms, max: p.max_ms},
			ratio: (s[f] / p[f])};
		row("GetDevice round trip p50"; .GetDevice; "p50_ms"; "same read in-process"; .floor_device),
		row("GetDevice round trip p99"; .GetDevice; "p99_ms"; "same read in-process"; .floor_device),
		row("ListDevices round trip p50"; .ListDevices; "p50_ms"; "floor read in-process"; .floor_devices),
		row("ListDevices round trip p99"; .ListDevices; "p99_ms"; "floor read in-process"; .floor_devices)' \
		"$T/rtt.json" >>"$ROWS"

	set -- $(vfiod_usage)
	rss_after=$1 hwm_after=$2 cpu_after=$3 anon_after=$4
	# the issue's target, 8 MiB, is the reference of vfiod's own memory
	value_row "vfiod RSS at start, $label" MiB "$(mib "$rss_start")" "target (issue 13)" 8
	value_row "vfiod RSS after serving, $label" MiB "$(mib "$rss_after")" "target (issue 13)" 8
	value_row "vfiod peak RSS (VmHWM) after serving, $label" MiB "$(mib "$hwm_after")" "target (issue 13)" 8
	# the rest is file-backed: the pages of the shared libraries it maps
	value_row "vfiod RSS after serving, its anonymous part (RssAnon), $label" MiB "$(mib "$anon_after")" "target (issue 13)" 8
	value_row "vfiod CPU time to start, $label" ms "$cpu_start"
	value_row "vfiod CPU time after serving every row above, $label" ms "$cpu_after"

	stop_vfiod
	stop_bus
	rm -rf "$host"
done

# ---- the lab rows: the nested VM on a real kernel (bench/lab.sh) ----
LAB_INFO='null'
if [ "$LAB" -eq 1 ]; then
	say "lab rows: bench/lab.sh $LAB_ARGS (the vm suite's lab cache)"
	# shellcheck disable=SC2086 # LAB_ARGS are words for bench/lab.sh
	sh "$SRC/bench/lab.sh" --runs "$RUNS" --builddir "$BUILD" --out "$T/lab.json" $LAB_ARGS >"$T/lab.out" ||
		{ cat "$T/lab.out" >&2; echo "bench/run.sh: the lab rows failed (bench/lab.sh)" >&2; exit 1; }
	jq -c '.rows[]' "$T/lab.json" >>"$ROWS"
	LAB_INFO=$(jq -c '.lab + {machine: .machine}' "$T/lab.json")
fi

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the JSON file and the table ----
mkdir -p "$(dirname "$OUTFILE")"
jq -s --arg commit "$COMMIT" --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	--arg kernel "$(uname -r)" --arg nproc "$(nproc)" --arg hwdb "$HWDB" \
	--arg load_start "$LOAD_START" --arg load_end "$LOAD_END" \
	--argjson runs "$RUNS" --argjson warmup "$WARMUP" --argjson lab "$LAB_INFO" '
	{commit: $commit, date: $date, lab: $lab,
	 hwdb: ($hwdb != ""), machine: {kernel: $kernel, cpus: ($nproc | tonumber), loadavg_start: $load_start, loadavg_end: $load_end},
	 runs: $runs, warmup: $warmup, rows: .}' "$ROWS" >"$OUTFILE"

jq -r '
	def num: if . == null then "-" elif . >= 100 then (. + 0.5 | floor | tostring)
		elif . >= 10 then ((. * 10 + 0.5 | floor) / 10 | tostring)
		else ((. * 100 + 0.5 | floor) / 100 | tostring) end;
	def fig: if . == null then "-" else (.value | num) +
		(if .min != null then " [" + (.min | num) + "-" + (.max | num) + "]" else "" end) end;
	.rows[] | [.workload, .unit, (.vfiod | fig), (.peer.name // "-"), (.peer | fig),
		   (if .ratio == null then "-" else (.ratio | num) end)] | @tsv' "$OUTFILE" >"$T/table.tsv"
{
	printf 'WORKLOAD\tUNIT\tVFIOD median [min-max]\tPEER\tPEER median [min-max]\tRATIO\n'
	cat "$T/table.tsv"
} | awk -F '\t' '
	{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NR }
	END { for (r = 1; r <= n; r++) { line = ""
		for (i = 1; i <= 6; i++) line = line sprintf(i < 6 ? "%-" w[i] "s  " : "%s", cell[r, i])
		print line } }'
echo
echo "commit $COMMIT, $(nproc) CPUs, load average $LOAD_START at start, $LOAD_END at the end;" \
	"medians of $RUNS runs after $WARMUP warm-up runs; ratio = vfiod / peer (lower is better)"
if [ -n "$HWDB" ]; then
	echo "vfiod named every function from a copy of $HWDB in each generated host (the floor and lspci -n name none)"
else
	echo "no hardware database on this machine: vfiod named no function"
fi
echo "rows written to $OUTFILE"
