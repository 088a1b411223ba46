#!/bin/sh
# Build the project's out-of-tree kernel modules for one lab kernel.
#
# Usage: build-modules.sh KERNEL_ENV_FILE SOURCE_ROOT OUTDIR
# For each of kernel/ (vfiod_mm) and tests/kernel/ (test vGPU) that has a
# Kbuild or Makefile, copy the folder to OUTDIR/.build/<name> (Kbuild writes
# objects next to the sources; the repository stays clean), run
# `make -C $KDIR M=...`, and copy the resulting .ko files to OUTDIR.
# Missing folders are skipped; a build failure is an error. Copies keep
# mtimes, so an unchanged module is neither rebuilt nor recopied.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lab-lib.sh"

[ $# -eq 3 ] || lab_die "usage: $0 KERNEL_ENV_FILE SOURCE_ROOT OUTDIR"
kenv=$1
source_root=$(cd "$2" && pwd)
outdir=$3

KDIR='' KVER=''
. "$kenv"
[ -d "$KDIR" ] || lab_die "$kenv: KDIR missing"
mkdir -p "$outdir"

for sub in kernel tests/kernel; do
	src=$source_root/$sub
	[ -f "$src/Kbuild" ] || [ -f "$src/Makefile" ] || continue
	work=$outdir/.build/$(echo "$sub" | tr / _)
	mkdir -p "$work"
	# Mirror the sources (build products excluded).
	(cd "$src" && find . -type f ! -name '*.o' ! -name '*.ko' ! -name '*.mod*' ! -name '.*.cmd' \
		! -name Module.symvers ! -name modules.order) | while read -r f; do
		mkdir -p "$work/$(dirname "$f")"
		cp -p "$src/$f" "$work/$f"
	done
	log=$work.log
	# kbuild takes seconds even with nothing to do; skip it when neither the
	# sources nor the kernel changed since the last good build.
	fp=$({ cat "$kenv"; cd "$src" && find . -type f -printf '%P %s %T@\n' | LC_ALL=C sort; } | sha256sum)
	if [ "$(cat "$work.fingerprint" 2>/dev/null)" = "$fp" ]; then
		find "$work" -maxdepth 1 -name '*.ko' -exec cp -p {} "$outdir/" \;
		continue
	fi
	rm -f "$work.fingerprint"
	if ! nice -n 10 make -C "$KDIR" M="$work" -j"$(lab_jobs)" modules >"$log" 2>&1; then
		cat "$log" >&2
		lab_die "building $sub for $KVER failed"
	fi
	grep -E 'warning:' "$log" >&2 || true
	find "$work" -maxdepth 1 -name '*.ko' -exec cp -p {} "$outdir/" \;
	echo "$fp" >"$work.fingerprint"
done
