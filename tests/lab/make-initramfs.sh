#!/bin/sh
# Build the lab guest's initramfs: busybox, a real dbus-daemon system bus,
# systemd-udevd, kmod, the kernel's modules, the project's build and tests.
#
# Usage: make-initramfs.sh KERNEL_ENV_FILE BUILD_ROOT SOURCE_ROOT OUT [MODULES_DIR]
#   KERNEL_ENV_FILE  KEY=VALUE output of kernel-distro.sh / kernel-test.sh
#   BUILD_ROOT       meson build folder whose executables (daemon/, cli/,
#                    tests/*/) go to /opt/vfiod/bin ("-" for none)
#   SOURCE_ROOT      repository; tests/ goes to /opt/vfiod/tests, and
#                    tests/vm/guest/guest-init becomes /init
#   OUT              the zstd (or gzip) compressed newc cpio to write
#   MODULES_DIR      out-of-tree .ko files for this kernel (build-modules.sh)
#
# Host programs are copied with the shared libraries ldd resolves for them,
# so the guest runs the very same dbus-daemon/udevd as a Debian 12 host.
# If OUT is newer than every input (same fingerprint), nothing is rebuilt.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lab-lib.sh"

[ $# -ge 4 ] || lab_die "usage: $0 KERNEL_ENV_FILE BUILD_ROOT SOURCE_ROOT OUT [MODULES_DIR]"
kenv=$1
build_root=$2
source_root=$(cd "$3" && pwd)
out=$4
extra_mods=${5:-}
[ "$build_root" = "-" ] && build_root=""
[ -z "$build_root" ] || build_root=$(cd "$build_root" && pwd)

KVER='' MODDIR='' FLAVOUR='' IOMMUFD=''
. "$kenv"
[ -n "$KVER" ] && [ -d "$MODDIR" ] || lab_die "$kenv: KVER/MODDIR missing"

# Host programs for the guest. Missing REQUIRED ones are an error (see
# tests/setup.sh); OPTIONAL ones are only debugging aids.
REQUIRED="/usr/bin/dbus-daemon /usr/bin/udevadm /usr/bin/kmod /usr/bin/dbus-send
/usr/bin/dbus-monitor /usr/bin/setpriv /usr/bin/prlimit /usr/bin/jq"
OPTIONAL="/usr/bin/busctl /usr/bin/strace"
busybox=/bin/busybox

# daemon/, cli/ and every folder of tests/ (reference VMM, vfd-mm-test,
# vfio-probe, ...).
project_dirs() {
	[ -n "$build_root" ] || return 0
	for d in "$build_root/daemon" "$build_root/cli" "$build_root"/tests/*; do
		case "$d" in
		*.p) continue ;; # meson's object folders
		esac
		[ -d "$d" ] && echo "$d"
	done
	return 0
}

# Not xml-canon: the dbus suite's introspection comparer runs on the host
# only, and it links libxml2, which needs ICU (30 MiB of data). Nothing else
# needs libxml2 or libvirt at start (lib/dlopen.c), so neither is in the image.
project_bins() {
	for d in $(project_dirs); do
		find "$d" -maxdepth 1 -type f -perm -u+x ! -name '*.so' ! -name '*.so.*' ! -name '*.sh' \
			! -name xml-canon
	done
}

# Fingerprint: paths, sizes and mtimes of every input, plus this script.
fingerprint() {
	{
		cat "$kenv" "$0" "$here/lab-lib.sh"
		find "$MODDIR" "$here/guest-files" "$source_root/tests" ${extra_mods:+"$extra_mods"} \
			-printf '%p %s %T@\n' 2>/dev/null | LC_ALL=C sort
		for b in $(project_bins) $REQUIRED $OPTIONAL $busybox; do
			[ -e "$b" ] && stat -L -c '%n %s %Y' "$b"
		done
		[ -z "$build_root" ] || find "$build_root" -maxdepth 2 -name '*.so*' -printf '%p %s %T@\n' | LC_ALL=C sort
		# D-Bus policies and udev rules the project ships (see below).
		find "$source_root" \( -name .git -o -name tests -o -name 'build*' \) -prune -o \
			\( -name '*.conf' -o -name '*.rules' \) -type f -printf '%p %s %T@\n' | LC_ALL=C sort
	} | sha256sum | cut -d' ' -f1
}

fp=$(fingerprint)
if [ -f "$out" ] && [ "$(cat "$out.fingerprint" 2>/dev/null)" = "$fp" ]; then
	exit 0
fi

[ -x "$busybox" ] || lab_die "$busybox missing (apt-get install busybox-static)"
for b in $REQUIRED; do
	[ -x "$b" ] || lab_die "$b missing (run tests/setup.sh)"
done

stage=$(mktemp -d "${out}.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
cd "$stage"

# Merged /usr like Debian 12, so ldd's /lib/... paths land in /usr/lib.
mkdir -p usr/bin usr/sbin usr/lib usr/lib64 dev proc sys run tmp root out \
	var/log var/lib/dbus etc/dbus-1/system.d usr/share/dbus-1/system.d \
	usr/lib/udev/rules.d etc/udev/rules.d home/vmm \
	opt/vfiod/bin opt/vfiod/lib opt/vfiod/modules opt/vfiod/tests
ln -s usr/bin bin
ln -s usr/sbin sbin
ln -s usr/lib lib
ln -s usr/lib64 lib64
ln -s ../run var/run

# copy_libs ELF: copy the shared objects ELF needs to the same path in the
# guest; libraries from the build tree go to /opt/vfiod/lib.
copy_libs() {
	ldd "$1" >/dev/null 2>&1 || return 0 # static or not ELF
	if ldd "$1" | grep -q 'not found'; then
		ldd "$1" >&2
		lab_die "unresolved libraries for $1"
	fi
	ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
	while read -r lib; do
		dst=${lib#/}
		if [ -n "$build_root" ]; then
			case "$lib" in
			"$build_root"/*) dst=opt/vfiod/lib/$(basename "$lib") ;;
			esac
		fi
		[ -e "$dst" ] && continue
		mkdir -p "$(dirname "$dst")"
		cp -L "$lib" "$dst"
	done
}

# copy_prog SRC DST: one program plus its libraries.
copy_prog() {
	mkdir -p "$(dirname "$2")"
	cp -L "$1" "$2"
	copy_libs "$1"
}

# busybox first: real programs copied later replace its applet links.
cp "$busybox" usr/bin/busybox
"$busybox" --list-full | while read -r applet; do
	case "$applet" in
	*/init | linuxrc) continue ;;
	esac
	dst=usr/$(echo "$applet" | sed 's|^usr/||')
	[ -e "$dst" ] || [ -L "$dst" ] || ln -s /usr/bin/busybox "$dst"
done

for b in $REQUIRED; do
	rm -f "${b#/}"
	copy_prog "$b" "${b#/}"
done
for b in $OPTIONAL; do
	[ -x "$b" ] || continue
	rm -f "${b#/}"
	copy_prog "$b" "${b#/}"
done
mkdir -p usr/lib/systemd
ln -sf /usr/bin/udevadm usr/lib/systemd/systemd-udevd
for m in modprobe insmod rmmod lsmod modinfo depmod; do
	rm -f "usr/sbin/$m" "usr/bin/$m"
	ln -s /usr/bin/kmod "usr/sbin/$m"
done

# D-Bus: Debian's own system bus configuration, so the project's policy is
# exercised exactly as on a host.
[ -f /usr/share/dbus-1/system.conf ] || lab_die "/usr/share/dbus-1/system.conf missing (dbus-system-bus-common)"
[ -f /usr/lib/udev/rules.d/50-udev-default.rules ] || lab_die "udev rules missing (apt-get install udev)"
cp /usr/share/dbus-1/system.conf usr/share/dbus-1/system.conf
# (-path, not -name: a checkout may itself be named tests or build*)
policies=$(find "$source_root" \( -path "$source_root/.git" -o -path "$source_root/tests" \
	-o -path "$source_root/build*" \) -prune -o \
	-name '*.conf' -type f -exec grep -l '<busconfig' {} + 2>/dev/null |
	while read -r f; do grep -l 'org\.vfiod1' "$f" || true; done)
if [ -n "$policies" ]; then
	for p in $policies; do
		cp "$p" usr/share/dbus-1/system.d/
	done
else
	# No stand-in: without the project's policy vfiod cannot own its name,
	# and the tests must say so.
	lab_log "WARNING: no D-Bus policy for org.vfiod1 in the repository"
fi

# udev: the default rules (device node modes, e.g. /dev/vfio/vfio 0666),
# plus any rules the project ships.
cp /usr/lib/udev/rules.d/50-udev-default.rules usr/lib/udev/rules.d/
find "$source_root" \( -name .git -o -name tests -o -name 'build*' \) -prune -o \
	-name '*.rules' -type f -print | while read -r r; do
	cp "$r" usr/lib/udev/rules.d/
done

cp -R "$here/guest-files/." .

# Kernel modules of the guest kernel.
mkdir -p "usr/lib/modules"
cp -R "$MODDIR" "usr/lib/modules/$KVER"
if [ -n "$extra_mods" ] && [ -d "$extra_mods" ]; then
	find "$extra_mods" -maxdepth 1 -name '*.ko' -exec cp {} opt/vfiod/modules/ \;
	# VFIO variant drivers (those declaring a vfio_pci: alias) also go where
	# modprobe and libkmod look, so that depmod lists their aliases in
	# modules.alias the way a distribution kernel's would. The others stay
	# out of it: their aliases would let the kernel autoload them.
	for ko in "$extra_mods"/*.ko; do
		[ -f "$ko" ] || continue
		if /usr/sbin/modinfo -F alias "$ko" | grep -q '^vfio_pci:'; then
			mkdir -p "usr/lib/modules/$KVER/extra"
			cp "$ko" "usr/lib/modules/$KVER/extra/"
		fi
	done
	/usr/sbin/depmod -b "$stage/usr" "$KVER"
fi
{
	echo "FLAVOUR=$FLAVOUR"
	echo "KVER=$KVER"
	echo "IOMMUFD=$IOMMUFD"
} >etc/vfiod-lab.env

# The project: binaries (and build-tree libraries) and the tests folder.
for b in $(project_bins); do
	copy_prog "$b" "opt/vfiod/bin/$(basename "$b")"
done
cp -R "$source_root/tests/." opt/vfiod/tests/
cp "$source_root/tests/vm/guest/guest-init" init
chmod 0755 init

if command -v zstd >/dev/null 2>&1; then
	compress="zstd -q -3 -T0"
else
	compress="gzip -1"
fi
tmp=$out.tmp.$$
find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | $compress >"$tmp"
mv "$tmp" "$out"
echo "$fp" >"$out.fingerprint"
lab_log "initramfs $out: $(du -k "$out" | cut -f1) KiB ($(du -sk . | cut -f1) KiB unpacked)"
