# shellcheck shell=sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The one polling helper of the shell harnesses. tests/dbus/lib.sh sources it
# on the host (sh, bash); tests/vm/lib/guest-lib.sh sources it in the guests
# (busybox ash; dash in the libvirt guest) from /opt/vfiod/tests/lib. The
# harness that sources it defines `fail MSG` (print it, exit 1).
#
#   poll_until SECS CMD...  runs CMD until it succeeds; returns 1 when it has
#                           not after SECS seconds of pauses
#   wait_until SECS CMD...  the same, but running out of time is a failure:
#                           fail "timed out after SECSs waiting for: CMD"
#
# SECS is a whole number. CMD runs ten times a second, its stderr discarded
# (most commands polled complain until they succeed). The bound counts the
# pauses between tries, not the time CMD itself takes: a slow TCG guest gets
# more time, never less, than SECS.

poll_until() {
	_pu_tries=$(($1 * 10))
	shift
	until "$@" 2>/dev/null; do
		_pu_tries=$((_pu_tries - 1))
		[ "$_pu_tries" -gt 0 ] || return 1
		sleep 0.1
	done
}

wait_until() {
	poll_until "$@" || fail "timed out after ${1}s waiting for: $(shift; echo "$*")"
}
