#!/bin/sh
# Libvirt guest tests (meson suite `vm`): boot a Debian guest with systemd
# as PID 1, a real libvirtd and QEMU, the project installed with `meson
# install --destdir` (vfiod enabled through its shipped unit, the libvirt
# hook in /etc/libvirt/hooks/qemu.d), and run the case
# tests/vm/cases/NAME.sh from a oneshot unit ordered after vfiod and
# libvirtd (tests/vm/guest/libvirt-run-case.sh). See tests/vm/README.md,
# "Libvirt guest tests", for how a case plugs in.
#
# The world is the case's `# vfiod-world:` word:
#   bookworm (the default)  Debian 12: libvirt 9.0, QEMU 7.2, systemd 252
#                           (tests/lab/rootfs-libvirt.sh) on the distro kernel
#   trixie                  Debian 13: libvirt 12.9, QEMU 11.1, systemd 257
#                           (tests/lab/rootfs-libvirt-trixie.sh) on the
#                           modern (7.3) kernel
# run-vm-test.sh also calls this for a busybox case with that header (its
# second boot, see the README).
#
# Usage: run-libvirt-test.sh BUILD_ROOT SOURCE_ROOT NAME
# Exit 0 pass, 1 fail (log printed), 77 skip.
# Log: BUILD_ROOT/meson-logs/vm/NAME-libvirt.log (bookworm) or
# NAME-trixie.log (trixie)
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
world=$(sed -n 's/^#[[:space:]]*vfiod-world:[[:space:]]*//p' "$case_file" | head -n1 | awk '{ print $1 }')
case "${world:=bookworm}" in
bookworm) kernel=distro rootfs_script=rootfs-libvirt.sh logname=libvirt ;;
trixie) kernel=modern rootfs_script=rootfs-libvirt-trixie.sh logname=trixie ;;
*) say "unknown world '$world' in tests/vm/cases/$name.sh (bookworm or trixie)"; exit 2 ;;
esac
sg_require "$kernel"

logdir=$build_root/meson-logs/vm
work=$build_root/vm-lab
log=$logdir/$name-$logname.log
mkdir -p "$logdir" "$work"

t_prep=$(date +%s)
sg_prepare "$rootfs_script"
say "world $world: kernel $KVER; $(printf '%s\n' "$_sg_rootfs_env" | grep -v '^ROOTFS=' | tr '\n' ' ')"

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
# Every library of tests/vm/lib: a case may source one (vm-modern-smoke
# sources lab-smoke-lib.sh, whose testcases only the busybox guest runs).
mkdir -p "$stage/opt/vfiod-libvirt" "$stage/opt/vfiod/tests/vm/lib" "$stage/opt/vfiod/tests/lib"
cp "$source_root/tests/vm/lib/"*.sh "$stage/opt/vfiod/tests/vm/lib/"
cp "$source_root/tests/lib/wait-until.sh" "$stage/opt/vfiod/tests/lib/wait-until.sh"
cp "$guest/libvirt-run-case.sh" "$stage/opt/vfiod-libvirt/run-case.sh"
cp "$case_file" "$stage/opt/vfiod-libvirt/case.sh"
# the attacker's tools of the pid-reuse testcase (tests/security/vfd-stale-bus.c, vfd-spawn-at.c)
mkdir -p "$stage/opt/vfiod/bin"
cp "$build_root/tests/security/vfd-stale-bus" "$build_root/tests/security/vfd-spawn-at" "$stage/opt/vfiod/bin/"
# VFIOD_LAB_TESTCASES="testcase_a testcase_b testcase_b ...": only these,
# in this order, a name as often as it is given (bench/repeat-testcase.sh)
case "${VFIOD_LAB_TESTCASES:-}" in
*[!A-Za-z0-9_\ ]*) say "VFIOD_LAB_TESTCASES: only testcase names, separated by spaces"; exit 2 ;;
esac
for fn in ${VFIOD_LAB_TESTCASES:-}; do
	grep -Eq "^[[:space:]]*$fn[[:space:]]*\(\)" "$case_file" ||
		{ say "VFIOD_LAB_TESTCASES: tests/vm/cases/$name.sh has no $fn"; exit 2; }
done
printf 'CASE=%s\nCASE_TIMEOUT=%s\nTESTCASES="%s"\n' "$name" "${VFIOD_LAB_CASE_TIMEOUT:-300}" \
	"${VFIOD_LAB_TESTCASES:-}" >"$stage/opt/vfiod-libvirt/case.env"
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
say "$name: world $world, kernel $KVER: qemu $((t2 - t1)) s; $PASSED pass, $FAILED fail, $SKIPPED skip"
sg_verdict "$log"
if [ "$PASSED" -eq 0 ]; then
	say "SKIP: no testcase passed ($SKIPPED skipped)"
	exit 77
fi
exit 0
