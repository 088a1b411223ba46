#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The walls inside daemon/ (docs/ARCHITECTURE.md), checked on the sources:
#  - the VM object's inside (vm-private.h) and the backends' ops
#    (vm-backend.h) are included only by the files that make up the VM:
#    daemon/vm.c and daemon/vm-*.c, not the bus adaptor vm-dbus.c;
#  - each group of VM fields is written by the file that owns it
#    (vm-private.h; the journal reads memlock and identity to save them);
#  - daemon/libvirt/ goes through the vm_* API only;
#  - only the bus files speak sd-bus;
#  - only daemon/fdstore.c speaks the fd store protocol (sd-daemon);
#  - daemon/vm.c stays under 700 lines.
# Prints TAP; usage: test-daemon-walls.sh SOURCE_ROOT
set -u
cd "${1:?source root}" || exit 1

n=0
fails=0
check() { # check DESCRIPTION OFFENDERS...
	local what=$1
	shift
	n=$((n + 1))
	if [ $# -eq 0 ]; then
		echo "ok $n - $what"
	else
		echo "not ok $n - $what"
		printf '#   %s\n' "$@"
		fails=$((fails + 1))
	fi
}

# files (relative) matching an extended regex, minus the allowed ones
offenders() { # offenders REGEX ALLOWED_REGEX FILES...
	local re=$1 allowed=$2
	shift 2
	local f
	for f in "$@"; do
		[[ $f =~ $allowed ]] && continue
		grep -Eq -- "$re" "$f" && echo "$f: $(grep -Enm1 -- "$re" "$f")"
	done
}

mapfile -t sources < <(find daemon cli common lib -name '*.[ch]' | sort)
mapfile -t daemon_c < <(find daemon -name '*.c' | sort)
vm_files='^daemon/vm(-(backend[a-z0-9-]*|fds|identity|journal|memlock|mm|recover|release))?\.[ch]$|^daemon/vm-private\.h$|^daemon/vm-backend\.h$'

mapfile -t bad < <(offenders '#include "(vm-private|vm-backend)\.h"' "$vm_files" "${sources[@]}")
check "vm-private.h and vm-backend.h only in the VM's own files" "${bad[@]}"

group() { # group FIELD OWNER_REGEX
	local bad
	mapfile -t bad < <(offenders "[a-z_]+->$1\\." "$2" "${daemon_c[@]}")
	check "VM fields '$1' only in ${2//[\\^$]/}" "${bad[@]}"
}
group memlock '^daemon/vm-(memlock|journal)\.c$'
group release '^daemon/vm-release\.c$'
group mm '^daemon/vm-mm\.c$'
group identity '^daemon/vm-(identity|journal)\.c$'
group be '^daemon/vm-backend-[a-z0-9-]+\.c$|^daemon/vm-backend\.c$'
group journal '^daemon/vm-journal\.c$'

mapfile -t libvirt_files < <(find daemon/libvirt -name '*.[ch]' | sort)
mapfile -t bad < <(offenders '#include "(vm-private|vm-backend|vm-journal|vm-dbus)\.h"|vm->[a-z_]' '^$' "${libvirt_files[@]}")
check "daemon/libvirt/ uses the vm_* API only" "${bad[@]}"

bus_files='^daemon/(bus-[a-z-]+|manager-dbus[a-z-]*|vm-dbus|polkit|manager|main)\.[ch]$'
mapfile -t bad < <(offenders 'sd_bus_|sd-bus\.h' "$bus_files" "${daemon_c[@]}" daemon/*.h daemon/libvirt/*.h)
check "only the bus files speak sd-bus" "${bad[@]}"

mapfile -t bad < <(offenders 'sd_listen_fds|sd_pid_notify_with_fds|sd_notify_barrier|FDSTORE' '^daemon/fdstore\.[ch]$' "${daemon_c[@]}" daemon/*.h)
check "only daemon/fdstore.c speaks the fd store protocol" "${bad[@]}"

lines=$(wc -l < daemon/vm.c)
if [ "$lines" -lt 700 ]; then check "daemon/vm.c under 700 lines ($lines)"; else check "daemon/vm.c under 700 lines" "daemon/vm.c: $lines lines"; fi

echo "1..$n"
exit $((fails > 0))
