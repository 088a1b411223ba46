#!/bin/sh
# vm-systemd-boot (meson suite `vm`): boot a Debian 12 guest with a real
# systemd as PID 1 and the project installed with `meson install --destdir`
# (the shipped unit, bus policy, activation file, modules-load.d,
# tmpfiles.d), vfiod enabled, a persisted configuration including files in
# mdevctl's and driverctl's formats, and a oneshot unit ordered
# After=vfiod.service that checks everything was applied
# (tests/vm/systemd-boot/check.sh).
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
here=$source_root/tests/vm/systemd-boot
name=vm-systemd-boot

say() {
	echo "run-systemd-boot: $*"
}

for tool in qemu-system-x86_64 cpio timeout flock debootstrap zstd jq; do
	command -v "$tool" >/dev/null 2>&1 || { say "SKIP: $tool not installed (tests/setup.sh)"; exit 77; }
done
[ "$(id -u)" -eq 0 ] || { say "SKIP: needs root (debootstrap, device nodes in the image)"; exit 77; }
case " $(echo "${VFIOD_LAB_KERNELS:-distro}" | tr ',' ' ') " in
*" distro "*) ;;
*) say "SKIP: the distro kernel is not selected (VFIOD_LAB_KERNELS)"; exit 77 ;;
esac

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

kenv=$work/distro.env
"$lab/kernel-distro.sh" >"$kenv.sd.$$" || { rm -f "$kenv.sd.$$"; say "preparing the distro kernel failed"; exit 1; }
rootfs_env=$("$lab/rootfs-systemd.sh") || { say "preparing the systemd rootfs failed"; exit 1; }
ROOTFS=
eval "$rootfs_env"
[ -d "$ROOTFS" ] || { say "rootfs-systemd.sh gave no ROOTFS"; exit 1; }

# Out-of-tree modules: the same folder and lock as run-vm-test.sh.
(
	flock 8
	mv "$kenv.sd.$$" "$kenv"
	"$lab/build-modules.sh" "$kenv" "$source_root" "$work/distro-modules"
) 8>"$work/distro.lock" || { say "building the modules failed"; exit 1; }

KVER='' MODDIR='' BZIMAGE=''
. "$kenv"

stage=$(mktemp -d "$work/systemd-stage.XXXXXX")
img=$work/systemd-initramfs.img
trap 'rm -rf "$stage"' EXIT
t0=$(date +%s)

cp -a "$ROOTFS/." "$stage/"

# The project, installed as a package would be; vfiod enabled like an admin would.
DESTDIR=$stage meson install -C "$build_root" --quiet --destdir "$stage" >"$work/systemd-install.log" 2>&1 ||
	{ cat "$work/systemd-install.log"; say "meson install failed"; exit 1; }
unit=$(find "$stage" -path '*/systemd/system/vfiod.service' | head -n1)
[ -n "$unit" ] || { say "meson install put no vfiod.service into the image"; exit 1; }
unitdir=${unit%/vfiod.service}
mkdir -p "$stage/etc/systemd/system/multi-user.target.wants"
ln -sf "${unitdir#"$stage"}/vfiod.service" "$stage/etc/systemd/system/multi-user.target.wants/vfiod.service"
ln -sf "${unitdir#"$stage"}/vfiod.service" "$stage/etc/systemd/system/dbus-org.vfiod1.service"
# dbus-daemon reads policies from /usr/share and /etc only: a /usr/local
# prefix (meson's default) needs the admin's link, as any /usr/local service.
policy=$(find "$stage" -name org.vfiod1.conf -path '*dbus-1/system.d*' | head -n1)
[ -n "$policy" ] || { say "meson install put no bus policy into the image"; exit 1; }
case "$policy" in
"$stage/usr/share/dbus-1/system.d/"*) ;;
*) mkdir -p "$stage/etc/dbus-1/system.d" && cp "$policy" "$stage/etc/dbus-1/system.d/" ;;
esac

# Libraries the installed programs need that the minimal rootfs lacks
# (json-c, libnl): the host's, which are Debian 12's too.
for exe in $(find "$stage/usr" -name vfiod -type f) $(find "$stage/usr" -name vfioctl -type f) /usr/bin/jq; do
	ldd "$exe" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | while read -r lib; do
		[ -e "$stage$lib" ] || [ -e "$stage/usr$lib" ] || cp -L "$lib" "$stage/usr/lib/x86_64-linux-gnu/"
	done
done
cp /usr/bin/jq "$stage/usr/bin/jq"

# Kernel modules: the lab's selection plus vfiod_mm, under the merged /usr.
mkdir -p "$stage/usr/lib/modules"
cp -R "$MODDIR" "$stage/usr/lib/modules/$KVER"
mkdir -p "$stage/usr/lib/modules/$KVER/extra/vfiod"
find "$work/distro-modules" -maxdepth 1 -name '*.ko' -exec cp {} "$stage/usr/lib/modules/$KVER/extra/vfiod/" \;
depmod -b "$stage" "$KVER"
# the mdev parent vfiod.json and one mdevctl file name is there at boot
mkdir -p "$stage/etc/modules-load.d"
echo mtty >"$stage/etc/modules-load.d/vfiod-lab.conf"

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
mkdir -p "$stage/opt/vfiod-boot"
cp "$here/check.sh" "$stage/opt/vfiod-boot/check.sh"
printf 'EDU=%s\nNVME=%s\nUUID_A=%s\nUUID_B=%s\nUUID_C=%s\nUUID_D=%s\n' \
	"$EDU" "$NVME" "$UUID_A" "$UUID_B" "$UUID_C" "$UUID_D" >"$stage/opt/vfiod-boot/ids.env"
cp "$here/vfiod-boot-check.service" "$stage/etc/systemd/system/"
ln -sf /etc/systemd/system/vfiod-boot-check.service \
	"$stage/etc/systemd/system/multi-user.target.wants/vfiod-boot-check.service"
# Nothing to log in to; a root-less console keeps the serial log readable.
rm -f "$stage/etc/systemd/system/getty.target.wants/"* 2>/dev/null
ln -sf /dev/null "$stage/etc/systemd/system/serial-getty@ttyS0.service"
echo "vfiod-lab" >"$stage/etc/hostname"
: >"$stage/etc/machine-id"

# The initramfs is the root file system: the kernel runs /init.
ln -sf /lib/systemd/systemd "$stage/init"
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | zstd -q -3 -T2 >"$img.tmp")
mv "$img.tmp" "$img"
t1=$(date +%s)
say "image $(du -m "$img" | cut -f1) MB ($(du -sm "$stage" | cut -f1) MB unpacked) in $((t1 - t0)) s"

VFIOD_LAB_MEM=${VFIOD_LAB_MEM:-2048} "$lab/qemu.sh" --timeout "${VFIOD_LAB_TIMEOUT:-900}" \
	--append "systemd.show_status=0 systemd.unit=multi-user.target" \
	"$BZIMAGE" "$img" >"$log" 2>&1
qrc=$?
t2=$(date +%s)

markers=$(tr -d '\r' <"$log" | grep -o '@@VFIOD-[A-Z]*[^@]*@@')
echo "$markers" | sed -n 's/^@@VFIOD-CASE \(.*\)@@$/  \1/p'
done_rc=$(echo "$markers" | sed -n 's/^@@VFIOD-DONE \([0-9]*\)@@$/\1/p' | tail -n1)
p=$(echo "$markers" | grep -c " PASS@@$")
f=$(echo "$markers" | grep -c " FAIL@@$")
say "distro: kernel $KVER: qemu $((t2 - t1)) s; $p pass, $f fail"
# the exposure line, for the record
tr -d '\r' <"$log" | grep -m1 'Overall exposure level' | sed 's/^/  /'

bad=""
case "$qrc" in
0) ;;
124 | 137) bad="qemu killed after ${VFIOD_LAB_TIMEOUT:-900} s" ;;
*) bad="qemu exited with $qrc" ;;
esac
[ -n "$done_rc" ] || bad="${bad:+$bad; }guest did not finish (no DONE marker)"
[ "$f" -eq 0 ] || bad="${bad:+$bad; }$f check(s) failed"
[ "$p" -gt 0 ] || bad="${bad:+$bad; }no check passed"
if [ -n "$bad" ]; then
	say "FAIL: $bad; guest log $log:"
	cat "$log"
	exit 1
fi
exit 0
