#!/bin/sh
# Boot the lab guest: QEMU TCG, q35, emulated Intel IOMMU with interrupt
# remapping, and three PCIe endpoints each behind its own root port (its
# own IOMMU group): edu (1234:11e8), e1000e (8086:10d3), nvme (1b36:0010).
# The ICH9 functions at 00:1f.x share one group.
#
# Usage: qemu.sh [options] BZIMAGE INITRD
#   --append STR     extra kernel command line (e.g. vfiod.case=NAME)
#   --timeout SECS   kill QEMU after SECS (default $VFIOD_LAB_TIMEOUT or 600)
#   --serial2 FILE   second serial port (guest ttyS1) written to FILE
#   --no-iommu       no vIOMMU, intel_iommu=off (iommufd selftest mock domains)
#   --l0 qemu10      run QEMU 10 (tests/lab/qemu10.sh, unpacked in the lab
#                    cache) instead of the host's QEMU 7.2, with its own
#                    firmware and option ROMs first on the data path (-L)
#   --device NAME    one more emulated device behind a root port of its own
#                    (repeatable): igb (82576 SR-IOV NIC, 8086:10c9, up to
#                    7 VFs; QEMU 8 and later, so with --l0 qemu10)
#   --interactive    console on the terminal with the QEMU monitor on C-a c
# The guest console (ttyS0) goes to stdout. QEMU exits 0 on the guest's
# poweroff; results are reported on the console (see tests/vm/guest/guest-init).
set -eu

append=""
timeout_s=${VFIOD_LAB_TIMEOUT:-600}
serial2=""
iommu=1
interactive=0
l0=""
devices=""
while [ $# -gt 0 ]; do
	case "$1" in
	--append) append="$append $2"; shift 2 ;;
	--timeout) timeout_s=$2; shift 2 ;;
	--serial2) serial2=$2; shift 2 ;;
	--no-iommu) iommu=0; shift ;;
	--interactive) interactive=1; shift ;;
	--l0) l0=$2; shift 2 ;;
	--device) devices="$devices $2"; shift 2 ;;
	--) shift; break ;;
	-*) echo "qemu.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -eq 2 ] || { echo "usage: qemu.sh [options] BZIMAGE INITRD" >&2; exit 2; }
bzimage=$1
initrd=$2

qemu=${VFIOD_LAB_QEMU:-qemu-system-x86_64}
datadirs=""
case "$l0" in
"") ;;
qemu10)
	# A Debian 12 build: it runs on this host with the host's libraries
	# (qemu10.sh checks that with ldd; QEMU10_LIBPATH names any library
	# the download had to add). Its compiled-in firmware path is the
	# host's /usr/share/qemu (QEMU 7.2's files): QEMU 10's own SeaBIOS and
	# option ROMs go first. The host's folders stay on the path after
	# them for ROMs the download lacks (efi-e1000e.rom from ipxe-qemu).
	QEMU10_BIN='' QEMU10_ROOT='' QEMU10_LIBPATH=''
	eval "$("$(dirname "$0")/qemu10.sh" | grep -E '^QEMU10_(BIN|ROOT|LIBPATH)=')"
	[ -x "$QEMU10_BIN" ] || { echo "qemu.sh: tests/lab/qemu10.sh gave no QEMU 10" >&2; exit 2; }
	qemu=$QEMU10_BIN
	if [ -n "$QEMU10_LIBPATH" ]; then
		LD_LIBRARY_PATH=$QEMU10_LIBPATH${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
		export LD_LIBRARY_PATH
	fi
	datadirs="$QEMU10_ROOT/usr/share/qemu $QEMU10_ROOT/usr/share/seabios"
	;;
*) echo "qemu.sh: unknown L0 '$l0' (qemu10)" >&2; exit 2 ;;
esac
command -v "$qemu" >/dev/null 2>&1 || { echo "qemu.sh: $qemu not found" >&2; exit 2; }

set -- -accel tcg -M q35 -cpu qemu64 -m "${VFIOD_LAB_MEM:-1024}" -smp 2 \
	-nodefaults -display none -monitor none -no-reboot

if [ "$interactive" = 1 ]; then
	set -- "$@" -serial mon:stdio
else
	set -- "$@" -serial stdio
fi
if [ -n "$serial2" ]; then
	set -- "$@" -serial "file:$serial2"
fi

# no_timer_check: on a loaded host TCG can be too slow for the kernel's
# IO-APIC timer check, which then panics ("timer doesn't work through
# Interrupt-remapped IO-APIC").
cmdline="console=ttyS0 panic=-1 no_timer_check loglevel=${VFIOD_LAB_LOGLEVEL:-4}"
if [ "$iommu" = 1 ]; then
	set -- "$@" -device intel-iommu,intremap=on,caching-mode=on
	cmdline="$cmdline intel_iommu=on"
else
	cmdline="$cmdline intel_iommu=off"
fi

set -- "$@" \
	-device pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1 \
	-device edu,bus=rp1 \
	-device pcie-root-port,id=rp2,bus=pcie.0,chassis=2,slot=2 \
	-netdev user,id=n0,restrict=on \
	-device e1000e,bus=rp2,netdev=n0 \
	-device pcie-root-port,id=rp3,bus=pcie.0,chassis=3,slot=3 \
	-blockdev driver=null-co,node-name=nv0,size=67108864,read-zeroes=on \
	-device nvme,bus=rp3,serial=vfiod-lab-nvme,drive=nv0

# Extra devices: root ports from chassis/slot 8 on, after the three above.
slot=8
for d in $devices; do
	set -- "$@" -device "pcie-root-port,id=rp$slot,bus=pcie.0,chassis=$slot,slot=$slot"
	case "$d" in
	igb) set -- "$@" -netdev "user,id=n$slot,restrict=on" -device "igb,bus=rp$slot,id=igb$slot,netdev=n$slot" ;;
	*) echo "qemu.sh: unknown device '$d' (igb)" >&2; exit 2 ;;
	esac
	slot=$((slot + 1))
done
for d in $datadirs; do
	set -- "$@" -L "$d"
done

set -- "$@" \
	-kernel "$bzimage" -initrd "$initrd" -append "$cmdline$append"

if [ "$interactive" = 1 ]; then
	exec timeout --foreground -k 10 "$timeout_s" "$qemu" "$@"
fi
# stdin from /dev/null: QEMU must not put a calling terminal into raw mode.
exec timeout -k 10 "$timeout_s" "$qemu" "$@" </dev/null
