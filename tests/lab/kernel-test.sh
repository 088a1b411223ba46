#!/bin/sh
# Prepare a lab test kernel: Debian's linux-source-SERIES + tinyconfig + the
# checked-in fragment test-kernel.config (type1 AND iommufd, mdev samples),
# plus test-kernel-SERIES.config when the series needs symbols of its own.
#
# Usage: kernel-test.sh [FLAVOUR SERIES]
#   no arguments: FLAVOUR=test SERIES=6.12 (the `test` kernel; the source
#   package is the host's, tests/setup.sh); kernel-modern.sh runs
#   `kernel-test.sh modern 7.3` (linux-source.sh fetches that source from
#   trixie-backports into the cache).
# Prints KEY=VALUE lines on stdout (BZIMAGE, MODDIR, KDIR, KVER, IOMMUFD,
# FLAVOUR); progress goes to stderr. The result is cached under
# ${VFIOD_LAB_CACHE:-$HOME/.cache/vfiod-lab}/FLAVOUR-<key>, the key being a
# hash of the flavour, the source package version, the fragments, this
# script and the compiler version: a hit costs nothing, a miss builds (~5
# min on 2 cores).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lab-lib.sh"

case $# in
0) flavour=test series=6.12 ;;
2) flavour=$1 series=$2 ;;
*) lab_die "usage: $0 [FLAVOUR SERIES]" ;;
esac

srcenv=$("$here/linux-source.sh" "$series") || lab_die "no linux-source-$series"
tarball=$(echo "$srcenv" | sed -n 's/^LINUX_SOURCE_TARBALL=//p')
srcver=$(echo "$srcenv" | sed -n 's/^LINUX_SOURCE_VERSION=//p')
if [ ! -r "$tarball" ] || [ -z "$srcver" ]; then lab_die "linux-source.sh $series gave no tarball"; fi
fragments=$here/test-kernel.config
[ ! -f "$here/test-kernel-$series.config" ] || fragments="$fragments $here/test-kernel-$series.config"

# shellcheck disable=SC2086 # paths without spaces
key=$(lab_hash "$flavour" "$srcver" "$(lab_gcc_version)" -- $fragments "$0" "$here/lab-lib.sh")
out=$LAB_CACHE/$flavour-$key

# Fast path: no lock needed to read a finished, immutable result.
if [ -f "$out/kernel.env" ]; then
	cat "$out/kernel.env"
	exit 0
fi

lab_lock "$LAB_CACHE/locks/$flavour-$key.lock"
if [ -f "$out/kernel.env" ]; then
	cat "$out/kernel.env"
	exit 0
fi

# One pristine source tree per source package version, shared by all
# configurations; each configuration builds out of tree (O=) into its own
# folder, which then doubles as KDIR for out-of-tree modules.
src=$LAB_CACHE/linux-source-$srcver
if [ ! -f "$src/.extracted" ]; then
	# Its own lock: builds of other configurations share this tree.
	(
		flock 8
		if [ ! -f "$src/.extracted" ]; then
			lab_log "extracting $tarball (once per source version)"
			rm -rf "$src" "$src.tmp"
			mkdir -p "$src.tmp"
			tar -xJf "$tarball" -C "$src.tmp" --strip-components=1
			touch "$src.tmp/.extracted"
			mv "$src.tmp" "$src"
		fi
	) 8>"$LAB_CACHE/locks/linux-source-$srcver.lock" || lab_die "extracting $tarball failed"
fi

rm -rf "$out"
build=$out/build
mkdir -p "$build"
log=$out/build.log
lab_log "building the $flavour kernel from linux-source $srcver, $key (log: $log)"
start=$(date +%s)

kmake() {
	nice -n 10 make -C "$src" O="$build" ARCH=x86_64 -j"$(lab_jobs)" "$@" >>"$log" 2>&1 ||
		{ tail -n 40 "$log" >&2; lab_die "make $* failed (full log: $log)"; }
}

kmake tinyconfig
# shellcheck disable=SC2086 # paths without spaces
(cd "$build" && "$src/scripts/kconfig/merge_config.sh" -m -O "$build" .config $fragments) >>"$log" 2>&1 ||
	lab_die "merge_config failed (log: $log)"
kmake olddefconfig

# Kconfig drops a symbol whose dependencies are unmet without a word; a
# kernel missing e.g. IOMMUFD would only fail much later inside a guest.
# Every symbol of every fragment is checked; where the series' fragment
# sets a symbol again, its value (the one merge_config kept) is checked.
bad=""
# shellcheck disable=SC2086 # paths without spaces
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*) ;;
	*) continue ;;
	esac
	sym=${line%%=*}
	want=${line#*=}
	case "$want" in
	n)
		if grep -Eq "^$sym=(y|m)$" "$build/.config"; then bad="$bad $sym=$want"; fi ;;
	*)
		if ! grep -qx "$sym=$want" "$build/.config"; then bad="$bad $sym=$want"; fi ;;
	esac
done <<EOF
$(awk -F= '/^CONFIG_[A-Za-z0-9_]*=/ { if (!($1 in v)) order[++n] = $1; v[$1] = $0 }
	END { for (i = 1; i <= n; i++) print v[order[i]] }' $fragments)
EOF
[ -z "$bad" ] || lab_die "fragment symbols not in the final .config:$bad (log: $log)"

kmake bzImage modules
kver=$(cat "$build/include/config/kernel.release")
mods=$out/modroot
kmake INSTALL_MOD_PATH="$mods" DEPMOD=/sbin/depmod modules_install
# The build/source links point at the build tree; the guest does not need them.
rm -f "$mods/lib/modules/$kver/build" "$mods/lib/modules/$kver/source"
cp "$build/arch/x86/boot/bzImage" "$out/bzImage"

lab_log "$flavour kernel $kver built in $(( $(date +%s) - start )) s"
{
	echo "FLAVOUR=$flavour"
	echo "KVER=$kver"
	echo "BZIMAGE=$out/bzImage"
	echo "MODDIR=$mods/lib/modules/$kver"
	echo "KDIR=$build"
	echo "IOMMUFD=1"
} >"$out/kernel.env.tmp"
mv "$out/kernel.env.tmp" "$out/kernel.env"
cat "$out/kernel.env"
