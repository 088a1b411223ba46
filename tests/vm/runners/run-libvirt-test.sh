#!/bin/sh
# Libvirt guest tests (meson suite `vm`): boot a Debian 12 guest with
# systemd as PID 1, a real libvirtd (libvirt-daemon-system 9.0) and QEMU
# 7.2 (tests/lab/rootfs-libvirt.sh), the project installed with `meson
# install --destdir` (vfiod enabled through its shipped unit, the libvirt
# hook in /etc/libvirt/hooks/qemu.d), and run the case
# tests/vm/cases/NAME.sh from a oneshot unit ordered after vfiod and
# libvirtd (tests/vm/guest/libvirt-run-case.sh). See tests/vm/README.md,
# "Libvirt guest tests", for how a case plugs in.
#
# Usage: run-libvirt-test.sh BUILD_ROOT SOURCE_ROOT NAME
# Kernel: the distro kernel only. Exit 0 pass, 1 fail (log printed),
# 77 skip. Log: BUILD_ROOT/meson-logs/vm/NAME-libvirt.log
set -u

[ $# -eq 3 ] || { echo "usage: $0 BUILD_ROOT SOURCE_ROOT NAME" >&2; exit 2; }
build_root=$(cd "$1" && pwd)
source_root=$(cd "$2" && pwd)
name=$3
lab=$source_root/tests/lab
guest=$source_root/tests/vm/guest
case_file=$source_root/tests/vm/cases/$name.sh

say() {
	echo "run-libvirt-test: $*"
}

[ -f "$case_file" ] || { say "no case file tests/vm/cases/$name.sh"; exit 2; }
. "$source_root/tests/vm/runners/runner-lib.sh"
. "$source_root/tests/vm/runners/systemd-guest.sh"
sg_require

logdir=$build_root/meson-logs/vm
work=$build_root/vm-lab
log=$logdir/$name-libvirt.log
mkdir -p "$logdir" "$work"

t_prep=$(date +%s)
sg_prepare rootfs-libvirt.sh

stage=$(mktemp -d "$work/libvirt-stage.XXXXXX")
img=$work/libvirt-$name-initramfs.img
trap 'rm -rf "$stage"' EXIT
t0=$(date +%s)

sg_stage "$stage" vfiod vfioctl vfiod-libvirt-hook
# libvirt runs hooks from /etc/libvirt/hooks only: a /usr/local prefix
# (meson's default) needs the admin's link, as any /usr/local service.
hook=$(find "$stage" -path '*/libvirt/hooks/qemu.d/vfiod' | head -n1)
[ -n "$hook" ] || { say "meson install put no libvirt hook (libvirt/hooks/qemu.d/vfiod) into the image"; exit 1; }
case "$hook" in
"$stage/etc/libvirt/hooks/qemu.d/vfiod") ;;
*) mkdir -p "$stage/etc/libvirt/hooks/qemu.d" &&
	ln -sf "${hook#"$stage"}" "$stage/etc/libvirt/hooks/qemu.d/vfiod" ;;
esac

# The case and its guest-side runner, as a unit ordered after vfiod and libvirtd.
# The libraries keep their repository paths under /opt/vfiod/tests, as in
# the busybox guest.
mkdir -p "$stage/opt/vfiod-libvirt" "$stage/opt/vfiod/tests/vm/lib" "$stage/opt/vfiod/tests/lib"
cp "$source_root/tests/vm/lib/guest-lib.sh" "$source_root/tests/vm/lib/libvirt-guest-lib.sh" \
	"$stage/opt/vfiod/tests/vm/lib/"
cp "$source_root/tests/lib/wait-until.sh" "$stage/opt/vfiod/tests/lib/wait-until.sh"
cp "$guest/libvirt-run-case.sh" "$stage/opt/vfiod-libvirt/run-case.sh"
cp "$case_file" "$stage/opt/vfiod-libvirt/case.sh"
printf 'CASE=%s\nCASE_TIMEOUT=%s\n' "$name" "${VFIOD_LAB_CASE_TIMEOUT:-300}" >"$stage/opt/vfiod-libvirt/case.env"
sg_enable_unit "$stage" "$guest/vfiod-libvirt-case.service"
# libvirt-guests would try to suspend domains at shutdown: nothing to keep
ln -sf /dev/null "$stage/etc/systemd/system/libvirt-guests.service"

sg_image "$stage" "$img"
t1=$(date +%s)
say "kernel, rootfs, modules $((t0 - t_prep)) s; image $(du -m "$img" | cut -f1) MB" \
	"($(du -sm "$stage" | cut -f1) MB unpacked) in $((t1 - t0)) s"
rm -rf "$stage"

# RAM: the unpacked image, libvirtd, and an L2 QEMU of 32-64 MiB.
sg_boot "$img" "$log" 3072
t2=$(date +%s)
rm -f "$img"

read_markers "$log"
tr -d '\r' <"$log" | grep -o '@@VFIOD-TIME [^@]*@@' | sed 's/^@@VFIOD-TIME \(.*\)@@$/  time: \1/'
say "$name: kernel $KVER: qemu $((t2 - t1)) s; $PASSED pass, $FAILED fail, $SKIPPED skip"
sg_verdict "$log"
if [ "$PASSED" -eq 0 ]; then
	say "SKIP: no testcase passed ($SKIPPED skipped)"
	exit 77
fi
exit 0
