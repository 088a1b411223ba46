#!/bin/sh
# Libvirt guest tests (meson suite `vm`): boot a Debian 12 guest with
# systemd as PID 1, a real libvirtd (libvirt-daemon-system 9.0) and QEMU
# 7.2 (tests/lab/rootfs-libvirt.sh), the project installed with `meson
# install --destdir` (vfiod enabled through its shipped unit, the libvirt
# hook in /etc/libvirt/hooks/qemu.d), and run the case
# tests/vm/cases/NAME.sh from a oneshot unit ordered after vfiod and
# libvirtd (tests/vm/libvirt/run-case.sh). See tests/vm/README.md,
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
here=$source_root/tests/vm/libvirt
case_file=$source_root/tests/vm/cases/$name.sh

say() {
	echo "run-libvirt-test: $*"
}

[ -f "$case_file" ] || { say "no case file tests/vm/cases/$name.sh"; exit 2; }
for tool in qemu-system-x86_64 cpio timeout flock debootstrap zstd jq; do
	command -v "$tool" >/dev/null 2>&1 || { say "SKIP: $tool not installed (tests/setup.sh)"; exit 77; }
done
[ "$(id -u)" -eq 0 ] || { say "SKIP: needs root (debootstrap, device nodes in the image)"; exit 77; }
case " $(echo "${VFIOD_LAB_KERNELS:-distro}" | tr ',' ' ') " in
*" distro "*) ;;
*) say "SKIP: the distro kernel is not selected (VFIOD_LAB_KERNELS)"; exit 77 ;;
esac

logdir=$build_root/meson-logs/vm
work=$build_root/vm-lab
log=$logdir/$name-libvirt.log
mkdir -p "$logdir" "$work"

t_prep=$(date +%s)
kenv=$work/distro.env
"$lab/kernel-distro.sh" >"$kenv.lv.$$" || { rm -f "$kenv.lv.$$"; say "preparing the distro kernel failed"; exit 1; }
rootfs_env=$("$lab/rootfs-libvirt.sh") || { say "preparing the libvirt rootfs failed"; exit 1; }
ROOTFS=
eval "$rootfs_env"
[ -d "$ROOTFS" ] || { say "rootfs-libvirt.sh gave no ROOTFS"; exit 1; }

# Out-of-tree modules: the same folder and lock as run-vm-test.sh.
(
	flock 8
	mv "$kenv.lv.$$" "$kenv"
	"$lab/build-modules.sh" "$kenv" "$source_root" "$work/distro-modules"
) 8>"$work/distro.lock" || { say "building the modules failed"; exit 1; }

KVER='' MODDIR='' BZIMAGE=''
. "$kenv"

stage=$(mktemp -d "$work/libvirt-stage.XXXXXX")
img=$work/libvirt-$name-initramfs.img
trap 'rm -rf "$stage"' EXIT
t0=$(date +%s)

cp -a "$ROOTFS/." "$stage/"

# The project, installed as a package would be; vfiod enabled like an admin would.
meson install -C "$build_root" --quiet --destdir "$stage" >"$work/libvirt-install.log" 2>&1 ||
	{ cat "$work/libvirt-install.log"; say "meson install failed"; exit 1; }
unit=$(find "$stage" -path '*/systemd/system/vfiod.service' | head -n1)
[ -n "$unit" ] || { say "meson install put no vfiod.service into the image"; exit 1; }
unitdir=${unit%/vfiod.service}
mkdir -p "$stage/etc/systemd/system/multi-user.target.wants"
ln -sf "${unitdir#"$stage"}/vfiod.service" "$stage/etc/systemd/system/multi-user.target.wants/vfiod.service"
ln -sf "${unitdir#"$stage"}/vfiod.service" "$stage/etc/systemd/system/dbus-org.vfiod1.service"
# dbus-daemon reads policies from /usr/share and /etc only; libvirt runs
# hooks from /etc/libvirt/hooks only: a /usr/local prefix (meson's default)
# needs the admin's links, as any /usr/local service.
policy=$(find "$stage" -name org.vfiod1.conf -path '*dbus-1/system.d*' | head -n1)
[ -n "$policy" ] || { say "meson install put no bus policy into the image"; exit 1; }
case "$policy" in
"$stage/usr/share/dbus-1/system.d/"*) ;;
*) mkdir -p "$stage/etc/dbus-1/system.d" && cp "$policy" "$stage/etc/dbus-1/system.d/" ;;
esac
hook=$(find "$stage" -path '*/libvirt/hooks/qemu.d/vfiod' | head -n1)
[ -n "$hook" ] || { say "meson install put no libvirt hook (libvirt/hooks/qemu.d/vfiod) into the image"; exit 1; }
case "$hook" in
"$stage/etc/libvirt/hooks/qemu.d/vfiod") ;;
*) mkdir -p "$stage/etc/libvirt/hooks/qemu.d" &&
	ln -sf "${hook#"$stage"}" "$stage/etc/libvirt/hooks/qemu.d/vfiod" ;;
esac

# Libraries the installed programs need that the rootfs lacks (json-c,
# libnl): the host's, which are Debian 12's too.
for exe in $(find "$stage/usr" -type f \( -name vfiod -o -name vfioctl -o -name vfiod-libvirt-hook \)) /usr/bin/jq; do
	ldd "$exe" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | while read -r lib; do
		[ -e "$stage$lib" ] || [ -e "$stage/usr$lib" ] || cp -L "$lib" "$stage/usr/lib/x86_64-linux-gnu/"
	done
done
cp /usr/bin/jq "$stage/usr/bin/jq"

# Kernel modules: the lab's selection plus the project's, under the merged /usr.
mkdir -p "$stage/usr/lib/modules"
cp -R "$MODDIR" "$stage/usr/lib/modules/$KVER"
mkdir -p "$stage/usr/lib/modules/$KVER/extra/vfiod"
find "$work/distro-modules" -maxdepth 1 -name '*.ko' -exec cp {} "$stage/usr/lib/modules/$KVER/extra/vfiod/" \;
depmod -b "$stage" "$KVER"
# mdev parents for the cases; vfio-pci and vfiod_mm come from vfiod's own file
mkdir -p "$stage/etc/modules-load.d"
printf 'mtty\n' >"$stage/etc/modules-load.d/vfiod-lab.conf"

# The case and its guest-side runner, as a unit ordered after vfiod and libvirtd.
mkdir -p "$stage/opt/vfiod-libvirt" "$stage/opt/vfiod/tests/vm"
cp "$source_root/tests/vm/guest-lib.sh" "$stage/opt/vfiod/tests/vm/guest-lib.sh"
cp "$here/guest-lib.sh" "$here/run-case.sh" "$stage/opt/vfiod-libvirt/"
cp "$case_file" "$stage/opt/vfiod-libvirt/case.sh"
printf 'CASE=%s\nCASE_TIMEOUT=%s\n' "$name" "${VFIOD_LAB_CASE_TIMEOUT:-300}" >"$stage/opt/vfiod-libvirt/case.env"
cp "$here/vfiod-libvirt-case.service" "$stage/etc/systemd/system/"
ln -sf /etc/systemd/system/vfiod-libvirt-case.service \
	"$stage/etc/systemd/system/multi-user.target.wants/vfiod-libvirt-case.service"
# Nothing to log in to; a root-less console keeps the serial log readable.
rm -f "$stage/etc/systemd/system/getty.target.wants/"* 2>/dev/null
ln -sf /dev/null "$stage/etc/systemd/system/serial-getty@ttyS0.service"
# libvirt-guests would try to suspend domains at shutdown: nothing to keep
ln -sf /dev/null "$stage/etc/systemd/system/libvirt-guests.service"
echo "vfiod-lab" >"$stage/etc/hostname"
: >"$stage/etc/machine-id"

# The initramfs is the root file system: the kernel runs /init.
ln -sf /lib/systemd/systemd "$stage/init"
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | zstd -q -3 -T2 >"$img.tmp")
mv "$img.tmp" "$img"
t1=$(date +%s)
say "kernel, rootfs, modules $((t0 - t_prep)) s; image $(du -m "$img" | cut -f1) MB" \
	"($(du -sm "$stage" | cut -f1) MB unpacked) in $((t1 - t0)) s"
rm -rf "$stage"

# RAM: the unpacked image, libvirtd, and an L2 QEMU of 32-64 MiB.
VFIOD_LAB_MEM=${VFIOD_LAB_MEM:-3072} "$lab/qemu.sh" --timeout "${VFIOD_LAB_TIMEOUT:-900}" \
	--append "systemd.show_status=0 systemd.unit=multi-user.target" \
	"$BZIMAGE" "$img" >"$log" 2>&1
qrc=$?
t2=$(date +%s)
rm -f "$img"

markers=$(tr -d '\r' <"$log" | grep -o '@@VFIOD-[A-Z]*[^@]*@@')
echo "$markers" | sed -n 's/^@@VFIOD-CASE \(.*\)@@$/  \1/p'
tr -d '\r' <"$log" | grep -o '@@VFIOD-TIME [^@]*@@' | sed 's/^@@VFIOD-TIME \(.*\)@@$/  time: \1/'
done_rc=$(echo "$markers" | sed -n 's/^@@VFIOD-DONE \([0-9]*\)@@$/\1/p' | tail -n1)
p=$(echo "$markers" | grep -c " PASS@@$")
f=$(echo "$markers" | grep -c " FAIL@@$")
s=$(echo "$markers" | grep -c " SKIP@@$")
say "$name: kernel $KVER: qemu $((t2 - t1)) s; $p pass, $f fail, $s skip"

bad=""
case "$qrc" in
0) ;;
124 | 137) bad="qemu killed after ${VFIOD_LAB_TIMEOUT:-900} s" ;;
*) bad="qemu exited with $qrc" ;;
esac
[ -n "$done_rc" ] || bad="${bad:+$bad; }guest did not finish (no DONE marker)"
[ "$f" -eq 0 ] || bad="${bad:+$bad; }$f testcase(s) failed"
if [ -n "$bad" ]; then
	say "FAIL: $bad; guest log $log:"
	cat "$log"
	exit 1
fi
if [ "$p" -eq 0 ]; then
	say "SKIP: no testcase passed ($s skipped)"
	exit 77
fi
exit 0
