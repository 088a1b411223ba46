# SPDX-License-Identifier: LGPL-2.1-or-later
# The VM rows of issue 13 (item 3), run INSIDE the lab guest by bench/lab.sh
# (a second boot, on a kernel with iommufd and the test vGPU module, with
# more guest RAM). bench/lab.sh puts BENCH_RUNS=N and BENCH_PREC_MIB="1024 ..."
# first and appends its payload (bench/timeit) after the line "exit 0".
#
# 1. Hot-add + hot-remove (type1, a VM of 64 MiB, as vm-soak-hotplug; edu
#    on iommufd as well where the kernel has it):
#    vfiod: `vfioctl vm add-device` (claim, journal, limit raise), the
#    reference VMM's hotadd (GetDeviceFds, attach; type1 replays its
#    mappings), `vfioctl vm check-charge`, the VMM's hotremove,
#    `vfioctl vm remove-device` (proof, give back, limit lowered, journal).
#    By hand: the raw sysfs writes (driver_override + drivers_probe for
#    edu; create for the vGPU), a new reference VMM that opens the device
#    itself (as root, then drops to uid 1000; it cannot hot-add without
#    vfiod), util-linux `prlimit --memlock` on it, its MAP_DMA of the
#    guest memory, a charge check (VmLck from /proc/PID/status against the
#    expected bytes), its exit, and the raw writes back (unbind + clear the
#    override; remove). No journal, no ownership or busy proof.
# 2. Memlock precision: VMs of BENCH_PREC_MIB MiB with edu, a pinning vGPU
#    (1000 pages), or both, on type1 and iommufd: vfiod's limit at the
#    peak, divided by the peak charge (VmLck, the VMM's locked_vm: type1,
#    and iommufd in the per-process mode vfiod sets), beside libvirt's
#    formula for the same VM; once with nothing known (vfiod's defaults)
#    and once with what the VMM and the operator know (the VM's own
#    headroom, the vGPU type's budget in /etc/vfiod/memlock.conf).
# Writes /out/timeit-vm-*.json, /out/precision.tsv and /out/checks-vm.txt.
. /opt/vfiod/tests/vm/lib/guest-lib.sh
. /opt/vfiod/tests/vmm/vmm-lib.sh
. /opt/vfiod/tests/vm/lib/vm-ownership-lib.sh

: "${BENCH_RUNS:=11}"
: "${BENCH_PREC_MIB:=1024}"
BENCH_WARMUP=2
T=/run/bench
mkdir -p "$T"
sed '1,/^exit 0$/d' "$0" | base64 -d | tar -xzf - -C /
[ -x /usr/bin/timeit ] || fail "the payload has no timeit"
[ -x /usr/bin/prlimit ] || fail "no prlimit (util-linux) in the guest"

modprobe vfio-pci || fail "modprobe vfio-pci"
modprobe vfio_iommu_type1 || :
modprobe mdev || fail "modprobe mdev"
load_test_module vfiod_test_vgpu
load_test_module vfiod_mm
EDU=$(lab_device edu)
[ -n "$EDU" ] || fail "no edu in the guest"
DEV=/sys/bus/pci/devices/$EDU
VGPU_TYPES=/sys/class/mdev_bus/vfiod_vgpu/mdev_supported_types/vfiod_vgpu-1
[ -d "$VGPU_TYPES" ] || fail "no vfiod_vgpu-1 mdev type"
PINS=4096000 # the vGPU pins 1000 pages of 4 KiB
HP_MEM=64M
HP_MEM_BYTES=67108864
start_vfiod

vmlck() { echo $(($(awk '/^VmLck:/ { print $2 }' "/proc/$1/status") * 1024)); }

# ---- 1. hot-add + hot-remove ----
ANCHOR=$(mdev_create mtty mtty-1)
vmm_spawn --type1 "$ANCHOR" --vfiod hp --user vmm --mem "$HP_MEM"
vfioctl_ok vm register hp --pid "$VMM_PID" --backend type1 --memory "$HP_MEM"
vfioctl_ok vm add-device hp "$ANCHOR"
vmm_go
vmm_step map 0 "$HP_MEM"
# the limits vfiod sets, given to the by-hand side too (the same numbers)
vfioctl_ok vm add-device hp "$EDU"
LIMIT_EDU=$(memlock_of "$VMM_PID" | cut -d' ' -f1)
vfioctl_ok vm remove-device hp "$EDU"
vfioctl_ok vm create-mdev hp vfiod_vgpu vfiod_vgpu-1
V=$(cat "$OUT")
LIMIT_VGPU=$(memlock_of "$VMM_PID" | cut -d' ' -f1)
vfioctl_ok vm remove-device hp "$V"
mdev_gone "$V" || fail "vfiod did not remove the mdev it created"
log "limits vfiod sets in the 64 MiB VM: edu $LIMIT_EDU, vGPU $LIMIT_VGPU"

# The vfiod rounds talk to the VM's VMM on the inherited descriptors 7 and 8.
# Every round sources the same helpers (the same shell start-up each way).
cat >"$T/round-lib.sh" <<'EOF'
. /opt/vfiod/tests/vm/lib/guest-lib.sh
. /opt/vfiod/tests/vmm/vmm-lib.sh
. /opt/vfiod/tests/vm/lib/vm-ownership-lib.sh
vmlck_of() { echo $(($(awk '/^VmLck:/ { print $2 }' "/proc/$1/status") * 1024)); }
set -e
EOF
LIBS=". $T/round-lib.sh"
cat >"$T/hp-edu-vfiod.sh" <<EOF
$LIBS
VMM_PID=$VMM_PID
vfioctl_ok vm add-device hp $EDU
vmm_step hotadd hp $EDU
vfioctl_ok vm check-charge hp
case "\$(cat \$OUT)" in "expected $HP_MEM_BYTES observed $HP_MEM_BYTES limit $LIMIT_EDU match") ;; *) exit 1 ;; esac
vmm_step hotremove $EDU
vfioctl_ok vm remove-device hp $EDU
[ ! -e $DEV/driver ]
EOF
cat >"$T/hp-edu-hand.sh" <<EOF
$LIBS
echo vfio-pci >$DEV/driver_override
echo $EDU >/sys/bus/pci/drivers_probe
vmm_start --type1 $EDU --user vmm --mem $HP_MEM
/usr/bin/prlimit --pid \$VMM_PID --memlock=$LIMIT_EDU:$LIMIT_EDU
vmm_step map 0 $HP_MEM
[ "\$(vmlck_of \$VMM_PID)" = $HP_MEM_BYTES ]
vmm_stop
echo $EDU >$DEV/driver/unbind
echo >$DEV/driver_override
[ ! -e $DEV/driver ]
EOF
cat >"$T/hp-vgpu-vfiod.sh" <<EOF
$LIBS
VMM_PID=$VMM_PID
vfioctl_ok vm create-mdev hp vfiod_vgpu vfiod_vgpu-1
V=\$(cat \$OUT)
vmm_step hotadd hp \$V
echo "0x100000 1000" >/sys/bus/mdev/devices/\$V/vgpu/pin
vfioctl_ok vm check-charge hp
case "\$(cat \$OUT)" in "expected 0 observed $PINS limit $LIMIT_VGPU match") ;; *) exit 1 ;; esac
vmm_step hotremove \$V
vfioctl_ok vm remove-device hp \$V
[ ! -e /sys/bus/mdev/devices/\$V ]
EOF
cat >"$T/hp-vgpu-hand.sh" <<EOF
$LIBS
V=\$(cat /proc/sys/kernel/random/uuid)
echo \$V >$VGPU_TYPES/create
vmm_start --type1 \$V --user vmm --mem $HP_MEM
/usr/bin/prlimit --pid \$VMM_PID --memlock=$LIMIT_VGPU:$LIMIT_VGPU
vmm_step map 0 $HP_MEM
echo "0x100000 1000" >/sys/bus/mdev/devices/\$V/vgpu/pin
[ "\$(vmlck_of \$VMM_PID)" = $PINS ]
vmm_stop
echo 1 >/sys/bus/mdev/devices/\$V/remove
[ ! -e /sys/bus/mdev/devices/\$V ]
EOF
for w in hp-edu-vfiod hp-edu-hand hp-vgpu-vfiod hp-vgpu-hand; do
	sh "$T/$w.sh" </dev/null || { sh -x "$T/$w.sh" </dev/null || :; fail "the round $w failed"; }
done
log "hot-add + hot-remove of edu: vfiod, by hand ($BENCH_RUNS runs)"
timeit -n "$BENCH_RUNS" -w "$BENCH_WARMUP" -- sh "$T/hp-edu-vfiod.sh" :: sh "$T/hp-edu-hand.sh" \
	>/out/timeit-vm-edu.json || fail "an edu hot-add round failed"
log "hot-add + hot-remove of the vGPU: vfiod, by hand ($BENCH_RUNS runs)"
timeit -n "$BENCH_RUNS" -w "$BENCH_WARMUP" -- sh "$T/hp-vgpu-vfiod.sh" :: sh "$T/hp-vgpu-hand.sh" \
	>/out/timeit-vm-vgpu.json || fail "a vGPU hot-add round failed"
vmm_step hotremove "$ANCHOR"
vfioctl_ok vm remove-device hp "$ANCHOR"
vmm_stop
wait_until 60 vm_is_gone hp
mdev_remove "$ANCHOR"

# The same edu round on iommufd, where the kernel has it: vfiod's VM opens
# /dev/iommu in the per-process accounting mode, so its check-charge reads
# VmLck; the VMM by hand opens the cdev itself in the kernel's default
# per-user mode, where the charge shows in VmPin only.
if has_iommufd; then
	ANCHOR=$(mdev_create mtty mtty-1)
	vmm_spawn --iommufd "$ANCHOR" --vfiod hpi --user vmm --mem "$HP_MEM"
	vfioctl_ok vm register hpi --pid "$VMM_PID" --backend iommufd --memory "$HP_MEM"
	vfioctl_ok vm add-device hpi "$ANCHOR"
	vmm_go
	vmm_step map 0 "$HP_MEM"
	vfioctl_ok vm add-device hpi "$EDU"
	LIMIT_EDU_I=$(memlock_of "$VMM_PID" | cut -d' ' -f1)
	vfioctl_ok vm remove-device hpi "$EDU"
	cat >"$T/hp-edu-vfiod-iommufd.sh" <<EOF
$LIBS
VMM_PID=$VMM_PID
vfioctl_ok vm add-device hpi $EDU
vmm_step hotadd hpi $EDU
vfioctl_ok vm check-charge hpi
case "\$(cat \$OUT)" in "expected $HP_MEM_BYTES observed $HP_MEM_BYTES limit $LIMIT_EDU_I match") ;; *) exit 1 ;; esac
vmm_step hotremove $EDU
vfioctl_ok vm remove-device hpi $EDU
[ ! -e $DEV/driver ]
EOF
	cat >"$T/hp-edu-hand-iommufd.sh" <<EOF
$LIBS
echo vfio-pci >$DEV/driver_override
echo $EDU >/sys/bus/pci/drivers_probe
vmm_start --iommufd $EDU --user vmm --mem $HP_MEM
/usr/bin/prlimit --pid \$VMM_PID --memlock=$LIMIT_EDU_I:$LIMIT_EDU_I
vmm_step map 0 $HP_MEM
[ "\$(awk '/^VmPin:/ { print \$2 * 1024 }' /proc/\$VMM_PID/status)" = $HP_MEM_BYTES ]
vmm_stop
echo $EDU >$DEV/driver/unbind
echo >$DEV/driver_override
[ ! -e $DEV/driver ]
EOF
	for w in hp-edu-vfiod-iommufd hp-edu-hand-iommufd; do
		sh "$T/$w.sh" </dev/null || { sh -x "$T/$w.sh" </dev/null || :; fail "the round $w failed"; }
	done
	log "hot-add + hot-remove of edu on iommufd: vfiod, by hand ($BENCH_RUNS runs)"
	timeit -n "$BENCH_RUNS" -w "$BENCH_WARMUP" -- sh "$T/hp-edu-vfiod-iommufd.sh" :: sh "$T/hp-edu-hand-iommufd.sh" \
		>/out/timeit-vm-edu-iommufd.json || fail "an iommufd edu hot-add round failed"
	vmm_step hotremove "$ANCHOR"
	vfioctl_ok vm remove-device hpi "$ANCHOR"
	vmm_stop
	wait_until 60 vm_is_gone hpi
	mdev_remove "$ANCHOR"
fi

# ---- 2. memlock precision ----
# libvirt's rule, qemuDomainGetMemLockLimitBytes() in libvirt's
# src/qemu/qemu_domain.c (9.0.0 and later, x86, no <hard_limit>, no
# <locked/>): factor = nvdpa + nnvme + (nvfio ? (vIOMMU ? nvfio : 1) : 0)
# with nvfio = PCI + mdev hostdevs (9.0 counts NVMe disks in nvfio), and
# limit = factor × guest memory + 1 GiB; no passthrough device: 0 (left
# alone). These VMs have no vIOMMU, vDPA or NVMe: factor 1.
libvirt_limit() { # MEM_BYTES NVFIO NVDPA NNVME VIOMMU(0|1)
	_lf=$(($3 + $4))
	if [ "$2" -gt 0 ]; then
		if [ "$5" -eq 1 ]; then _lf=$((_lf + $2)); else _lf=$((_lf + 1)); fi
	fi
	[ "$_lf" -gt 0 ] || { echo 0; return; }
	echo $((_lf * $1 + 1073741824))
}

# sample: the charge and the limit now; the peak charge and the limit at it
sample() {
	_c=$(vmlck "$VMM_PID")
	_l=$(memlock_of "$VMM_PID" | cut -d' ' -f1)
	[ "$_l" -ge "$_c" ] || fail "$SCEN: the limit $_l is below the charge $_c"
	if [ "$_c" -ge "$PEAK" ]; then PEAK=$_c; PEAK_LIMIT=$_l; fi
}

# precision BACKEND MIB CONFIG(edu|vgpu|both) KNOWN(default|known)
precision() {
	SCEN="$1 ${2}MiB $3 headroom-$4"
	PEAK=0
	PEAK_LIMIT=0
	_mem=$(($2 * 1048576))
	_v=
	case $3 in vgpu | both) _v=$(mdev_create vfiod_vgpu vfiod_vgpu-1) ;; esac
	case $3 in vgpu) _first=$_v ;; *) _first=$EDU ;; esac
	vmm_spawn "--$1" "$_first" --vfiod prec --user vmm --mem "${2}M"
	_hr=
	[ "$4" = default ] || _hr="--headroom 0"
	# shellcheck disable=SC2086 # _hr is empty or two words
	vfioctl_ok vm register prec --pid "$VMM_PID" --backend "$1" --memory "${2}M" $_hr
	vfioctl_ok vm add-device prec "$_first"
	vmm_go
	vmm_step map 0 "${2}M"
	sample
	if [ "$3" = both ]; then
		vfioctl_ok vm add-device prec "$_v"
		vmm_step hotadd prec "$_v"
		sample
	fi
	if [ -n "$_v" ]; then
		echo "0x100000 1000" >"/sys/bus/mdev/devices/$_v/vgpu/pin" || fail "$SCEN: vGPU pin"
		sample
	fi
	vfioctl_ok vm check-charge prec
	case "$(cat "$OUT")" in *" match") ;; *) fail "$SCEN: CheckCharge: $(cat "$OUT")" ;; esac
	_pin=$(awk '/^VmPin:/ { print $2 * 1024 }' "/proc/$VMM_PID/status")
	case $3 in edu | vgpu) _nvfio=1 ;; both) _nvfio=2 ;; esac
	_lv=$(libvirt_limit "$_mem" "$_nvfio" 0 0 0)
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$PEAK" "$PEAK_LIMIT" "$_lv" "$_pin" "$4" >>/out/precision.tsv
	log "precision $SCEN: peak $PEAK (VmPin $_pin), vfiod limit $PEAK_LIMIT, libvirt $_lv"
	vmm_stop
	wait_until 60 vm_is_gone prec
	[ -z "$_v" ] || mdev_remove "$_v"
}

: >/out/precision.tsv
BACKENDS=type1
if has_iommufd; then BACKENDS="type1 iommufd"; fi
# default: nothing known (64 MiB headroom, 256 MiB per mdev); known: what
# the operator and the VMM know, the VMM's own headroom (0: the reference
# VMM maps guest memory only) and the vGPU type's pin budget in
# /etc/vfiod/memlock.conf (the test vGPU pins at most 1000 pages here)
for h in default known; do
	if [ "$h" = known ]; then
		stop_vfiod
		mkdir -p /etc/vfiod
		echo "mdev-budget vfiod_vgpu-1 = $PINS" >/etc/vfiod/memlock.conf
		start_vfiod
	fi
	for mib in $BENCH_PREC_MIB; do
		for b in $BACKENDS; do
			for c in edu vgpu both; do
				precision "$b" "$mib" "$c" "$h"
			done
		done
	done
done
rm -f /etc/vfiod/memlock.conf

echo "vm_kernel=$(uname -r) vm_guest_ram_mib=$(($(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) / 1024)) limit_edu=$LIMIT_EDU limit_vgpu=$LIMIT_VGPU" >/out/checks-vm.txt
stop_vfiod 2>/dev/null || :
exit 0
