#!/bin/sh
# fuzz/run.sh [SECONDS]: runs every fuzz target (fuzz/fuzz-*.c) for SECONDS
# each (default 20) under AddressSanitizer, UndefinedBehaviorSanitizer and
# leak checking, after replaying the crashes kept in fuzz/regressions/.
# Fails on any crash, sanitizer report, leak or timeout, and says where the
# input that did it was saved. The seed corpus in fuzz/corpus/ is only
# read: what a run discovers goes to a temporary directory, or to
# $VFIOD_FUZZ_CORPUS/<target>/ when set (to keep it across long runs).
#
#   fuzz/run.sh              the test command's run: 20 s per target
#   fuzz/run.sh 3600         an hour per target
#
# Environment: VFIOD_FUZZ_BUILD (default build-asan) is the clang build with
# -Dfuzz=true, set up here when missing; VFIOD_FUZZ_JOBS (default: the
# number of CPUs) is how many targets run side by side.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-20}
build=${VFIOD_FUZZ_BUILD:-$src/build-asan}
jobs=${VFIOD_FUZZ_JOBS:-$(nproc)}
case "$seconds" in
'' | *[!0-9]*) echo "usage: fuzz/run.sh [SECONDS]" >&2; exit 2 ;;
esac

if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" "$src" -Db_sanitize=address,undefined -Db_lundef=false -Dfuzz=true
elif [ "$(meson introspect --buildoptions "$build" | jq -r '.[] | select(.name == "fuzz") | .value')" != true ]; then
	meson configure "$build" -Dfuzz=true
fi

targets=
for f in "$src"/fuzz/fuzz-*.c; do
	t=$(basename "$f" .c)
	targets="$targets ${t#fuzz-}"
done
# shellcheck disable=SC2086 # one ninja target per fuzz target
ninja -C "$build" $(for t in $targets; do printf 'fuzz/fuzz-%s ' "$t"; done)

# UBSan reports become crashes; leaks are checked after every input
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:print_stacktrace=1"

results=$build/meson-logs/fuzz
rm -rf "$results"
mkdir -p "$results"
work=$(mktemp -d -t vfiod-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM HUP

dict_of() {
	case "$1" in
	domain-xml | hook-stdin) echo "$src/fuzz/dict/domain-xml.dict" ;;
	config | imports | journal) echo "$src/fuzz/dict/json.dict" ;;
	*) echo "" ;;
	esac
}

# run_one TARGET: its regressions once, then fuzzing; the verdict in $results/TARGET.status
run_one() {
	_t=$1
	_exe=$build/fuzz/fuzz-$_t
	_log=$results/$_t.log
	_out=$results/$_t
	mkdir -p "$_out"
	if [ -n "${VFIOD_FUZZ_CORPUS:-}" ]; then
		_corpus=$VFIOD_FUZZ_CORPUS/$_t
	else
		_corpus=$work/$_t
	fi
	mkdir -p "$_corpus"
	_dict=$(dict_of "$_t")

	if [ -d "$src/fuzz/regressions/$_t" ]; then
		# a file argument runs that input once
		if ! "$_exe" "$src/fuzz/regressions/$_t"/* >"$_log.regressions" 2>&1; then
			echo "regression" >"$results/$_t.status"
			return 0
		fi
	fi
	# the first corpus directory receives the new inputs, the seeds are only read
	set -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$_out/"
	[ -z "$_dict" ] || set -- "$@" -dict="$_dict"
	if "$_exe" "$@" "$_corpus" "$src/fuzz/corpus/$_t" >"$_log" 2>&1; then
		echo "ok" >"$results/$_t.status"
	else
		echo "crash" >"$results/$_t.status"
	fi
}

start=$(date +%s)
pids=
running=0
for t in $targets; do
	[ -x "$build/fuzz/fuzz-$t" ] || { echo "fuzz/run.sh: $build/fuzz/fuzz-$t was not built" >&2; exit 1; }
	run_one "$t" &
	pids="$pids $!"
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		for p in $pids; do wait "$p"; done
		pids=
		running=0
	fi
done
for p in $pids; do wait "$p"; done

failed=0
for t in $targets; do
	status=$(cat "$results/$t.status" 2>/dev/null || echo "no result")
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$results/$t.log" 2>/dev/null | tail -n 1)
	case "$status" in
	ok)
		echo "fuzz-$t: ok, ${runs:-?} inputs in ${seconds} s"
		;;
	regression)
		failed=1
		echo "fuzz-$t: FAILED on a kept regression input (fuzz/regressions/$t):"
		sed 's/^/    /' "$results/$t.log.regressions" | tail -n 60
		;;
	*)
		failed=1
		echo "fuzz-$t: FAILED ($status) after ${runs:-?} inputs:"
		grep -v '^#[0-9]' "$results/$t.log" | sed 's/^/    /' | tail -n 60
		for a in "$results/$t"/*; do
			[ -e "$a" ] || continue
			echo "    input: $a (fix the parser, then keep it: cp it to fuzz/regressions/$t/)"
		done
		;;
	esac
done
echo "fuzz/run.sh: $(($(date +%s) - start)) s, logs in $results"
exit "$failed"
