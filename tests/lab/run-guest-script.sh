#!/bin/sh
# Run an arbitrary script in the lab guest and bring its files back.
#
# Usage: run-guest-script.sh [--build BUILD_ROOT] [--no-iommu] KERNEL SCRIPT OUTDIR
#   KERNEL      distro | test | modern
#   SCRIPT      host path of a POSIX sh script, run as root in the guest after
#               the lab is up (udevd, system bus, VFIO modules loaded); the
#               repository's tests/ are at /opt/vfiod/tests, the build (if
#               --build or $VFIOD_BUILD_ROOT) at /opt/vfiod/bin
#   OUTDIR      receives console.log and whatever the script wrote to /out
#               in the guest (carried as a base64 tar over a second serial
#               port)
# Exits with the script's exit status (1 if the guest did not finish).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lab-lib.sh"
source_root=$(cd "$here/../.." && pwd)

build_root=${VFIOD_BUILD_ROOT:-}
qemu_opts=""
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build_root=$2; shift 2 ;;
	--no-iommu) qemu_opts="$qemu_opts --no-iommu"; shift ;;
	-*) lab_die "unknown option $1" ;;
	*) break ;;
	esac
done
[ $# -eq 3 ] || lab_die "usage: $0 [--build BUILD_ROOT] [--no-iommu] distro|test|modern SCRIPT OUTDIR"
kernel=$1
script=$2
outdir=$3
case "$kernel" in
distro | test | modern) ;;
*) lab_die "unknown kernel '$kernel' (distro, test or modern)" ;;
esac
[ -r "$script" ] || lab_die "cannot read $script"
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

mkdir -p "$LAB_CACHE"
work=$(mktemp -d "$LAB_CACHE/run-guest.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$here/kernel-$kernel.sh" >"$work/kernel.env"
# Out-of-tree modules persist between runs (incremental builds), one folder
# per kernel flavour, locked against concurrent runs.
mods=$LAB_CACHE/run-guest/$kernel-modules
mkdir -p "$mods"
(
	flock 8
	"$here/build-modules.sh" "$work/kernel.env" "$source_root" "$mods"
	mkdir -p "$work/modules"
	find "$mods" -maxdepth 1 -name '*.ko' -exec cp -p {} "$work/modules/" \;
) 8>"$mods.lock"
"$here/make-initramfs.sh" "$work/kernel.env" "${build_root:--}" "$source_root" \
	"$work/base.img" "$work/modules"

# The script rides in a second, uncompressed cpio appended to the image:
# the kernel unpacks concatenated archives in order.
mkdir -p "$work/extra/opt/vfiod/run"
cp "$script" "$work/extra/opt/vfiod/run/script.sh"
(cd "$work/extra" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$work/extra.cpio"
# An uncompressed cpio must start 4-byte aligned in the image (zero bytes
# are skipped), else the kernel takes it for unknown compressed data.
size=$(stat -c %s "$work/base.img")
{
	cat "$work/base.img"
	head -c $(((4 - size % 4) % 4)) /dev/zero
	cat "$work/extra.cpio"
} >"$work/initrd.img"

BZIMAGE=
. "$work/kernel.env"
: >"$work/serial1.txt"
rc=0
# shellcheck disable=SC2086
"$here/qemu.sh" $qemu_opts --serial2 "$work/serial1.txt" \
	--append "vfiod.script=/opt/vfiod/run/script.sh" \
	"$BZIMAGE" "$work/initrd.img" | tee "$outdir/console.log" || rc=$?

if grep -q '@@VFIOD-OUT-BEGIN@@' "$work/serial1.txt"; then
	tr -d '\r' <"$work/serial1.txt" |
		sed -n '/@@VFIOD-OUT-BEGIN@@/,/@@VFIOD-OUT-END@@/p' | sed '1d;$d' |
		base64 -d | tar -xzf - --no-overwrite-dir -C "$outdir"
fi

done_rc=$(tr -d '\r' <"$outdir/console.log" | sed -n 's/.*@@VFIOD-DONE \([0-9]*\)@@.*/\1/p' | tail -n1)
if [ -z "$done_rc" ]; then
	lab_log "the guest did not finish (qemu rc $rc); see $outdir/console.log"
	exit 1
fi
exit "$done_rc"
