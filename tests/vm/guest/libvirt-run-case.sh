#!/bin/sh
# Libvirt guest tests, guest side (/opt/vfiod-libvirt/run-case.sh): runs as
# vfiod-libvirt-case.service in the Debian guest booted by
# tests/vm/runners/run-libvirt-test.sh, after vfiod.service and libvirtd.
# Runs every testcase_* function of /opt/vfiod-libvirt/case.sh in file
# order (or those of TESTCASES in case.env, in its order), each in a fresh
# `sh -e` that sourced tests/vm/lib/guest-lib.sh,
# tests/vm/lib/libvirt-guest-lib.sh and the case, under a timeout.
# Prints @@VFIOD-CASE libvirt FUNCTION PASS|FAIL|SKIP@@ per testcase and
# @@VFIOD-DONE rc@@ at the end, then powers the guest off.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
dir=/opt/vfiod-libvirt
. "$dir/case.env"

say() {
	echo "run-case: $*"
}

dump() {
	echo "---- journal: vfiod, libvirtd ----"
	journalctl -b -u vfiod -u libvirtd --no-pager -o short-monotonic 2>&1 | tail -n 150
	for f in /var/log/libvirt/qemu/*.log; do
		[ -f "$f" ] || continue
		echo "---- $f ----"
		tail -n 40 "$f"
	done
	echo "---- vfioctl vm list ----"
	vfioctl vm list 2>&1
	# where vfiod waits, if it hangs
	pid=$(systemctl show -p MainPID --value vfiod)
	for t in /proc/"$pid"/task/*; do
		[ -d "$t" ] || continue
		echo "---- vfiod task ${t##*/} ($(cat "$t/comm")): $(cat "$t/wchan") syscall $(cut -d' ' -f1 "$t/syscall")"
		cat "$t/stack" 2>/dev/null
	done
}

say "vfiod: $(systemctl is-active vfiod), libvirtd: $(systemctl is-active libvirtd)," \
	"up $(cut -d' ' -f1 /proc/uptime) s"
echo "@@VFIOD-TIME guest-boot-to-case $(cut -d' ' -f1 /proc/uptime) s@@"

rc=0
fns=${TESTCASES:-$(sed -n 's/^[[:space:]]*\(testcase_[A-Za-z0-9_]*\)[[:space:]]*().*$/\1/p' "$dir/case.sh")}
[ -n "$fns" ] || { say "case.sh defines no testcase_* function"; rc=1; }
for fn in $fns; do
	say "== $fn"
	(cd /tmp && timeout "$CASE_TIMEOUT" sh -c \
		". /opt/vfiod/tests/vm/lib/guest-lib.sh; . /opt/vfiod/tests/vm/lib/libvirt-guest-lib.sh; . $dir/case.sh; set -e; $fn" </dev/null)
	case $? in
	0) res=PASS ;;
	77) res=SKIP ;;
	124) say "$fn timed out after $CASE_TIMEOUT s"; res=FAIL ;;
	*) res=FAIL ;;
	esac
	[ "$res" = FAIL ] && rc=1
	echo "@@VFIOD-CASE libvirt $fn $res@@"
done
# whether vfiod ever died under the testcases (an abort, a crash): systemd restarts it
echo "@@VFIOD-TIME vfiod-restarts $(systemctl show -p NRestarts --value vfiod)" \
	"aborts-in-journal $(journalctl -b -u vfiod --no-pager 2>/dev/null | grep -c -e 'Assertion' -e 'dumped core' -e 'code=dumped' -e 'status=6/ABRT')@@"
[ "$rc" -eq 0 ] || dump
echo "@@VFIOD-DONE $rc@@"
# SuccessAction= does not end an initramfs-rooted guest reliably; sysrq
# does. The lab's test kernel has no sysrq: the power-off system call then.
sync
if [ -w /proc/sysrq-trigger ]; then
	echo o >/proc/sysrq-trigger
else
	systemctl poweroff --force --force
fi
exit 0
