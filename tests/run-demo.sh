#!/bin/sh
# The main job: installs what is missing, builds, then boots the nested lab
# (a QEMU guest with an emulated Intel IOMMU and real VFIO) and runs a
# narrated demo of vfiod inside it.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=${VFIOD_BUILD_DIR:-$src/build}

"$src/tests/setup.sh"

if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$src"
fi
ninja -C "$build"
exec "$src/tests/lab/demo.sh" "$build" "$src"
