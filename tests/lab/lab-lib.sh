# shellcheck shell=sh
# Helpers shared by the nested-VM lab scripts (sourced, not executed).
#
# Everything the lab builds or downloads lives in one cache folder outside
# the repository, so a warm cache makes every later run nearly free and
# nothing machine-specific ends up in the tree.

LAB_CACHE=${VFIOD_LAB_CACHE:-$HOME/.cache/vfiod-lab}

lab_log() {
	echo "lab: $*" >&2
}

lab_die() {
	echo "lab: error: $*" >&2
	exit 1
}

# lab_hash STRING... -- FILE...
# Short content hash over strings and file contents: the cache key. Files are
# hashed by content (not mtime) so a fresh checkout keeps hitting the cache.
lab_hash() {
	{
		while [ $# -gt 0 ] && [ "$1" != "--" ]; do
			printf 's:%s\n' "$1"
			shift
		done
		[ $# -gt 0 ] && shift
		for f in "$@"; do
			printf 'f:%s\n' "$(basename "$f")"
			cat "$f"
		done
	} | sha256sum | cut -c1-16
}

# lab_lock FILE: take an exclusive flock on FILE via fd 9 for the rest of the
# script. Parallel meson tests preparing the same kernel wait here instead of
# building it twice.
lab_lock() {
	mkdir -p "$(dirname "$1")"
	exec 9>"$1"
	if ! flock -n 9; then
		lab_log "waiting for lock $1"
		flock 9
	fi
}

lab_unlock() {
	exec 9>&-
}

lab_gcc_version() {
	"${CC:-gcc}" --version 2>/dev/null | head -n1
}

lab_jobs() {
	echo "${VFIOD_LAB_JOBS:-2}"
}
