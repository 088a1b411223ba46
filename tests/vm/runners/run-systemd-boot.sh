#!/bin/sh
# vm-systemd-boot (meson suite `vm`): boot a Debian 12 guest with a real
# systemd as PID 1 and the project installed with `meson install --destdir`
# (the shipped unit, bus policy, activation file, modules-load.d,
# tmpfiles.d), vfiod enabled, a persisted configuration including files in
# mdevctl's and driverctl's formats, and a oneshot unit ordered
# After=vfiod.service that checks everything was applied
# (tests/vm/guest/systemd-boot-check.sh).
#
# Usage: run-systemd-boot.sh BUILD_ROOT SOURCE_ROOT
# The rootfs (tests/lab/rootfs-systemd.sh) and the distro kernel are cached
# under ${VFIOD_LAB_CACHE:-$HOME/.cache/vfiod-lab}; the whole tree goes into
# one initramfs (the distro kernel has no virtio-blk/9p built in), so the
# guest gets 2 GiB of RAM. Exit 0 pass, 1 fail (log printed), 77 skip.
# Log: BUILD_ROOT/meson-logs/vm/vm-systemd-boot-distro.log
set -u

[ $# -eq 2 ] || { echo "usage: $0 BUILD_ROOT SOURCE_ROOT" >&2; exit 2; }
build_root=$(cd "$1" && pwd)
source_root=$(cd "$2" && pwd)
lab=$source_root/tests/lab
guest=$source_root/tests/vm/guest
name=vm-systemd-boot

say() {
	echo "run-systemd-boot: $*"
}

. "$source_root/tests/vm/runners/runner-lib.sh"
. "$source_root/tests/vm/runners/systemd-guest.sh"
sg_require

# Fixed identities the check script knows (ids.env).
EDU=0000:01:00.0
NVME=0000:03:00.0
UUID_A=5f0f4d4e-2a6b-4c1e-9d3a-0b1c2d3e4f50 # vfiod.json, mtty, autostart
UUID_B=83b8f4f2-509f-482f-8c1e-e6bfe0fa1001 # mdevctl.d, mbochs (loaded late), auto
UUID_C=0a1b2c3d-0000-4000-8000-000000000003 # mdevctl.d, mtty, auto
UUID_D=0a1b2c3d-0000-4000-8000-000000000004 # mdevctl.d, mtty, manual

logdir=$build_root/meson-logs/vm
work=$build_root/vm-lab
log=$logdir/$name-distro.log
mkdir -p "$logdir" "$work"

sg_prepare rootfs-systemd.sh

stage=$(mktemp -d "$work/systemd-stage.XXXXXX")
img=$work/systemd-initramfs.img
trap 'rm -rf "$stage"' EXIT
t0=$(date +%s)

# the lab's variant for edu indexed: the boot check loads it through modprobe@
SG_VARIANT_DRIVERS=yes sg_stage "$stage" vfiod vfioctl

# The persisted configuration.
mkdir -p "$stage/etc/vfiod" "$stage/etc/mdevctl.d/mtty" "$stage/etc/mdevctl.d/mbochs" "$stage/etc/driverctl.d"
cat >"$stage/etc/vfiod/vfiod.json" <<EOF
{
  "bindings": [ { "device": "$EDU" } ],
  "mdevs": [ { "uuid": "$UUID_A", "parent": "mtty", "type": "mtty-2", "autostart": true } ]
}
EOF
echo '{"mdev_type": "mtty-1", "start": "auto", "attrs": []}' >"$stage/etc/mdevctl.d/mtty/$UUID_C"
echo '{"mdev_type": "mtty-1", "start": "manual", "attrs": []}' >"$stage/etc/mdevctl.d/mtty/$UUID_D"
echo '{"mdev_type": "mbochs-small", "start": "auto", "attrs": []}' >"$stage/etc/mdevctl.d/mbochs/$UUID_B"
echo vfio-pci >"$stage/etc/driverctl.d/pci-$NVME"

# The checks, as a unit ordered after vfiod.
mkdir -p "$stage/opt/vfiod-boot" "$stage/opt/vfiod/tests/lib"
cp "$guest/systemd-boot-check.sh" "$stage/opt/vfiod-boot/check.sh"
cp "$source_root/tests/lib/wait-until.sh" "$stage/opt/vfiod/tests/lib/wait-until.sh"
printf 'EDU=%s\nNVME=%s\nUUID_A=%s\nUUID_B=%s\nUUID_C=%s\nUUID_D=%s\n' \
	"$EDU" "$NVME" "$UUID_A" "$UUID_B" "$UUID_C" "$UUID_D" >"$stage/opt/vfiod-boot/ids.env"
sg_enable_unit "$stage" "$guest/vfiod-boot-check.service"

sg_image "$stage" "$img"
t1=$(date +%s)
say "image $(du -m "$img" | cut -f1) MB ($(du -sm "$stage" | cut -f1) MB unpacked) in $((t1 - t0)) s"

sg_boot "$img" "$log" 2048
t2=$(date +%s)

read_markers "$log"
say "distro: kernel $KVER: qemu $((t2 - t1)) s; $PASSED pass, $FAILED fail"
# the exposure line, for the record
tr -d '\r' <"$log" | grep -m1 'Overall exposure level' | sed 's/^/  /'
sg_verdict "$log"
if [ "$PASSED" -eq 0 ]; then
	say "FAIL: no check passed; guest log $log:"
	cat "$log"
	exit 1
fi
exit 0
