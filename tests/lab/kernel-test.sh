#!/bin/sh
# Prepare the lab's test kernel: linux-source-6.12 + tinyconfig + the
# checked-in fragment test-kernel.config (type1 AND iommufd, mdev samples).
#
# Usage: kernel-test.sh
# Prints KEY=VALUE lines on stdout (BZIMAGE, MODDIR, KDIR, KVER, IOMMUFD,
# FLAVOUR); progress goes to stderr. The result is cached under
# ${VFIOD_LAB_CACHE:-$HOME/.cache/vfiod-lab}/test-<key>, the key being a hash
# of the source package version, the fragment, this script and the compiler
# version: a hit costs nothing, a miss builds (~5 min on 2 cores).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lab-lib.sh"

tarball=/usr/src/linux-source-6.12.tar.xz
fragment=$here/test-kernel.config
[ -r "$tarball" ] || lab_die "$tarball missing (apt-get install linux-source-6.12, see tests/setup.sh)"
srcver=$(dpkg-query -W -f '${Version}' linux-source-6.12 2>/dev/null) ||
	lab_die "linux-source-6.12 is not installed"

key=$(lab_hash "$srcver" "$(lab_gcc_version)" -- "$fragment" "$0" "$here/lab-lib.sh")
out=$LAB_CACHE/test-$key

# Fast path: no lock needed to read a finished, immutable result.
if [ -f "$out/kernel.env" ]; then
	cat "$out/kernel.env"
	exit 0
fi

lab_lock "$LAB_CACHE/locks/test-$key.lock"
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
lab_log "building test kernel $key (log: $log)"
start=$(date +%s)

kmake() {
	nice -n 10 make -C "$src" O="$build" ARCH=x86_64 -j"$(lab_jobs)" "$@" >>"$log" 2>&1 ||
		{ tail -n 40 "$log" >&2; lab_die "make $* failed (full log: $log)"; }
}

kmake tinyconfig
(cd "$build" && "$src/scripts/kconfig/merge_config.sh" -m -O "$build" .config "$fragment") >>"$log" 2>&1 ||
	lab_die "merge_config failed (log: $log)"
kmake olddefconfig

# Kconfig drops a symbol whose dependencies are unmet without a word; a
# kernel missing e.g. IOMMUFD would only fail much later inside a guest.
bad=""
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
done <"$fragment"
[ -z "$bad" ] || lab_die "fragment symbols not in the final .config:$bad (log: $log)"

kmake bzImage modules
kver=$(cat "$build/include/config/kernel.release")
mods=$out/modroot
kmake INSTALL_MOD_PATH="$mods" DEPMOD=/sbin/depmod modules_install
# The build/source links point at the build tree; the guest does not need them.
rm -f "$mods/lib/modules/$kver/build" "$mods/lib/modules/$kver/source"
cp "$build/arch/x86/boot/bzImage" "$out/bzImage"

lab_log "test kernel $kver built in $(( $(date +%s) - start )) s"
{
	echo "FLAVOUR=test"
	echo "KVER=$kver"
	echo "BZIMAGE=$out/bzImage"
	echo "MODDIR=$mods/lib/modules/$kver"
	echo "KDIR=$build"
	echo "IOMMUFD=1"
} >"$out/kernel.env.tmp"
mv "$out/kernel.env.tmp" "$out/kernel.env"
cat "$out/kernel.env"
