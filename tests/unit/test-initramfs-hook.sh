#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The initramfs-tools hook of early binding (systemd/initramfs-tools/vfiod.in)
# in a fixture: run as update-initramfs runs it (DESTDIR set, hook-functions
# sourced), against fixture configurations. The hook is the built one;
# only the two host paths in it (hook-functions, the configuration root)
# are pointed at the fixture, and the generator at the built program.
# initramfs-tools' manual_add_modules is a stub that records its arguments:
# the real one needs a kernel's module tree.
#
# Usage: test-initramfs-hook.sh HOOK GENERATOR LIBEXECDIR
set -u
hook=$1 generator=$2 libexecdir=$3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0
fails=0

check() { # check DESCRIPTION OK_OR_FAILURE_TEXT
	n=$((n + 1))
	if [ -z "$2" ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1: $2"
		fails=$((fails + 1))
	fi
}

echo "TAP version 13"
echo "1..6"

cat >"$T/hook-functions" <<STUB
manual_add_modules() { echo "\$@" >>"$T/modules"; }
STUB
grep -qx '\. /usr/share/initramfs-tools/hook-functions' "$hook" &&
	grep -qx 'config_root=/' "$hook" &&
	grep -qx "generator=\"$libexecdir/vfiod-udev-rules\"" "$hook"
check "the built hook sources hook-functions and runs the installed generator" \
	"$([ $? -eq 0 ] || echo "unexpected lines in $hook")"
sed -e "s|^\. /usr/share/initramfs-tools/hook-functions\$|. $T/hook-functions|" \
	-e "s|^config_root=/\$|config_root=$T/root|" \
	-e "s|^generator=.*|generator=$generator|" "$hook" >"$T/hook"

out=$(sh "$T/hook" prereqs)
check "prereqs: after udev's hook" "$([ "$out" = udev ] || echo "got '$out'")"

# run_hook JSON: a fresh initramfs tree and record, the hook's exit status
run_hook() {
	rm -rf "$T/root" "$T/initramfs" "$T/modules"
	mkdir -p "$T/root/etc/vfiod" "$T/initramfs"
	printf '%s\n' "$1" >"$T/root/etc/vfiod/vfiod.json"
	: >"$T/modules"
	DESTDIR="$T/initramfs" sh "$T/hook" >"$T/out" 2>"$T/err"
}
rules=$T/initramfs/etc/udev/rules.d/70-vfiod-bindings.rules

run_hook '{"bindings": [{"device": "0000:02:00.0"}, {"device": "0000:03:00.0"},
  {"device": "0000:04:00.1", "driver": "vfiod-edu-vfio"}], "import": {"mdevctl": false, "driverctl": false}}'
rc=$?
what=""
[ "$rc" -eq 0 ] || what="exit $rc: $(cat "$T/err")"
[ -f "$rules" ] || what="$what; no $rules"
for a in 0000:02:00.0 0000:03:00.0; do
	grep -qF "KERNEL==\"$a\", ATTR{driver_override}=\"vfio-pci\"" "$rules" 2>/dev/null || what="$what; no rule for $a"
done
grep -qF 'KERNEL=="0000:04:00.1", ATTR{driver_override}="vfiod_edu_vfio"' "$rules" 2>/dev/null ||
	what="$what; no rule for the variant"
check "the rules land in the initramfs's /etc/udev/rules.d" "$what"

got=$(sort "$T/modules" | tr '\n' ' ')
check "the modules the rules load, each once" \
	"$([ "$got" = "vfio_pci vfiod_edu_vfio " ] || echo "manual_add_modules got '$got'")"

run_hook '{"bindings": [{"device": "0000:02:00.0", "driver": "vfio-pci\"\nRUN+=\"/bin/sh"}]}'
rc=$?
what=""
[ "$rc" -eq 0 ] || what="exit $rc (update-initramfs would fail)"
[ ! -e "$rules" ] || what="$what; a rules file was written: $(cat "$rules")"
[ ! -s "$T/modules" ] || what="$what; modules added: $(cat "$T/modules")"
grep -q "invalid driver name" "$T/err" || what="$what; no reason on stderr: $(cat "$T/err")"
grep -q "W: vfiod: the configuration was refused" "$T/err" || what="$what; no warning"
check "a hostile driver name: warned, no rule, no module" "$what"

run_hook '{"bindings": []}'
what=""
[ -f "$rules" ] || what="no rules file"
! grep -q '^ACTION' "$rules" 2>/dev/null || what="a rule without a binding"
[ ! -s "$T/modules" ] || what="$what; modules added: $(cat "$T/modules")"
check "no bindings: no rule, no module" "$what"

[ "$fails" -eq 0 ]
