# Sourced by the runners of guests that boot a Debian 12 rootfs with
# systemd as PID 1 and the project installed as a package would be
# (run-systemd-boot.sh, run-libvirt-test.sh), after runner-lib.sh. The
# caller sets build_root, source_root, lab, work and defines say(); the
# functions exit the runner on failure, with one line saying why.

# sg_require [KERNEL]: the tools and privileges every such guest needs,
# and KERNEL (distro, the default; test: the lab's own, with iommufd;
# modern: the same built from 7.3, the trixie world's) selected by
# VFIOD_LAB_KERNELS when that is set; exits 77 otherwise.
# Sets SG_KERNEL.
sg_require() {
	SG_KERNEL=${1:-distro}
	for tool in qemu-system-x86_64 cpio timeout flock debootstrap zstd jq; do
		command -v "$tool" >/dev/null 2>&1 || { say "SKIP: $tool not installed (tests/setup.sh)"; exit 77; }
	done
	[ "$(id -u)" -eq 0 ] || { say "SKIP: needs root (debootstrap, device nodes in the image)"; exit 77; }
	case "$SG_KERNEL" in
	distro | test | modern) ;;
	*) say "unknown kernel '$SG_KERNEL'"; exit 1 ;;
	esac
	case " $(echo "${VFIOD_LAB_KERNELS:-$SG_KERNEL}" | tr ',' ' ') " in
	*" $SG_KERNEL "*) ;;
	*) say "SKIP: the $SG_KERNEL kernel is not selected (VFIOD_LAB_KERNELS)"; exit 77 ;;
	esac
}

# sg_prepare ROOTFS_SCRIPT: the kernel sg_require chose, the rootfs the
# script builds (cached) and the out-of-tree modules; sets KVER MODDIR
# BZIMAGE ROOTFS
sg_prepare() {
	_sg_kenv=$work/$SG_KERNEL.env
	"$lab/kernel-$SG_KERNEL.sh" >"$_sg_kenv.sg.$$" ||
		{ rm -f "$_sg_kenv.sg.$$"; say "preparing the $SG_KERNEL kernel failed"; exit 1; }
	_sg_rootfs_env=$("$lab/$1") || { say "preparing the rootfs ($1) failed"; exit 1; }
	ROOTFS=
	eval "$_sg_rootfs_env"
	[ -d "$ROOTFS" ] || { say "$1 gave no ROOTFS"; exit 1; }
	# the same folder and lock as run-vm-test.sh
	(
		flock 8
		mv "$_sg_kenv.sg.$$" "$_sg_kenv"
		"$lab/build-modules.sh" "$_sg_kenv" "$source_root" "$work/$SG_KERNEL-modules"
	) 8>"$work/$SG_KERNEL.lock" || { say "building the modules failed"; exit 1; }
	KVER='' MODDIR='' BZIMAGE=''
	. "$_sg_kenv"
}

# sg_stage STAGE PROGRAM...: the rootfs, the project installed with vfiod
# enabled as an admin would, the libraries PROGRAMs (and jq) need that the
# rootfs lacks (the host's: Debian 12's too; each one copied is named on
# the runner's output, so a soname the rootfs spells differently shows
# there), the kernel modules (the
# lab's selection plus the project's, under the merged /usr), mtty loaded
# at boot, and a console without getty
sg_stage() {
	_sg_stage=$1
	shift
	cp -a "$ROOTFS/." "$_sg_stage/"
	meson install -C "$build_root" --quiet --destdir "$_sg_stage" >"$work/$name-install.log" 2>&1 ||
		{ cat "$work/$name-install.log"; say "meson install failed"; exit 1; }
	_sg_unit=$(find "$_sg_stage" -path '*/systemd/system/vfiod.service' | head -n1)
	[ -n "$_sg_unit" ] || { say "meson install put no vfiod.service into the image"; exit 1; }
	_sg_unitdir=${_sg_unit%/vfiod.service}
	mkdir -p "$_sg_stage/etc/systemd/system/multi-user.target.wants"
	ln -sf "${_sg_unitdir#"$_sg_stage"}/vfiod.service" \
		"$_sg_stage/etc/systemd/system/multi-user.target.wants/vfiod.service"
	ln -sf "${_sg_unitdir#"$_sg_stage"}/vfiod.service" "$_sg_stage/etc/systemd/system/dbus-org.vfiod1.service"
	# dbus-daemon reads policies from /usr/share and /etc only: a /usr/local
	# prefix (meson's default) needs the admin's link, as any /usr/local service
	_sg_policy=$(find "$_sg_stage" -name org.vfiod1.conf -path '*dbus-1/system.d*' | head -n1)
	[ -n "$_sg_policy" ] || { say "meson install put no bus policy into the image"; exit 1; }
	case "$_sg_policy" in
	"$_sg_stage/usr/share/dbus-1/system.d/"*) ;;
	*) mkdir -p "$_sg_stage/etc/dbus-1/system.d" && cp "$_sg_policy" "$_sg_stage/etc/dbus-1/system.d/" ;;
	esac

	for _sg_prog in "$@"; do
		find "$_sg_stage/usr" -type f -name "$_sg_prog"
	done >"$work/$name-programs"
	for _sg_exe in $(cat "$work/$name-programs") /usr/bin/jq; do
		ldd "$_sg_exe" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | while read -r _sg_lib; do
			[ -e "$_sg_stage$_sg_lib" ] || [ -e "$_sg_stage/usr$_sg_lib" ] || {
				say "the rootfs lacks $_sg_lib (in the host's ldd of ${_sg_exe##*/}): the host's copied"
				cp -L "$_sg_lib" "$_sg_stage/usr/lib/x86_64-linux-gnu/"
			}
		done
	done
	rm -f "$work/$name-programs"
	cp /usr/bin/jq "$_sg_stage/usr/bin/jq"

	mkdir -p "$_sg_stage/usr/lib/modules"
	cp -R "$MODDIR" "$_sg_stage/usr/lib/modules/$KVER"
	mkdir -p "$_sg_stage/usr/lib/modules/$KVER/extra/vfiod" "$_sg_stage/opt/vfiod/modules"
	# The lab's VFIO variant for edu (a vfio_pci: alias) goes into the
	# module index only where the runner asks (SG_VARIANT_DRIVERS=yes:
	# vm-systemd-boot): indexed, vfiod would choose it for edu by alias
	# once modprobe@ loaded it, so edu's driver would change between the
	# claims of one case. Elsewhere it is kept out of the index, in
	# /opt/vfiod/modules.
	for _sg_ko in "$work/$SG_KERNEL-modules"/*.ko; do
		[ -e "$_sg_ko" ] || continue
		if [ "${SG_VARIANT_DRIVERS:-no}" != yes ] &&
			/usr/sbin/modinfo -F alias "$_sg_ko" | grep -q '^vfio_pci:'; then
			cp "$_sg_ko" "$_sg_stage/opt/vfiod/modules/"
		else
			cp "$_sg_ko" "$_sg_stage/usr/lib/modules/$KVER/extra/vfiod/"
		fi
	done
	depmod -b "$_sg_stage" "$KVER"
	# the mdev parent the cases use; vfio-pci and vfiod_mm come from vfiod's own file
	mkdir -p "$_sg_stage/etc/modules-load.d"
	echo mtty >"$_sg_stage/etc/modules-load.d/vfiod-lab.conf"

	# nothing to log in to; a root-less console keeps the serial log readable
	rm -f "$_sg_stage/etc/systemd/system/getty.target.wants/"* 2>/dev/null
	ln -sf /dev/null "$_sg_stage/etc/systemd/system/serial-getty@ttyS0.service"
	echo "vfiod-lab" >"$_sg_stage/etc/hostname"
	: >"$_sg_stage/etc/machine-id"
}

# sg_enable_unit STAGE FILE: a unit of the test, started at boot
sg_enable_unit() {
	cp "$2" "$1/etc/systemd/system/"
	ln -sf "/etc/systemd/system/${2##*/}" "$1/etc/systemd/system/multi-user.target.wants/${2##*/}"
}

# sg_image STAGE IMG: the initramfs is the root file system (the kernel runs /init)
sg_image() {
	ln -sf /lib/systemd/systemd "$1/init"
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | zstd -q -3 -T2 >"$2.tmp")
	mv "$2.tmp" "$2"
}

# sg_boot IMG LOG MEMORY_MIB: boots the guest under systemd (boot_guest:
# booted once more when its kernel died before the first testcase); sets
# QEMU_RC
sg_boot() {
	boot_guest "$2" env VFIOD_LAB_MEM="${VFIOD_LAB_MEM:-$3}" "$lab/qemu.sh" \
		--timeout "${VFIOD_LAB_TIMEOUT:-900}" \
		--append "systemd.show_status=0 systemd.unit=multi-user.target" "$BZIMAGE" "$1"
}

# sg_verdict LOG: exits 1 with the log when QEMU, the DONE marker or a
# testcase says so; returns otherwise
sg_verdict() {
	_sg_bad=""
	case "$QEMU_RC" in
	0) ;;
	124 | 137) _sg_bad="qemu killed after ${VFIOD_LAB_TIMEOUT:-900} s" ;;
	*) _sg_bad="qemu exited with $QEMU_RC" ;;
	esac
	[ -n "$DONE_RC" ] || _sg_bad="${_sg_bad:+$_sg_bad; }guest did not finish (no DONE marker)"
	[ "$FAILED" -eq 0 ] || _sg_bad="${_sg_bad:+$_sg_bad; }$FAILED testcase(s) failed"
	if [ -n "$_sg_bad" ]; then
		say "FAIL: $_sg_bad; guest log $1:"
		cat "$1"
		exit 1
	fi
}
