# vfiod-kernels: test
# vfiod-timeouts: case=1200 boot=1700
# Soak (issue 12 item 5): one VM, edu and a pinning test vGPU
# (tests/kernel's vfiod_test_vgpu) hot-added and hot-removed again and
# again, through the real vfiod, dbus-daemon and vfioctl, with the
# reference VMM (vfd-vmm, uid 1000, no capabilities) holding the
# descriptors. Every step of every cycle checks vfiod's CheckCharge
# verdict, the charge it observes and the VMM's VmLck (exactly the vGPU's
# pins, then the guest memory once edu is attached, then 0), and the VMM's
# RLIMIT_MEMLOCK: equal to the limit vfiod reports, the same at the same
# step of every cycle, and never below the charge. vfiod's RSS (VmRSS)
# and its open descriptors are sampled after every cycle, its heap in use
# (Manager.HeapInUse) after cycle 1, every 10th and the last; each is
# compared with its value after cycle 10: the heap in use may not grow
# by more than 1%, the descriptors not at all (a leaked descriptor per
# cycle shows at once). VmRSS is a coarse
# guard only (5%): it also grows as free heap pages are touched for the
# first time, which is no leak. vfiod runs here without glibc's per-thread
# cache of freed chunks (tcache), which mallinfo2() counts as in use: with
# it the figure grew by about 500 bytes per cycle of freed memory; without
# it by 60, the inventory's bounded list of names to read again
# (STALE_NAMES_MAX), which a query empties, so each heap sample follows
# one (vfioctl mdevs). The shipped vfiod keeps tcache.
#
# The VM keeps an mtty mdev (pins nothing) as the VMM's setup device
# between cycles: a type1 container whose last group leaves loses its
# IOMMU model and its mappings, so hot-adding needs a device that stays.
# iommufd: the test creates the vGPU mdev and adds it (vfiod refuses to
# remove an mdev it created itself while the VMM lives: nothing proves the
# VMM closed it); type1: vfiod creates it (CreateMdev) and removes it with
# the device.
#
# Environment (bench/soak.sh passes it to the guest for the long run):
#   VFIOD_SOAK_CYCLES     cycles per backend; the suite's default is 200 on
#                         iommufd and SOAK_TYPE1_CYCLES on type1 (time)
#   VFIOD_SOAK_BACKENDS   "iommufd,type1" (default) or one of them
# Each testcase prints cycles, checks, elapsed seconds and cycles per
# minute in a @@VFIOD-SOAK ...@@ line.

. /opt/vfiod/tests/vmm/vmm-lib.sh
. /opt/vfiod/tests/vm/lib/vm-ownership-lib.sh

SOAK_TYPE1_CYCLES=30
SOAK_BASELINE=10        # heap, RSS and descriptors are compared with the values after this cycle
SOAK_MEM=64M
SOAK_MEM_BYTES=67108864
SOAK_PAGES=1000         # the vGPU pins this many 4 KiB pages
SOAK_PINS=4096000

# soak_quiet: the steps of a cycle log to a trace file, printed only when
# the case fails (a serial console under TCG is slow); fd 6 is the console
soak_quiet() {
	SOAK_TRACE=/tmp/soak.trace
	: >"$SOAK_TRACE"
	exec 6>&2
	trap soak_on_exit EXIT
	# the guest's case timeout ends the shell with SIGTERM
	trap 'exit 143' TERM
}

soak_on_exit() {
	_so_rc=$?
	[ "$_so_rc" -eq 0 ] || { echo "--- trace of cycle $cycle ---"; cat "$SOAK_TRACE"; } >&6
}

vfiod_pid() {
	cat "$VFIOD_PIDFILE"
}

vfiod_rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$(vfiod_pid)/status"
}

# Manager.HeapInUse: the bytes vfiod's allocator holds for live allocations
vfiod_heap_bytes() {
	dbus-send --system --print-reply --dest=org.vfiod1 /org/vfiod1 \
		org.freedesktop.DBus.Properties.Get string:org.vfiod1.Manager string:HeapInUse |
		sed -n 's/.*variant *uint64 \([0-9]*\).*/\1/p'
}

vfiod_fd_count() {
	_fc_n=0
	for _fc in "/proc/$(vfiod_pid)/fd"/*; do
		[ ! -e "$_fc" ] && [ ! -L "$_fc" ] || _fc_n=$((_fc_n + 1))
	done
	echo "$_fc_n"
}

# soak_check STEP OBSERVED: vfiod's check matches with OBSERVED bytes
# charged, the VMM's limit is vfiod's limit, the same at this step in every
# cycle, and not below the charge
soak_check() {
	vfioctl vm check-charge soak
	[ "$RC" -eq 0 ] || fail "cycle $cycle, $1: CheckCharge failed: $(cat "$ERR")"
	read -r _w1 expected _w2 observed _w3 limit verdict <"$OUT"
	assert_eq "expected observed limit match" "$_w1 $_w2 $_w3 $verdict" \
		"cycle $cycle, $1: CheckCharge says $(cat "$OUT")"
	assert_eq "$2" "$observed" "cycle $cycle, $1: observed charge"
	# the kernel's own count, not through vfiod: the VMM's locked_vm
	# (type1, and iommufd's per-process accounting that vfiod sets)
	assert_eq "$2" "$(($(awk '/^VmLck:/ { print $2 }' "/proc/$VMM_PID/status") * 1024))" \
		"cycle $cycle, $1: VmLck of the VMM"
	assert_eq "$limit $limit" "$(memlock_of "$VMM_PID")" "cycle $cycle, $1: RLIMIT_MEMLOCK (soft hard)"
	[ "$limit" -ge "$observed" ] || fail "cycle $cycle, $1: the limit $limit is below the charge $observed"
	[ "$limit" -ge "$expected" ] || fail "cycle $cycle, $1: the limit $limit is below the expected $expected"
	# the same state gives the same limit in every cycle
	_sc_var=SOAK_LIMIT_$2
	eval "_sc_first=\${$_sc_var:-}"
	if [ -z "$_sc_first" ]; then
		eval "$_sc_var=$limit"
	else
		assert_eq "$_sc_first" "$limit" "cycle $cycle, $1: the limit differs from cycle 1's"
	fi
	checks=$((checks + 1))
}

# one cycle: vGPU in, pinning; edu in; edu out; vGPU out
soak_cycle() {
	if [ "$BACKEND" = type1 ]; then
		vfioctl_ok vm create-mdev soak vfiod_vgpu vfiod_vgpu-1
		VGPU=$(cat "$OUT")
	else
		VGPU=$(mdev_create vfiod_vgpu vfiod_vgpu-1)
		vfioctl_ok vm add-device soak "$VGPU"
	fi
	vmm_step hotadd soak "$VGPU"
	echo "0x100000 $SOAK_PAGES" >"/sys/bus/mdev/devices/$VGPU/vgpu/pin" || fail "cycle $cycle: vGPU pin"
	soak_check "vGPU pinning" "$SOAK_PINS"

	vfioctl_ok vm add-device soak "$EDU"
	vmm_step hotadd soak "$EDU"
	soak_check "edu attached" "$SOAK_MEM_BYTES"

	vmm_step hotremove "$EDU"
	vfioctl_ok vm remove-device soak "$EDU"
	assert_eq "$EDU_BEFORE" "$(device_snapshot "$EDU")" "cycle $cycle: edu given back"
	soak_check "edu removed" "$SOAK_PINS"

	vmm_step hotremove "$VGPU"
	vfioctl_ok vm remove-device soak "$VGPU"
	if [ "$BACKEND" = type1 ]; then
		mdev_gone "$VGPU" || fail "cycle $cycle: vfiod did not remove the mdev $VGPU it created"
	else
		mdev_remove "$VGPU"
	fi
	soak_check "vGPU removed" 0
	# every 10th cycle (a jq less per cycle): the VM holds the setup device only
	[ $((cycle % 10)) -ne 0 ] ||
		assert_eq "$ANCHOR" "$("$VFIOCTL" --json vm show soak | jq -r '[.devices[].name] | join(" ")')" \
			"cycle $cycle: only the setup device is left"
}

# soak BACKEND CYCLES: the whole run on one backend
soak() {
	BACKEND=$1
	SOAK_CYCLES=$2
	case ",$(echo "${VFIOD_SOAK_BACKENDS:-iommufd,type1}" | tr ' ' ',')," in
	*",$BACKEND,"*) ;;
	*) skip "VFIOD_SOAK_BACKENDS=$VFIOD_SOAK_BACKENDS" ;;
	esac
	modprobe vfio-pci
	modprobe mdev || fail "modprobe mdev"
	load_test_module vfiod_test_vgpu
	load_test_module vfiod_mm
	EDU=$(lab_device edu)
	EDU_BEFORE=$(device_snapshot "$EDU")
	ANCHOR=$(mdev_create mtty mtty-1)
	kmsg_mark
	_soak_tunables=${GLIBC_TUNABLES-}
	export GLIBC_TUNABLES="${_soak_tunables:+$_soak_tunables:}glibc.malloc.tcache_count=0"
	start_vfiod
	if [ -n "$_soak_tunables" ]; then GLIBC_TUNABLES=$_soak_tunables; else unset GLIBC_TUNABLES; fi
	pid=$(vfiod_pid)

	vmm_spawn "--$BACKEND" "$ANCHOR" --vfiod soak --user vmm --mem "$SOAK_MEM"
	vfioctl_ok vm register soak --pid "$VMM_PID" --backend "$BACKEND" --memory "$SOAK_MEM"
	vfioctl_ok vm add-device soak "$ANCHOR"
	vmm_go
	assert_contains "$VMM_SETUP" "CapEff=0000000000000000" "the VMM has no capabilities"
	vmm_step map 0 "$SOAK_MEM"
	cycle=0
	checks=0
	soak_check "setup device only" 0

	soak_quiet
	t0=$(cut -d' ' -f1 /proc/uptime)
	cycle=1
	while [ "$cycle" -le "$SOAK_CYCLES" ]; do
		soak_cycle 2>"$SOAK_TRACE"
		rss=$(vfiod_rss_kb)
		fds=$(vfiod_fd_count)
		# the samples that are compared or printed (the baseline, the trend, the end)
		case "$cycle" in
		1 | *0 | "$SOAK_BASELINE" | "$SOAK_CYCLES")
			# a query: the inventory reads what changed and keeps no name for later
			"$VFIOCTL" mdevs >/dev/null || fail "cycle $cycle: vfioctl mdevs"
			heap=$(vfiod_heap_bytes)
			[ -n "$heap" ] || fail "cycle $cycle: no Manager.HeapInUse"
			log "cycle $cycle: vfiod VmRSS $rss kB, heap in use $heap bytes, $fds descriptors" ;;
		esac
		if [ "$cycle" -eq "$SOAK_BASELINE" ]; then
			rss0=$rss
			fds0=$fds
			heap0=$heap
		fi
		# the steps of the first cycle, for the record
		[ "$cycle" -ne 1 ] || cat "$SOAK_TRACE" >&6
		cycle=$((cycle + 1))
	done
	t1=$(cut -d' ' -f1 /proc/uptime)
	trap - EXIT TERM
	cycles=$SOAK_CYCLES
	assert_eq "$pid" "$(vfiod_pid)" "vfiod's pid"
	kill -0 "$pid" || fail "vfiod died during the soak"

	rate=$(awk -v n="$cycles" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n * 60 / (b - a) }')
	echo "@@VFIOD-SOAK $BACKEND cycles=$cycles checks=$checks elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }')s cycles_per_minute=$rate rss_kb=$rss0->$rss heap_bytes=$heap0->$heap fds=$fds0->$fds@@"

	[ "$cycles" -gt "$SOAK_BASELINE" ] || skip "$cycles cycles: no comparison with cycle $SOAK_BASELINE"
	n=$((cycles - SOAK_BASELINE))
	per_cycle=$(awk -v a="$heap0" -v b="$heap" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / n }')
	awk -v a="$heap0" -v b="$heap" 'BEGIN { exit !((b - a) * 100 <= a) }' ||
		fail "vfiod's heap in use grew from $heap0 bytes after cycle $SOAK_BASELINE to $heap bytes after cycle $cycles ($per_cycle bytes per cycle): more than 1%"
	per_cycle=$(awk -v a="$rss0" -v b="$rss" -v n="$n" 'BEGIN { printf "%.2f", (b - a) / n }')
	awk -v a="$rss0" -v b="$rss" 'BEGIN { d = b - a; if (d < 0) d = -d; exit !(d * 100 <= 5 * a) }' ||
		fail "vfiod's RSS grew from $rss0 kB after cycle $SOAK_BASELINE to $rss kB after cycle $cycles ($per_cycle kB per cycle): more than 5%"
	assert_eq "$fds0" "$fds" "vfiod's open descriptors after cycle $SOAK_BASELINE and after cycle $cycles"

	vmm_step hotremove "$ANCHOR"
	vfioctl_ok vm remove-device soak "$ANCHOR"
	vmm_stop
	wait_until 60 vm_is_gone soak
	mdev_remove "$ANCHOR"
	stop_vfiod
	assert_eq "$EDU_BEFORE" "$(device_snapshot "$EDU")" "edu as before"
	kmsg_assert_clean
}

testcase_soak_iommufd() {
	has_iommufd || skip "no /dev/iommu on this kernel"
	soak iommufd "${VFIOD_SOAK_CYCLES:-200}"
}

testcase_soak_type1() {
	soak type1 "${VFIOD_SOAK_CYCLES:-$SOAK_TYPE1_CYCLES}"
}
