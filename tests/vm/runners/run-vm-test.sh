#!/bin/sh
# Host side of a nested-VM test (meson suite `vm`).
#
# Usage: run-vm-test.sh BUILD_ROOT SOURCE_ROOT TEST_NAME
# For every kernel named on the `# vfiod-kernels:` line of
# tests/vm/cases/TEST_NAME.sh (distro, test, modern), restricted by
# $VFIOD_LAB_KERNELS if set: prepare the kernel (cached), build the
# out-of-tree modules and the initramfs for it, boot the lab under QEMU TCG,
# and read the guest's markers. Exit 0 pass, 1 fail (guest log printed),
# 77 skip (no kernel available, or every testcase skipped).
#
# Guest logs: BUILD_ROOT/meson-logs/vm/TEST_NAME-KERNEL.log
set -u

[ $# -eq 3 ] || { echo "usage: $0 BUILD_ROOT SOURCE_ROOT TEST_NAME" >&2; exit 2; }
build_root=$(cd "$1" && pwd)
source_root=$(cd "$2" && pwd)
name=$3
lab=$source_root/tests/lab
case_file=$source_root/tests/vm/cases/$name.sh

say() {
	echo "run-vm-test: $*"
}
. "$source_root/tests/vm/runners/runner-lib.sh"

[ -f "$case_file" ] || { say "no case file $case_file"; exit 1; }
for tool in qemu-system-x86_64 cpio timeout flock; do
	command -v "$tool" >/dev/null 2>&1 || { say "SKIP: $tool not installed (tests/setup.sh)"; exit 77; }
done
[ -x /bin/busybox ] || { say "SKIP: busybox-static not installed (tests/setup.sh)"; exit 77; }

# Optional `# vfiod-boot:` words: no-iommu (boot without the vIOMMU and with
# intel_iommu=off, e.g. for the kernel's iommufd selftest mock domains).
qemu_opts=""
for w in $(sed -n 's/^#[[:space:]]*vfiod-boot:[[:space:]]*//p' "$case_file" | head -n1); do
	case "$w" in
	no-iommu) qemu_opts="$qemu_opts --no-iommu" ;;
	*) say "unknown vfiod-boot word '$w' in $case_file"; exit 1 ;;
	esac
done

# Optional `# vfiod-extra:` words: qemu10 (vm-ownership-qemu) appends QEMU 10
# (tests/lab/qemu10.sh, /opt/qemu10 in the guest) to this case's initramfs
# only, so the image shared by the other cases does not grow.
extras=$(sed -n 's/^#[[:space:]]*vfiod-extra:[[:space:]]*//p' "$case_file" | head -n1)
for w in $extras; do
	case "$w" in
	qemu10) ;;
	*) say "unknown vfiod-extra word '$w' in $case_file"; exit 1 ;;
	esac
done

# Optional `# vfiod-l0: qemu10`: the lab's emulator (L0) is QEMU 10
# (tests/lab/qemu10.sh, unpacked in the lab cache) instead of the host's
# QEMU 7.2, for devices 7.2 lacks. Every other case keeps 7.2.
l0=$(sed -n 's/^#[[:space:]]*vfiod-l0:[[:space:]]*//p' "$case_file" | head -n1 | awk '{ print $1 }')
case "$l0" in
"" | qemu72) l0="" ;;
qemu10) qemu_opts="$qemu_opts --l0 qemu10" ;;
*) say "unknown vfiod-l0 '$l0' in $case_file"; exit 1 ;;
esac

# Optional `# vfiod-devices:` words: more emulated devices, each behind a
# root port of its own (tests/lab/qemu.sh --device), and the modules their
# drivers need appended to this case's initrd only
# (tests/lab/kernel-modules-extra.sh; the guest runs depmod for them).
#   igb: an 82576 SR-IOV PF (8086:10c9, up to 7 VFs 8086:10ca); QEMU 8 or
#        later (`# vfiod-l0: qemu10`); modules igb and igbvf
device_modules=""
devices=$(sed -n 's/^#[[:space:]]*vfiod-devices:[[:space:]]*//p' "$case_file" | head -n1)
for w in $devices; do
	case "$w" in
	igb)
		[ "$l0" = qemu10 ] || { say "device igb needs '# vfiod-l0: qemu10' in $case_file"; exit 1; }
		device_modules="$device_modules igb igbvf"
		;;
	*) say "unknown vfiod-devices word '$w' in $case_file"; exit 1 ;;
	esac
	qemu_opts="$qemu_opts --device $w"
done

# Optional `# vfiod-timeouts: case=SECS boot=SECS`: a case that runs longer
# than the defaults (300 s per testcase, 600 s per boot) says so; the
# VFIOD_LAB_CASE_TIMEOUT and VFIOD_LAB_TIMEOUT of the caller still win.
case_timeout=300 boot_timeout=600
for w in $(sed -n 's/^#[[:space:]]*vfiod-timeouts:[[:space:]]*//p' "$case_file" | head -n1); do
	case "$w" in
	case=[1-9]*) case_timeout=${w#case=} ;;
	boot=[1-9]*) boot_timeout=${w#boot=} ;;
	*) say "unknown vfiod-timeouts word '$w' in $case_file"; exit 1 ;;
	esac
done
case_timeout=${VFIOD_LAB_CASE_TIMEOUT:-$case_timeout}
boot_timeout=${VFIOD_LAB_TIMEOUT:-$boot_timeout}

# VFIOD_LAB_GUEST_ENV="NAME=VALUE ...": variables for the case in the guest
# (bench/soak.sh: VFIOD_SOAK_CYCLES). The kernel hands a command-line word
# NAME=VALUE without a dot to init's environment, which the testcases
# inherit; names are VFIOD_*, values plain words.
guest_env=""
for w in ${VFIOD_LAB_GUEST_ENV:-}; do
	case "$w" in
	VFIOD_*=*[!A-Za-z0-9_,:+-]* | *=*=* | VFIOD_*[!A-Z0-9_]*=*)
		say "VFIOD_LAB_GUEST_ENV: '$w' is not VFIOD_NAME=WORD (letters, digits, _,:+-)"; exit 1 ;;
	VFIOD_?*=*) guest_env="$guest_env $w" ;;
	*) say "VFIOD_LAB_GUEST_ENV: '$w' is not VFIOD_NAME=WORD"; exit 1 ;;
	esac
done

kernels=$(sed -n 's/^#[[:space:]]*vfiod-kernels:[[:space:]]*//p' "$case_file" | head -n1)
[ -n "$kernels" ] || kernels="distro test"
if [ -n "${VFIOD_LAB_KERNELS:-}" ]; then
	sel=""
	for k in $kernels; do
		case " $(echo "$VFIOD_LAB_KERNELS" | tr ',' ' ') " in
		*" $k "*) sel="$sel $k" ;;
		esac
	done
	kernels=$sel
fi
if [ -z "$(echo "$kernels" | tr -d ' ')" ]; then
	say "SKIP: none of the case's kernels selected (VFIOD_LAB_KERNELS=${VFIOD_LAB_KERNELS:-})"
	exit 77
fi

logdir=$build_root/meson-logs/vm
work=$build_root/vm-lab
mkdir -p "$logdir" "$work"

npass=0 nfail=0 nskip=0
overall=0
for k in $kernels; do
	case "$k" in
	distro | test | modern) ;;
	*) say "unknown kernel '$k' in $case_file"; overall=1; continue ;;
	esac
	log=$logdir/$name-$k.log
	t0=$(date +%s)

	kenv=$work/$k.env
	if ! "$lab/kernel-$k.sh" >"$kenv.$$"; then
		rm -f "$kenv.$$"
		say "preparing the $k kernel failed"
		overall=1
		continue
	fi
	t1=$(date +%s)

	# Modules and initramfs are per kernel, shared by every vm test of this
	# build: the lock makes parallel tests wait for one builder, and the
	# fingerprint in make-initramfs.sh makes the later ones free.
	(
		flock 8
		mv "$kenv.$$" "$kenv"
		"$lab/build-modules.sh" "$kenv" "$source_root" "$work/$k-modules" &&
			"$lab/make-initramfs.sh" "$kenv" "$build_root" "$source_root" \
				"$work/$k-initramfs.img" "$work/$k-modules"
	) 8>"$work/$k.lock"
	if [ $? -ne 0 ]; then
		say "building modules/initramfs for $k failed"
		overall=1
		continue
	fi
	# With extras: the base image and one cpio per extra, concatenated (the
	# kernel unpacks every archive of the initrd in turn).
	initrd=$work/$k-initramfs.img
	if [ -n "$extras$devices" ]; then
		combined=$work/$k-initramfs+$(echo $extras $devices | tr ' ' '+').img
		if ! (
			flock 8
			parts=$initrd
			for w in $extras; do
				"$lab/$w.sh" --cpio "$work/extra-$w.cpio" >/dev/null || exit 1
				parts="$parts $work/extra-$w.cpio"
			done
			if [ -n "$device_modules" ]; then
				mods_cpio=$work/$k-extra-modules-$(echo $devices | tr ' ' '+').cpio
				# shellcheck disable=SC2086 # module names
				"$lab/kernel-modules-extra.sh" "$kenv" "$mods_cpio" $device_modules || exit 1
				parts="$parts $mods_cpio"
			fi
			# shellcheck disable=SC2086 # paths without spaces
			cat $parts >"$combined.tmp" && mv "$combined.tmp" "$combined"
		) 8>"$work/extra.lock"; then
			say "preparing the extra image parts ($extras $devices) failed"
			overall=1
			continue
		fi
		initrd=$combined
	fi
	t2=$(date +%s)

	BZIMAGE=
	. "$kenv"
	# shellcheck disable=SC2086 # qemu_opts: words without spaces
	boot_guest "$log" "$lab/qemu.sh" $qemu_opts --timeout "$boot_timeout" \
		--append "vfiod.case=$name vfiod.case_timeout=$case_timeout$guest_env" \
		"$BZIMAGE" "$initrd"
	t3=$(date +%s)

	read_markers "$log"
	done_rc=$DONE_RC p=$PASSED f=$FAILED s=$SKIPPED
	say "$k: kernel ${KVER:-?}: prepare $((t1 - t0)) s, modules+initramfs $((t2 - t1)) s," \
		"boot to ready ${READY:-?} s (guest clock), qemu total $((t3 - t2)) s; $p pass, $f fail, $s skip"

	bad=""
	case "$QEMU_RC" in
	0) ;;
	124 | 137) bad="qemu killed after $boot_timeout s" ;;
	*) bad="qemu exited with $QEMU_RC" ;;
	esac
	[ -n "$done_rc" ] || bad="${bad:+$bad; }guest did not finish (no DONE marker)"
	[ -z "$done_rc" ] || [ "$done_rc" = 0 ] || [ "$f" -gt 0 ] || bad="${bad:+$bad; }guest reported rc $done_rc"
	[ "$f" -eq 0 ] || bad="${bad:+$bad; }$f testcase(s) failed"
	if [ -n "$bad" ]; then
		say "FAIL on $k: $bad; guest log $log:"
		cat "$log"
		overall=1
	fi
	npass=$((npass + p))
	nfail=$((nfail + f))
	nskip=$((nskip + s))
done

# `# vfiod-world: trixie` (vm-modern-smoke): the case's testcases also run
# once in the Debian 13 world (libvirt 12.9, QEMU 11.1, systemd 257 on
# the modern kernel), a guest of its own: run-libvirt-test.sh boots it.
# A testcase says itself in which guest it applies (skip elsewhere).
world=$(sed -n 's/^#[[:space:]]*vfiod-world:[[:space:]]*//p' "$case_file" | head -n1 | awk '{ print $1 }')
case "$world" in
"" | bookworm) ;;
trixie)
	say "second boot: the $world world (tests/vm/runners/run-libvirt-test.sh)"
	"$source_root/tests/vm/runners/run-libvirt-test.sh" "$build_root" "$source_root" "$name"
	case $? in
	0) npass=$((npass + 1)) ;;
	77) nskip=$((nskip + 1)) ;;
	*) overall=1 ;;
	esac
	;;
*) say "unknown world '$world' in $case_file"; overall=1 ;;
esac

if [ "$overall" -ne 0 ]; then
	exit 1
fi
if [ "$npass" -eq 0 ] && [ "$nskip" -gt 0 ]; then
	say "every testcase skipped"
	exit 77
fi
exit 0
