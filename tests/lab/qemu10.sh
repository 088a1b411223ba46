#!/bin/sh
# Prepare a QEMU new enough for iommufd descriptor passing (QEMU 10 from
# bookworm-backports) for use INSIDE the lab guest, never on the host:
# `apt-get download` + `dpkg-deb -x` into the cache, with a private apt
# configuration, so the host's apt sources and packages stay untouched.
#
# Usage: qemu10.sh             prints KEY=VALUE lines (QEMU10_VERSION,
#                              QEMU10_BIN, QEMU10_ROOT); progress on stderr
#        qemu10.sh --cpio OUT  also writes OUT: a compressed newc cpio that
#                              adds /opt/qemu10 to the lab's initramfs
#                              (tests/vm/runners/run-vm-test.sh appends it for cases
#                              with the header `# vfiod-extra: qemu10`)
#
# Cache: ${VFIOD_LAB_CACHE:-$HOME/.cache/vfiod-lab}/qemu10-apt (the private
# apt lists: Debian 12 + bookworm-backports) and qemu10-<key>/root (the
# unpacked packages), the key being a hash of the packages and versions apt
# resolves plus this script. Both are flock-protected like the kernels.
#
# Which packages: what `apt-get install --simulate -t bookworm-backports
# qemu-system-x86 seabios` would install on top of this host: QEMU 10 and
# its firmware, plus any library it needs that the host lacks or has too
# old. Everything else comes from the host's own libraries (ldd), as for
# the rest of the guest image.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lab-lib.sh"

cpio_out=""
if [ "${1:-}" = "--cpio" ]; then
	[ $# -eq 2 ] || lab_die "usage: $0 [--cpio OUT]"
	cpio_out=$2
elif [ $# -ne 0 ]; then
	lab_die "usage: $0 [--cpio OUT]"
fi

MIRROR=${VFIOD_LAB_DEBIAN_MIRROR:-http://deb.debian.org}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
BACKPORTS=bookworm-backports
aptdir=$LAB_CACHE/qemu10-apt

# apt with a configuration of its own: only these sources, lists and
# caches, never the host's. The fetch runs as the caller: apt's _apt
# sandbox user may not enter a cache under $HOME.
papt() {
	_tool=$1
	shift
	"$_tool" -o Dir::Etc::sourcelist="$aptdir/sources.list" \
		-o Dir::Etc::sourceparts="$aptdir/sources.list.d" \
		-o Dir::State::lists="$aptdir/lists" \
		-o Dir::Cache="$aptdir/cache" \
		-o APT::Sandbox::User="$(id -un)" \
		-o Debug::NoLocking=true "$@"
}

apt_update() {
	[ -r "$KEYRING" ] || lab_die "$KEYRING missing (debian-archive-keyring)"
	mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" "$aptdir/sources.list.d"
	{
		for suite in bookworm bookworm-updates "$BACKPORTS"; do
			echo "deb [signed-by=$KEYRING] $MIRROR/debian $suite main"
		done
		echo "deb [signed-by=$KEYRING] $MIRROR/debian-security bookworm-security main"
	} >"$aptdir/sources.list"
	lab_log "updating the private apt lists in $aptdir"
	papt apt-get -q update >"$aptdir/update.log" 2>&1 ||
		{ tail -n 20 "$aptdir/update.log" >&2; lab_die "apt-get update (private lists) failed"; }
	touch "$aptdir/.updated"
}

# "name=version" per line: what installing QEMU 10 would bring onto this
# host. --reinstall lists them even if the host had them already.
resolve() {
	papt apt-get -s -q --no-install-recommends --reinstall -t "$BACKPORTS" \
		install qemu-system-x86 seabios 2>"$aptdir/resolve.log" |
		sed -n 's/^Inst \([^ ]*\) \(\[[^]]*\] \)\{0,1\}(\([^ ]*\) .*/\1=\3/p' | LC_ALL=C sort
}

# Everything below touches the shared apt lists: one at a time.
lab_lock "$LAB_CACHE/locks/qemu10.lock"
[ -f "$aptdir/.updated" ] || apt_update

prepare() {
	pkgs=$(resolve)
	echo "$pkgs" | grep -q '^qemu-system-x86=1:10\.' ||
		{ cat "$aptdir/resolve.log" >&2; lab_die "apt offers no QEMU 10 from $BACKPORTS (got: $(echo "$pkgs" | tr '\n' ' '))"; }
	version=$(echo "$pkgs" | sed -n 's/^qemu-system-x86=//p')
	key=$(lab_hash "$pkgs" -- "$0" "$here/lab-lib.sh")
	out=$LAB_CACHE/qemu10-$key
	[ -f "$out/qemu10.env" ] && return 0

	rm -rf "$out"
	mkdir -p "$out/debs" "$out/root"
	lab_log "downloading QEMU $version and $(($(echo "$pkgs" | wc -l) - 1)) more package(s) into $out"
	# shellcheck disable=SC2086 # one name=version per word
	(cd "$out/debs" && papt apt-get download -q $pkgs) >"$out/download.log" 2>&1 || return 1
	for deb in "$out"/debs/*.deb; do
		dpkg-deb -x "$deb" "$out/root"
	done
	# only qemu-system-x86_64 runs in the guest
	rm -rf "$out/debs" "$out/root/usr/share/doc" "$out/root/usr/share/man" \
		"$out/root/usr/bin/qemu-system-i386" "$out/root/usr/bin/qemu-system-x86_64-microvm"

	bin=$out/root/usr/bin/qemu-system-x86_64
	libpath=$(find "$out/root" \( -name 'lib*.so' -o -name 'lib*.so.*' \) -type f -printf '%h\n' |
		sort -u | tr '\n' ':')
	if LD_LIBRARY_PATH=$libpath ldd "$bin" | grep 'not found'; then
		lab_die "QEMU $version needs libraries neither the host nor the download has"
	fi
	LD_LIBRARY_PATH=$libpath "$bin" --version | head -n1 >&2 ||
		lab_die "the unpacked QEMU does not run"
	{
		echo "QEMU10_VERSION=$version"
		echo "QEMU10_ROOT=$out/root"
		echo "QEMU10_BIN=$bin"
		echo "QEMU10_LIBPATH=$libpath"
	} >"$out/qemu10.env.tmp"
	mv "$out/qemu10.env.tmp" "$out/qemu10.env"
}

if ! prepare; then
	# Old versions leave the archive: fresh lists, one more try.
	tail -n 5 "$out/download.log" >&2 || true
	apt_update
	prepare || { tail -n 20 "$out/download.log" >&2; lab_die "downloading QEMU 10 failed"; }
fi
lab_unlock

QEMU10_VERSION='' QEMU10_ROOT='' QEMU10_BIN='' QEMU10_LIBPATH=''
. "$out/qemu10.env"
if [ -z "$cpio_out" ]; then
	cat "$out/qemu10.env"
	exit 0
fi

# ---- the guest's /opt/qemu10 ----
# bin/qemu-system-x86_64, lib/ (every shared object it loads except
# glibc's, which the guest image has: its programs need libc and libm, and
# parts of another glibc build would not match them), share/qemu/ (x86 firmware: SeaBIOS
# for q35, QEMU's option ROMs). The case runs it with
# LD_LIBRARY_PATH=/opt/qemu10/lib and -L /opt/qemu10/share/qemu.
libs() {
	LD_LIBRARY_PATH=$QEMU10_LIBPATH ldd "$QEMU10_BIN" |
		awk '$2 == "=>" && $3 ~ /^\// { print $3 }' |
		grep -v -E '/(ld-linux[^/]*|lib(c|m|dl|rt|pthread|resolv)\.so\.[0-9]+)$'
}

fp=$({
	cat "$out/qemu10.env" "$0" "$here/lab-lib.sh"
	for l in $(libs); do stat -L -c '%n %s %Y' "$l"; done
} | sha256sum | cut -d' ' -f1)
if [ -f "$cpio_out" ] && [ "$(cat "$cpio_out.fingerprint" 2>/dev/null)" = "$fp" ]; then
	exit 0
fi

stage=$(mktemp -d "${cpio_out}.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
g=$stage/opt/qemu10
mkdir -p "$g/bin" "$g/lib" "$g/share/qemu"
cp "$QEMU10_BIN" "$g/bin/"
for l in $(libs); do
	cp -L "$l" "$g/lib/"
done
cp -L "$QEMU10_ROOT"/usr/share/seabios/*.bin "$g/share/qemu/"
for f in kvmvapic.bin linuxboot.bin linuxboot_dma.bin multiboot.bin multiboot_dma.bin pvh.bin; do
	[ -f "$QEMU10_ROOT/usr/share/qemu/$f" ] && cp "$QEMU10_ROOT/usr/share/qemu/$f" "$g/share/qemu/"
done
echo "QEMU10_VERSION=$QEMU10_VERSION" >"$g/version.env"

if command -v zstd >/dev/null 2>&1; then
	compress="zstd -q -3 -T0"
else
	compress="gzip -1"
fi
tmp=$cpio_out.tmp.$$
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | $compress >"$tmp"
mv "$tmp" "$cpio_out"
echo "$fp" >"$cpio_out.fingerprint"
lab_log "QEMU $QEMU10_VERSION guest tree $cpio_out: $(du -k "$cpio_out" | cut -f1) KiB"
