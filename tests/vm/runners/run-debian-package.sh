#!/bin/sh
# vm-debian-package (meson suite `vm`): the Debian packages of debian/,
# built with dpkg-buildpackage from a clean copy of the tree, installed with
# `apt install ./vfiod_*.deb ./vfiod-dkms_*.deb` into a Debian 12 root
# (the cached tests/lab/rootfs-systemd.sh one, with the guest kernel's
# headers, as an admin's machine has them), so that DKMS builds vfiod_mm for
# that kernel; then the machine boots with systemd as PID 1, and a oneshot
# unit ordered after vfiod.service checks the packaged unit, the module,
# vfioctl, and that `apt purge` removes everything and leaves no binding
# (tests/vm/guest/debian-package-check.sh).
#
# Usage: run-debian-package.sh BUILD_ROOT SOURCE_ROOT
# Needs the network (apt, as debootstrap does) and root (chroot).
# Exit 0 pass, 1 fail (log printed), 77 skip.
# Log: BUILD_ROOT/meson-logs/vm/vm-debian-package-distro.log
set -u

[ $# -eq 2 ] || { echo "usage: $0 BUILD_ROOT SOURCE_ROOT" >&2; exit 2; }
build_root=$(cd "$1" && pwd)
source_root=$(cd "$2" && pwd)
lab=$source_root/tests/lab
guest=$source_root/tests/vm/guest
name=vm-debian-package

say() {
	echo "run-debian-package: $*"
}

. "$source_root/tests/vm/runners/runner-lib.sh"
. "$source_root/tests/vm/runners/systemd-guest.sh"
sg_require
for tool in dpkg-buildpackage dh fakeroot chroot; do
	command -v "$tool" >/dev/null 2>&1 || { say "SKIP: $tool not installed (tests/setup.sh)"; exit 77; }
done
[ -f /usr/share/perl5/Debian/Debhelper/Sequence/dkms.pm ] ||
	{ say "SKIP: dh-dkms not installed (tests/setup.sh)"; exit 77; }

logdir=$build_root/meson-logs/vm
work=$build_root/vm-lab
log=$logdir/$name-distro.log
mkdir -p "$logdir" "$work"

sg_prepare rootfs-systemd.sh

pkg=$(mktemp -d "$work/debian-package.XXXXXX")
stage=$pkg/root
mounted=
unmount_all() {
	for m in $mounted; do umount -l "$stage$m" 2>/dev/null || :; done
	mounted=
}
trap 'unmount_all; rm -rf "$pkg"' EXIT
t0=$(date +%s)

# ---- the packages, from a clean copy of the tree (no build folders) ----
version=$(sed -n '1s/^vfiod (\([^)]*\)).*/\1/p' "$source_root/debian/changelog")
[ -n "$version" ] || { say "cannot read the version of debian/changelog"; exit 1; }
src=$pkg/src/vfiod-$version
mkdir -p "$src"
if git -C "$source_root" rev-parse --git-dir >/dev/null 2>&1; then
	# tracked and new files, as a fresh checkout of this tree would have them
	(cd "$source_root" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -T - -cf -) | tar -xf - -C "$src"
else
	(cd "$source_root" && tar --exclude='./build*' --exclude='./obj-*' -cf - .) | tar -xf - -C "$src"
fi
# the unit suite runs in the build tree already; the package build here
# shows that the packages build and install
if ! (cd "$src" && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b) \
	>"$work/$name-build.log" 2>&1; then
	tail -n 40 "$work/$name-build.log"
	say "FAIL: dpkg-buildpackage failed (log: $work/$name-build.log)"
	exit 1
fi
debs=$(ls "$pkg/src/vfiod_${version}_"*.deb "$pkg/src/vfiod-dkms_${version}_all.deb" 2>/dev/null)
[ "$(echo "$debs" | wc -l)" -eq 2 ] || { say "FAIL: dpkg-buildpackage made no vfiod and vfiod-dkms packages"; exit 1; }
t1=$(date +%s)
say "packages built in $((t1 - t0)) s: $(echo "$debs" | xargs -n1 basename | tr '\n' ' ')"

# ---- lintian: no error; the warnings left are printed (issue 17) ----
if command -v lintian >/dev/null 2>&1; then
	changes=$(ls "$pkg/src/vfiod_${version}_"*.changes 2>/dev/null | head -n1)
	# shellcheck disable=SC2086 # one word per package
	lintian --fail-on error --tag-display-limit 0 ${changes:-$debs} >"$work/$name-lintian.log" 2>&1
	lrc=$?
	sed 's/^/lintian: /' "$work/$name-lintian.log"
	[ "$lrc" -eq 0 ] || { say "FAIL: lintian reports errors (exit $lrc)"; exit 1; }
	say "lintian: no errors, $(grep -c '^W:' "$work/$name-lintian.log") warnings"
else
	say "lintian not installed (tests/setup.sh): not checked"
fi

# ---- a Debian 12 machine with the guest kernel and its headers ----
mkdir -p "$stage"
cp -a "$ROOTFS/." "$stage/"
mkdir -p "$stage/usr/lib/modules"
cp -R "$MODDIR" "$stage/usr/lib/modules/$KVER"
# the host's apt sources (Debian 12 and its security archive: the guest
# kernel's headers are there)
rm -f "$stage/etc/apt/sources.list"
cp -a /etc/apt/sources.list.d/. "$stage/etc/apt/sources.list.d/" 2>/dev/null
[ ! -f /etc/apt/sources.list ] || cp /etc/apt/sources.list "$stage/etc/apt/"
find "$stage/etc/apt/sources.list.d" -name '*.disabled*' -delete
cp /etc/resolv.conf "$stage/etc/resolv.conf"
for m in /proc /sys /dev; do
	mount --bind "$m" "$stage$m" && mounted="$m $mounted"
done
mkdir -p "$stage/tmp/debs"
cp $debs "$stage/tmp/debs/"
# no service starts inside the chroot (deb-systemd-invoke also sees no
# running systemd there); the unit is enabled as on a real installation
printf '#!/bin/sh\nexit 101\n' >"$stage/usr/sbin/policy-rc.d"
chmod +x "$stage/usr/sbin/policy-rc.d"
if ! chroot "$stage" sh -c "
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq &&
	apt-get install -y -qq --no-install-recommends linux-headers-$KVER &&
	cd /tmp/debs && apt-get install -y -qq --no-install-recommends ./*.deb &&
	dkms status" >"$work/$name-install.log" 2>&1; then
	tail -n 40 "$work/$name-install.log"
	say "FAIL: apt install of the packages failed (log: $work/$name-install.log)"
	exit 1
fi
unmount_all
rm -f "$stage/usr/sbin/policy-rc.d"
rm -rf "$stage/tmp/debs" "$stage/var/cache/apt/archives/"*.deb "$stage/var/lib/apt/lists/"*
grep -q "vfiod-mm.*$KVER.*installed" "$work/$name-install.log" ||
	{ cat "$work/$name-install.log"; say "FAIL: DKMS did not install vfiod_mm for $KVER"; exit 1; }
t2=$(date +%s)
say "installed with apt in $((t2 - t1)) s; $(grep "vfiod-mm" "$work/$name-install.log" | tail -n1)"

# the guest: mtty as the lab's mdev parent, no getty, the checks as a unit
echo mtty >"$stage/etc/modules-load.d/vfiod-lab.conf"
rm -f "$stage/etc/systemd/system/getty.target.wants/"* 2>/dev/null
ln -sf /dev/null "$stage/etc/systemd/system/serial-getty@ttyS0.service"
: >"$stage/etc/machine-id"
mkdir -p "$stage/opt/vfiod-package" "$stage/etc/systemd/system/multi-user.target.wants"
cp "$guest/debian-package-check.sh" "$stage/opt/vfiod-package/check.sh"
echo "KVER=$KVER" >"$stage/opt/vfiod-package/ids.env"
sg_enable_unit "$stage" "$guest/vfiod-package-check.service"

img=$work/debian-package-initramfs.img
sg_image "$stage" "$img"
t3=$(date +%s)
say "image $(du -m "$img" | cut -f1) MB ($(du -sm "$stage" | cut -f1) MB unpacked) in $((t3 - t2)) s"

sg_boot "$img" "$log" 3072
t4=$(date +%s)
rm -f "$img"

read_markers "$log"
say "distro: kernel $KVER: qemu $((t4 - t3)) s; $PASSED pass, $FAILED fail"
sg_verdict "$log"
if [ "$PASSED" -eq 0 ]; then
	say "FAIL: no check passed; guest log $log:"
	cat "$log"
	exit 1
fi
exit 0
