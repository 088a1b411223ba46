#!/bin/sh
# The one test command: installs what is missing, builds with warnings as
# errors, and runs every suite (unit, dbus, vm). Run from anywhere.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=${VFIOD_BUILD_DIR:-$src/build}

"$src/tests/setup.sh"

if [ -f "$build/build.ninja" ]; then
	meson configure "$build" -Dwerror=true >/dev/null
else
	meson setup "$build" "$src" -Dwerror=true
fi
ninja -C "$build"
# The vm suite boots QEMU guests; each vm test carries its own timeout.
exec meson test -C "$build" --print-errorlogs --num-processes 2 "$@"
