#!/bin/sh
# systemd guest cases (meson suite `vm`): boot the Debian 12 guest of
# vm-systemd-boot (tests/lab/rootfs-systemd.sh: systemd as PID 1, dbus,
# udev; no libvirt) with the project installed by `meson install
# --destdir` (vfiod enabled through its shipped unit), plus the reference
# VMM (tests/vmm), and run tests/vm/cases/NAME.sh from a oneshot unit
# ordered after vfiod (tests/vm/guest/libvirt-run-case.sh, shared with the
# libvirt guest). A case whose behaviour needs systemd itself (the fd
# store, Restart=) and no libvirt.
#
# Usage: run-systemd-case.sh BUILD_ROOT SOURCE_ROOT NAME
# Kernel: the case's `# vfiod-kernels:` line names one, distro (the
# default; no iommufd) or test (the lab's kernel: type1 and iommufd; its
# fragment has what systemd and the unit's sandbox need). Exit 0 pass, 1
# fail (log printed), 77 skip. Log: BUILD_ROOT/meson-logs/vm/NAME-systemd.log
set -u

[ $# -eq 3 ] || { echo "usage: $0 BUILD_ROOT SOURCE_ROOT NAME" >&2; exit 2; }
build_root=$(cd "$1" && pwd)
source_root=$(cd "$2" && pwd)
name=$3
lab=$source_root/tests/lab
guest=$source_root/tests/vm/guest
case_file=$source_root/tests/vm/cases/$name.sh

say() {
	echo "run-systemd-case: $*"
}

[ -f "$case_file" ] || { say "no case file tests/vm/cases/$name.sh"; exit 2; }
. "$source_root/tests/vm/runners/runner-lib.sh"
. "$source_root/tests/vm/runners/systemd-guest.sh"
kernels=$(sed -n 's/^#[[:space:]]*vfiod-kernels:[[:space:]]*//p' "$case_file" | head -n1)
set -- $kernels
[ $# -le 1 ] || { say "a systemd case runs on one kernel; $name names: $kernels"; exit 2; }
sg_require "${1:-distro}"

logdir=$build_root/meson-logs/vm
work=$build_root/vm-lab
log=$logdir/$name-systemd.log
mkdir -p "$logdir" "$work"

sg_prepare rootfs-systemd.sh

stage=$(mktemp -d "$work/systemd-case-stage.XXXXXX")
img=$work/systemd-$name-initramfs.img
trap 'rm -rf "$stage"' EXIT

sg_stage "$stage" vfiod vfioctl
# the reference VMM and the shell libraries the case sources, where the
# busybox guest has them
mkdir -p "$stage/opt/vfiod/bin" "$stage/opt/vfiod/tests/vm/lib" "$stage/opt/vfiod/tests/vmm" \
	"$stage/opt/vfiod/tests/lib" "$stage/opt/vfiod-libvirt"
cp "$build_root/tests/vmm/vfd-vmm" "$build_root/tests/security/fdstore-inject" "$stage/opt/vfiod/bin/"
ln -sf "$(find "$stage/usr" -type f -name vfioctl | head -n1 | sed "s|^$stage||")" "$stage/opt/vfiod/bin/vfioctl"
ldd "$build_root/tests/vmm/vfd-vmm" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | while read -r lib; do
	[ -e "$stage$lib" ] || [ -e "$stage/usr$lib" ] || cp -L "$lib" "$stage/usr/lib/x86_64-linux-gnu/"
done
cp "$source_root/tests/vm/lib/"*.sh "$stage/opt/vfiod/tests/vm/lib/"
cp "$source_root/tests/vmm/vmm-lib.sh" "$stage/opt/vfiod/tests/vmm/vmm-lib.sh"
cp "$source_root/tests/lib/wait-until.sh" "$stage/opt/vfiod/tests/lib/wait-until.sh"
cp "$guest/libvirt-run-case.sh" "$stage/opt/vfiod-libvirt/run-case.sh"
cp "$case_file" "$stage/opt/vfiod-libvirt/case.sh"
printf 'CASE=%s\nCASE_TIMEOUT=%s\n' "$name" "${VFIOD_LAB_CASE_TIMEOUT:-1200}" >"$stage/opt/vfiod-libvirt/case.env"
sg_enable_unit "$stage" "$guest/vfiod-libvirt-case.service"
# a case that needs files in /etc at boot (vfiod's configuration before
# udev's coldplug, a unit drop-in: vm-early-binding) gives them on
# `# vfiod-etc: RELATIVE-PATH: LINE` lines, appended in order
sed -n 's/^#[[:space:]]*vfiod-etc:[[:space:]]*//p' "$case_file" | while IFS= read -r etc_line; do
	etc_path=${etc_line%%: *}
	case "$etc_path" in
	"" | /* | *..* | *[!A-Za-z0-9_./@-]*) say "$name: bad vfiod-etc path '$etc_path'"; exit 2 ;;
	esac
	mkdir -p "$stage/etc/${etc_path%/*}"
	printf '%s\n' "${etc_line#*: }" >>"$stage/etc/$etc_path"
done || exit 2

sg_image "$stage" "$img"
rm -rf "$stage"
t1=$(date +%s)
sg_boot "$img" "$log" 2048
t2=$(date +%s)
rm -f "$img"

read_markers "$log"
say "$name: kernel $KVER: qemu $((t2 - t1)) s; $PASSED pass, $FAILED fail, $SKIPPED skip"
sg_verdict "$log"
if [ "$PASSED" -eq 0 ]; then
	say "SKIP: no testcase passed ($SKIPPED skipped)"
	exit 77
fi
exit 0
