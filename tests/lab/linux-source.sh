#!/bin/sh
# Find or fetch Debian's linux-source-SERIES tarball for a lab kernel build.
#
# Usage: linux-source.sh SERIES        e.g. 6.12, 7.3
# Prints LINUX_SOURCE_TARBALL=PATH and LINUX_SOURCE_VERSION=DEBIAN-VERSION;
# progress goes to stderr.
#
# The host's package if it is installed (linux-source-6.12 on Debian 12,
# tests/setup.sh). Otherwise the package comes from Debian 13 (trixie,
# trixie-updates, trixie-security, trixie-backports) the way qemu10.sh
# fetches QEMU 10: a private apt configuration under the lab cache
# ($LAB_CACHE/trixie-apt), `apt-get download` and `dpkg-deb -x` into
# $LAB_CACHE/linux-source-pkg-<version>, nothing installed on the host, all
# under one flock. apt's candidate wins (the newest upload of the series in
# those suites); VFIOD_LAB_LINUX_SOURCE_VERSION pins one.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lab-lib.sh"

[ $# -eq 1 ] || lab_die "usage: $0 SERIES"
series=$1
pkg=linux-source-$series

host_tarball=/usr/src/$pkg.tar.xz
if [ -r "$host_tarball" ] && hostver=$(dpkg-query -W -f '${Version}' "$pkg" 2>/dev/null) &&
	[ -n "$hostver" ]; then
	echo "LINUX_SOURCE_TARBALL=$host_tarball"
	echo "LINUX_SOURCE_VERSION=$hostver"
	exit 0
fi

MIRROR=${VFIOD_LAB_DEBIAN_MIRROR:-http://deb.debian.org}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
aptdir=$LAB_CACHE/trixie-apt

# apt with a configuration of its own: only these sources, lists and
# caches, never the host's (see qemu10.sh).
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
		for suite in trixie trixie-updates trixie-backports; do
			echo "deb [signed-by=$KEYRING] $MIRROR/debian $suite main"
		done
		echo "deb [signed-by=$KEYRING] $MIRROR/debian-security trixie-security main"
	} >"$aptdir/sources.list"
	lab_log "updating the private trixie apt lists in $aptdir"
	papt apt-get -q update >"$aptdir/update.log" 2>&1 ||
		{ tail -n 20 "$aptdir/update.log" >&2; lab_die "apt-get update (private trixie lists) failed"; }
	touch "$aptdir/.updated"
}

candidate() {
	papt apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^  Candidate: //p' | grep -v '^(none)$' || true
}

fetch() { # VERSION: unpack the package's tarball into $out
	rm -rf "$out"
	mkdir -p "$out/debs" "$out/root"
	lab_log "downloading $pkg $1 (trixie) into $out"
	(cd "$out/debs" && papt apt-get download -q "$pkg=$1") >"$out/download.log" 2>&1 || return 1
	dpkg-deb -x "$out"/debs/*.deb "$out/root"
	rm -rf "$out/debs"
	[ -r "$out/root/usr/src/$pkg.tar.xz" ] || lab_die "$pkg $1 has no usr/src/$pkg.tar.xz"
	echo "$1" >"$out/.done"
}

# The lists are shared with every later trixie fetch: one at a time.
lab_lock "$LAB_CACHE/locks/trixie-apt.lock"
[ -f "$aptdir/.updated" ] || apt_update
version=${VFIOD_LAB_LINUX_SOURCE_VERSION:-$(candidate)}
[ -n "$version" ] || lab_die "apt offers no $pkg in trixie or trixie-backports"
out=$LAB_CACHE/linux-source-pkg-$version
if [ ! -f "$out/.done" ] && ! fetch "$version"; then
	# Old versions leave the archive: fresh lists, the new candidate.
	tail -n 5 "$out/download.log" >&2 || true
	apt_update
	version=${VFIOD_LAB_LINUX_SOURCE_VERSION:-$(candidate)}
	out=$LAB_CACHE/linux-source-pkg-$version
	[ -f "$out/.done" ] || fetch "$version" ||
		{ tail -n 20 "$out/download.log" >&2; lab_die "downloading $pkg $version failed"; }
fi
lab_unlock

echo "LINUX_SOURCE_TARBALL=$out/root/usr/src/$pkg.tar.xz"
echo "LINUX_SOURCE_VERSION=$version"
