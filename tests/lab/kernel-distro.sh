#!/bin/sh
# Prepare the lab's distribution kernel: Debian's linux-image-6.12.N+deb12
# (type1 + mdev, no iommufd), unpacked into the cache, never installed.
#
# Usage: kernel-distro.sh
# Prints KEY=VALUE lines on stdout (BZIMAGE, MODDIR, KDIR, KVER, IOMMUFD,
# FLAVOUR); progress goes to stderr.
#
# The newest 6.12 ABI the apt lists offer is chosen at run time (old ABIs
# leave the archive); VFIOD_LAB_DISTRO_ABI=6.12.N+deb12 pins one. The cache
# key covers the package version, this script, the compiler and the
# linux-source version the mdev samples are built from.
#
# Debian does not ship the mdev samples (mtty, mdpy, mbochs): they are built
# here out of tree from linux-source-6.12's samples/vfio-mdev against the
# package's headers and installed next to the distro modules.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lab-lib.sh"

# Modules the guest may load; their dependency closure is added. Everything
# else of the ~4000 distro modules stays out of the initramfs.
WANT_MODULES="vfio vfio_iommu_type1 vfio-pci vfio-pci-core mdev irqbypass e1000e nvme i2c-i801"

newest_abi() {
	apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' 2>/dev/null |
		sed -n 's/^linux-image-\(6\.12\.[0-9]*+deb12\)-amd64-unsigned .*/\1/p' |
		sort -V | tail -n1
}

# Asking apt costs seconds per test; the answer only changes when the apt
# lists do, so it is remembered together with the lists' mtime.
lists_mtime=$(stat -c %Y /var/lib/apt/lists 2>/dev/null || echo 0)
lookup=$LAB_CACHE/distro-lookup
abi="" pkgver=""
if [ -z "${VFIOD_LAB_DISTRO_ABI:-}" ] && [ -f "$lookup" ]; then
	read -r l_mtime l_abi l_pkgver <"$lookup" || true
	if [ "$l_mtime" = "$lists_mtime" ]; then
		abi=$l_abi
		pkgver=$l_pkgver
	fi
fi
[ -n "$abi" ] || abi=${VFIOD_LAB_DISTRO_ABI:-$(newest_abi)}
if [ -z "$abi" ]; then
	# No apt lists (offline box): fall back to the newest kernel prepared before.
	env=$(ls -1d "$LAB_CACHE"/distro-*/kernel.env 2>/dev/null | sort -V | tail -n1 || true)
	[ -n "$env" ] || lab_die "no linux-image-6.12.*+deb12-amd64-unsigned in the apt lists (apt-get update?)"
	lab_log "apt lists offer no 6.12 kernel; using cached $(dirname "$env")"
	cat "$env"
	exit 0
fi
kver=$abi-amd64
image_pkg=linux-image-$kver-unsigned
if [ -z "$pkgver" ]; then
	pkgver=$(apt-cache show --no-all-versions "$image_pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -n1)
	[ -n "$pkgver" ] || lab_die "$image_pkg not found by apt-cache"
	if [ -z "${VFIOD_LAB_DISTRO_ABI:-}" ]; then
		mkdir -p "$LAB_CACHE"
		echo "$lists_mtime $abi $pkgver" >"$lookup.$$"
		mv "$lookup.$$" "$lookup"
	fi
fi
srcver=$(dpkg-query -W -f '${Version}' linux-source-6.12 2>/dev/null) ||
	lab_die "linux-source-6.12 is not installed (needed for the mdev samples)"

key=$(lab_hash "$image_pkg" "$pkgver" "$srcver" "$(lab_gcc_version)" -- "$0" "$here/lab-lib.sh")
out=$LAB_CACHE/distro-$abi-$key

if [ -f "$out/kernel.env" ]; then
	cat "$out/kernel.env"
	exit 0
fi
lab_lock "$LAB_CACHE/locks/distro-$abi-$key.lock"
if [ -f "$out/kernel.env" ]; then
	cat "$out/kernel.env"
	exit 0
fi

start=$(date +%s)
rm -rf "$out"
mkdir -p "$out/debs" "$out/root"
log=$out/prepare.log
lab_log "preparing distro kernel $kver ($pkgver) in $out"

# apt-get download drops privileges to _apt for the fetch; give it a folder
# it may write to, or it warns and falls back to root.
chmod 0777 "$out/debs"
(cd "$out/debs" && apt-get download -q "$image_pkg" "linux-headers-$kver" \
	"linux-headers-$abi-common" "linux-kbuild-$abi") >>"$log" 2>&1 ||
	{ tail -n 20 "$log" >&2; lab_die "apt-get download failed"; }
for deb in "$out"/debs/*.deb; do
	dpkg-deb -x "$deb" "$out/root"
done

# The -amd64 headers include the -common ones by absolute /usr/src path.
hdr=$out/root/usr/src/linux-headers-$kver
common=$out/root/usr/src/linux-headers-$abi-common
[ -f "$hdr/Makefile" ] && [ -f "$common/Makefile" ] || lab_die "unexpected headers layout"
sed -i "s|^include /usr/src/linux-headers-$abi-common/Makefile\$|include $common/Makefile|" "$hdr/Makefile"
grep -q "^include $common/Makefile\$" "$hdr/Makefile" || lab_die "could not rewrite $hdr/Makefile"

# Module selection: depmod the full (compressed) tree once, let modprobe
# resolve the closure, and copy that closure decompressed into a small tree.
full=$out/root
depmod -b "$full" "$kver"
mods=$out/modroot
moddir=$mods/lib/modules/$kver
mkdir -p "$moddir"
for m in $WANT_MODULES; do
	modprobe -d "$full" -S "$kver" --show-depends "$m" | while read -r kind path _; do
		[ "$kind" = insmod ] || continue
		rel=${path#"$full/lib/modules/$kver/"}
		dst=$moddir/${rel%.xz}
		[ -f "$dst" ] && continue
		mkdir -p "$(dirname "$dst")"
		xz -dc "$path" >"$dst"
	done
done
for f in modules.builtin modules.builtin.modinfo modules.order; do
	[ -f "$full/lib/modules/$kver/$f" ] && cp "$full/lib/modules/$kver/$f" "$moddir/"
done

# mdev samples, out of tree against the package's headers.
samples=$out/samples
mkdir -p "$samples"
tar -xJf /usr/src/linux-source-6.12.tar.xz -C "$samples" --strip-components=3 \
	linux-source-6.12/samples/vfio-mdev
nice -n 10 make -C "$hdr" M="$samples" -j"$(lab_jobs)" \
	CONFIG_SAMPLE_VFIO_MDEV_MTTY=m CONFIG_SAMPLE_VFIO_MDEV_MDPY=m \
	CONFIG_SAMPLE_VFIO_MDEV_MBOCHS=m modules >>"$log" 2>&1 ||
	{ tail -n 30 "$log" >&2; lab_die "building the mdev samples failed (log: $log)"; }
mkdir -p "$moddir/extra"
for m in mtty mdpy mbochs; do
	cp "$samples/$m.ko" "$moddir/extra/"
done
depmod -b "$mods" "$kver"

cp "$full/boot/vmlinuz-$kver" "$out/bzImage"
# The unpacked module tree and the .debs are not needed any more.
rm -rf "$full/lib/modules" "$out/debs"

lab_log "distro kernel $kver ready in $(( $(date +%s) - start )) s"
{
	echo "FLAVOUR=distro"
	echo "KVER=$kver"
	echo "BZIMAGE=$out/bzImage"
	echo "MODDIR=$moddir"
	echo "KDIR=$hdr"
	echo "IOMMUFD=0"
} >"$out/kernel.env.tmp"
mv "$out/kernel.env.tmp" "$out/kernel.env"
cat "$out/kernel.env"
