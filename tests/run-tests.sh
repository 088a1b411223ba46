#!/bin/sh
# The one test command: installs what is missing, builds with warnings as
# errors, builds again with clang's sanitizers and runs the unit and dbus
# suites and every fuzz target there, then runs every suite (unit, dbus,
# vm) on the first build. Run from anywhere.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=${VFIOD_BUILD_DIR:-$src/build}
asan=${VFIOD_ASAN_BUILD_DIR:-$src/build-asan}

"$src/tests/setup.sh"

step() { # NAME: when the previous step ended and this one starts
	echo "run-tests: $(date +%H:%M:%S) $*"
}

step "build ($build)"
if [ -f "$build/build.ninja" ]; then
	meson configure "$build" -Dwerror=true >/dev/null
else
	meson setup "$build" "$src" -Dwerror=true
fi
ninja -C "$build"

# AddressSanitizer (with leak checking) and UndefinedBehaviorSanitizer,
# clang, and the libFuzzer targets of fuzz/. A report fails the test that
# saw it: the programs stop at the first one (halt_on_error, and exit
# statuses the tests check), and tests/dbus/lib.sh fails a test whose
# daemon or helpers wrote one.
step "sanitizer build ($asan)"
if [ ! -f "$asan/build.ninja" ]; then
	CC=clang meson setup "$asan" "$src" -Db_sanitize=address,undefined -Db_lundef=false -Dfuzz=true
fi
ninja -C "$asan"
step "unit and dbus suites under the sanitizers"
ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1:print_summary=1 \
UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1 \
	meson test -C "$asan" --print-errorlogs --num-processes 2 --suite unit --suite dbus --suite fuzz
step "fuzz targets, ${VFIOD_FUZZ_SECONDS:-20} s each"
VFIOD_FUZZ_BUILD=$asan "$src/fuzz/run.sh" "${VFIOD_FUZZ_SECONDS:-20}"

# The vm suite boots QEMU guests; each vm test carries its own timeout.
step "all suites ($build)"
exec meson test -C "$build" --print-errorlogs --num-processes 2 "$@"
