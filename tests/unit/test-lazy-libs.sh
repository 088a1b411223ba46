#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Start-up loads no library that only some code paths use (issue 13:
# vfioctl --version cost 14 MiB when libvirt and libxml2 were linked;
# issue 17: ICU in the lab's initramfs). What the dynamic loader maps is
# read from its own trace (LD_DEBUG=files), so a library loaded by dlopen()
# is seen as well as one the program lists as needed; the positive control
# (vfioctl memlock plan, which parses XML) shows that the trace sees a
# library loaded later.
#
# Usage: test-lazy-libs.sh VFIOCTL VFIOD HOOK DOMAIN_XML
set -u
vfioctl=$1 vfiod=$2 hook=$3 domain_xml=$4
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0
fails=0

# the basenames of the libraries the command maps, one a line
mapped() {
	rm -f "$T"/ld.*
	LD_DEBUG=files LD_DEBUG_OUTPUT="$T/ld" DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/no-bus" \
		"$@" </dev/null >/dev/null 2>&1
	cat "$T"/ld.* 2>/dev/null | sed -n 's/^[[:space:]]*[0-9]*:[[:space:]]*file=\([^ ]*\) .*/\1/p' | sed 's|.*/||' | sort -u
}

check() { # check DESCRIPTION OK_OR_FAILURE_TEXT
	n=$((n + 1))
	if [ -z "$2" ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		echo "$2" | sed 's/^/#   /'
		fails=$((fails + 1))
	fi
}

lazy='^(libvirt|libxml2|libicu|libkmod|libcrypto)'
for cmd in "$vfioctl --version" "$vfioctl --help" "$vfioctl show 0000:00:02.0" "$vfiod --help" "$hook --help"; do
	what=$(echo "$cmd" | sed 's|^[^ ]*/||') # the program's name, not its path
	# shellcheck disable=SC2086 # words without spaces
	got=$(mapped $cmd)
	[ -n "$got" ] || { check "$what: the loader's trace is readable" "no trace"; continue; }
	check "$what maps none of libvirt, libxml2, ICU, libkmod (libcrypto)" "$(echo "$got" | grep -E "$lazy")"
done

got=$(mapped "$vfioctl" memlock plan --domain-xml "$domain_xml" --policy libvirt)
check "vfioctl memlock plan loads libxml2 when it parses (the trace sees dlopen)" \
	"$(echo "$got" | grep -qx 'libxml2.so.2' || echo "libxml2.so.2 not mapped; mapped: $got")"

echo "1..$n"
exit $((fails > 0))
