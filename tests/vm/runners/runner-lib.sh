# shellcheck shell=sh disable=SC2034 # the variables set here are the caller's
# Sourced by every host-side runner that boots a lab guest and reads its
# console markers (run-vm-test.sh, and through systemd-guest.sh
# run-systemd-boot.sh and run-libvirt-test.sh). The caller defines say().
#
#   boot_guest LOG CMD...   runs CMD (tests/lab/qemu.sh and its arguments)
#                           with its output in LOG; sets QEMU_RC
#   read_markers LOG        prints the testcases; sets DONE_RC READY
#                           PASSED FAILED SKIPPED

# died_before_first_case LOG: the guest kernel died (an Oops, a BUG or a
# panic) before any testcase reported
died_before_first_case() {
	! grep -q '@@VFIOD-CASE' "$1" && grep -Eq 'Oops:|BUG:|Kernel panic' "$1"
}

# emulator_died_before_first_case LOG RC: QEMU itself died of a signal
# (RC above 128, not the timeout's SIGKILL, 137) before any testcase
# reported: seen once, a SIGSEGV of the host's QEMU 7.2 two seconds into
# a boot that had run before (vm-faults-sweep, 2026-12-07)
emulator_died_before_first_case() {
	[ "$2" -gt 128 ] && [ "$2" -ne 137 ] && ! grep -q '@@VFIOD-CASE' "$1"
}

# A guest kernel (or QEMU) that dies before the first testcase starts is
# booted once more: seen under TCG as int3 traps in kernel text while the busybox guest
# booted, and once in a udev worker while systemd booted, with no vfiod code
# running yet. Its log is kept beside LOG as LOG.first-boot. A failure once
# a testcase ran is never retried.
boot_guest() {
	_bg_log=$1
	shift
	for _bg_try in 1 2; do
		"$@" >"$_bg_log" 2>&1
		QEMU_RC=$?
		if [ "$_bg_try" = 1 ] && { died_before_first_case "$_bg_log" ||
			emulator_died_before_first_case "$_bg_log" "$QEMU_RC"; }; then
			mv "$_bg_log" "$_bg_log.first-boot"
			say "the guest kernel or QEMU (status $QEMU_RC) died before the first testcase" \
				"(log: $_bg_log.first-boot); booting again"
			continue
		fi
		break
	done
}

# Markers may carry a stray \r from the serial line.
read_markers() {
	_rm_markers=$(tr -d '\r' <"$1" | grep -o '@@VFIOD-[A-Z]*[^@]*@@')
	echo "$_rm_markers" | sed -n 's/^@@VFIOD-CASE \(.*\)@@$/  \1/p'
	DONE_RC=$(echo "$_rm_markers" | sed -n 's/^@@VFIOD-DONE \([0-9]*\)@@$/\1/p' | tail -n1)
	READY=$(echo "$_rm_markers" | sed -n 's/^@@VFIOD-READY \([0-9.]*\)@@$/\1/p' | tail -n1)
	PASSED=$(echo "$_rm_markers" | grep -c " PASS@@$")
	FAILED=$(echo "$_rm_markers" | grep -c " FAIL@@$")
	SKIPPED=$(echo "$_rm_markers" | grep -c " SKIP@@$")
}
