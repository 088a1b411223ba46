#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The walls between the parts of the tree, checked on every #include:
#   (a) cli/, common/ and lib/ never include a daemon/ header: the daemon
#       is a client of the library, and the CLI talks to it over D-Bus only;
#   (b) nothing outside lib/ includes a private lib header (one that is not
#       under lib/include/): the library's contract is lib/include/vfiod/;
#   (c) a public header (lib/include/vfiod/) includes only public headers,
#       so that the contract does not leak a private one;
#   (d) only lib/dlopen.c includes <dlfcn.h>: a library that only some code
#       paths need is loaded through vfiod/dlopen.h, one table per library
#       (no program links libvirt or libxml2; a direct call does not link).
# An include is looked up as the compiler does: in the includer's own
# folder first, then on the include paths (lib/include, common/, cli/,
# daemon/, and lib/ itself for the library's own files).
#
# Usage: test-header-walls.sh SOURCE_ROOT
set -eu

src=${1:?usage: test-header-walls.sh SOURCE_ROOT}
cd "$src"
report=$(mktemp)
trap 'rm -f "$report"' EXIT

# FILE: "LINE NAME" for each #include of FILE, quoted or angled
includes() {
	awk '/^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]/ {
		s = $0
		sub(/^[^"<]*["<]/, "", s)
		sub(/[">].*$/, "", s)
		print FNR, s
	}' "$1"
}

# the C sources and headers below the folders given, sorted
sources() {
	find "$@" \( -name '*.c' -o -name '*.h' \) -type f 2>/dev/null | LC_ALL=C sort
}

# DIR NAME: the part of the tree the include names: public (lib/include/),
# lib (private), daemon, other (cli/, common/, tests/, ...) or system
resolve() {
	dir=$1 name=$2
	if [ -f "$dir/$name" ]; then
		path=$(realpath -m --relative-to=. "$dir/$name")
	elif [ -f "lib/include/$name" ]; then
		path=lib/include/$name
	elif [ -f "common/$name" ] || [ -f "cli/$name" ]; then
		path=common/$name
	elif [ -f "daemon/$name" ]; then
		path=daemon/$name
	elif [ -f "lib/$name" ]; then
		path=lib/$name
	else
		case "$name" in
		*daemon/*) path=daemon/${name##*daemon/} ;;
		*lib/include/*) path=lib/include/${name##*lib/include/} ;;
		*lib/*) path=lib/${name##*lib/} ;;
		*) path=system ;;
		esac
	fi
	case "$path" in
	lib/include/*) echo public ;;
	lib/*) echo lib ;;
	daemon/*) echo daemon ;;
	system) echo system ;;
	*) echo other ;;
	esac
}

for f in $(sources cli common lib daemon fuzz kernel tests); do
	includes "$f" | while read -r line name; do
		part=$(resolve "${f%/*}" "$name")
		case "$f:$part" in
		cli/*:daemon|common/*:daemon|lib/*:daemon)
			echo "$f:$line: (a) includes the daemon header \"$name\"" ;;
		lib/dlopen.c:*) ;;
		*:system)
			[ "$name" != dlfcn.h ] || echo "$f:$line: (d) includes <dlfcn.h>; only lib/dlopen.c loads libraries" ;;
		lib/include/*:public) ;;
		lib/include/*:*)
			echo "$f:$line: (c) a public header includes the non-public header \"$name\"" ;;
		lib/*) ;;
		*:lib)
			echo "$f:$line: (b) includes the private lib header \"$name\"" ;;
		esac
	done
done >"$report"

if [ -s "$report" ]; then
	cat "$report"
	echo "header walls broken by $(wc -l <"$report") include(s); see the top of tests/unit/test-header-walls.sh"
	exit 1
fi
echo "header walls hold: $(sources cli common lib daemon fuzz kernel tests | wc -l) files checked"
