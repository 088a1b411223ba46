#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The manual pages against the programs: every verb and option that
# `vfioctl --help` (and `vfioctl memlock plan --help`) prints appears in
# vfioctl(1), every option of `vfiod --help` in vfiod(8), and `man -l`
# renders every page without a warning. TAP, one test point per check.
#
# meson passes: VFIOCTL, VFIOD (built programs), MAN_DIR (the built pages).
set -eu

: "${VFIOCTL:?}" "${VFIOD:?}" "${MAN_DIR:?}"
command -v man >/dev/null || { echo "Bail out! man (man-db) is not installed"; exit 1; }

T=$(mktemp -d -t vfiod-man.XXXXXX)
trap 'rm -rf "$T"' EXIT
N=0
FAILED=0

check() {
	_desc=$1
	shift
	N=$((N + 1))
	set +e
	(set -e; "$@") >"$T/check.log" 2>&1
	_rc=$?
	set -e
	if [ "$_rc" -eq 0 ]; then
		echo "ok $N - $_desc"
	else
		FAILED=$((FAILED + 1))
		echo "not ok $N - $_desc"
		sed 's/^/# /' "$T/check.log"
	fi
}

# the page as plain ASCII text on one line: no hyphenation, no
# justification and no line breaks that could split or hide a word
page_text() {
	LC_ALL=C MANWIDTH=4000 man --nh --nj -l "$MAN_DIR/$1" 2>/dev/null | col -b | tr -s ' \t\n' '   '
}

# the verbs of the "Verbs:" section: a line with two spaces, then the verb;
# vm, mdev and config are followed by their command(s), "apply|status"
help_verbs() {
	"$VFIOCTL" --help | awk '
		/^Verbs:/ { in_verbs = 1; next }
		/^[A-Z]/  { in_verbs = 0 }
		in_verbs && /^  [a-z]/ {
			if ($1 == "vm" || $1 == "mdev" || $1 == "config") {
				n = split($2, subs, "|")
				for (i = 1; i <= n; i++)
					print $1 " " subs[i]
			} else
				print $1
		}'
}

# every option a help text names: -x or --long-name after a blank or "["
help_options() {
	grep -oE '(^|[[ ])--?[a-z][a-z0-9-]*' | sed 's/^[[ ]//' | sort -u
}

# page_has TEXT PHRASE: PHRASE as a whole word (or words) of TEXT
page_has() {
	printf '%s\n' "$1" | grep -qE -- "(^|[^A-Za-z0-9-])$(printf '%s' "$2" | sed 's/[].[|*+?(){}^$\\]/\\&/g')([^A-Za-z0-9-]|\$)"
}

assert_all_in_page() {
	_page=$1
	_list=$2
	_text=$(page_text "$_page")
	[ -n "$_text" ] || { echo "$_page renders to nothing"; return 1; }
	[ -s "$_list" ] || { echo "nothing was read from the help text"; return 1; }
	_missing=0
	while IFS= read -r _item; do
		if ! page_has "$_text" "$_item"; then
			echo "'$_item' is not in $_page"
			_missing=1
		fi
	done <"$_list"
	return "$_missing"
}

vfioctl_verbs_in_page() {
	help_verbs >"$T/verbs"
	# guards against a help layout the parser no longer understands
	grep -qx 'vm register' "$T/verbs" || { echo "no 'vm register' read from --help"; return 1; }
	grep -qx 'config status' "$T/verbs" || { echo "no 'config status' read from --help"; return 1; }
	[ "$(wc -l <"$T/verbs")" -ge 20 ] || { echo "only $(wc -l <"$T/verbs") verbs read from --help"; return 1; }
	assert_all_in_page vfioctl.1 "$T/verbs"
}

vfioctl_options_in_page() {
	"$VFIOCTL" --help | help_options >"$T/options"
	grep -qx -- '--memlock-cap' "$T/options" || { echo "no --memlock-cap read from --help"; return 1; }
	assert_all_in_page vfioctl.1 "$T/options"
}

memlock_options_in_page() {
	"$VFIOCTL" memlock plan --help | help_options >"$T/memlock-options"
	grep -qx -- '--iommufd-accounting' "$T/memlock-options" || { echo "no --iommufd-accounting read"; return 1; }
	assert_all_in_page vfioctl.1 "$T/memlock-options"
}

vfiod_options_in_page() {
	"$VFIOD" --help | help_options >"$T/vfiod-options"
	grep -qx -- '--root' "$T/vfiod-options" || { echo "no --root read from vfiod --help"; return 1; }
	assert_all_in_page vfiod.8 "$T/vfiod-options"
}

# man -l renders PAGE to text with groff's warnings on, and warns nothing
page_renders_cleanly() {
	[ -s "$MAN_DIR/$1" ] || { echo "$1 was not built"; return 1; }
	MANWIDTH=80 man --warnings -l "$MAN_DIR/$1" >"$T/page.txt" 2>"$T/page.err"
	if [ -s "$T/page.err" ]; then
		cat "$T/page.err"
		return 1
	fi
	grep -q '^NAME' "$T/page.txt" || { echo "no NAME section rendered"; return 1; }
	grep -q 'SEE ALSO' "$T/page.txt" || { echo "no SEE ALSO section rendered"; return 1; }
}

check "every verb of 'vfioctl --help' is in vfioctl(1)" vfioctl_verbs_in_page
check "every option of 'vfioctl --help' is in vfioctl(1)" vfioctl_options_in_page
check "every option of 'vfioctl memlock plan --help' is in vfioctl(1)" memlock_options_in_page
check "every option of 'vfiod --help' is in vfiod(8)" vfiod_options_in_page
for page in vfioctl.1 vfiod.8 vfiod-libvirt-hook.8 vfiod.json.5 org.vfiod1.5; do
	check "man -l renders $page without warnings" page_renders_cleanly "$page"
done

echo "1..$N"
[ "$FAILED" -eq 0 ]
