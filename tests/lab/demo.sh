#!/bin/sh
# Boot the nested-VM lab on Debian's kernel and run the narrated tour in
# tests/lab/demo-guest.sh: vfiod on a real system bus, devices, IOMMU
# groups, binding edu to vfio-pci, mtty mdevs.
#
# Usage: tests/lab/demo.sh [BUILD_ROOT [SOURCE_ROOT]]    (default: build)
# (SOURCE_ROOT is accepted for symmetry with the other runners; the lab
# always uses the repository this script is in.)
# BUILD_ROOT is a meson build folder with vfiod and vfioctl built
# (meson setup build && ninja -C build). The first run downloads the kernel
# package into ${VFIOD_LAB_CACHE:-$HOME/.cache/vfiod-lab} (~1 min).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build_root=${1:-build}
for b in daemon/vfiod cli/vfioctl; do
	[ -x "$build_root/$b" ] || { echo "demo: $build_root/$b not built (meson setup $build_root && ninja -C $build_root)" >&2; exit 1; }
done
out=$(mktemp -d "${TMPDIR:-/tmp}/vfiod-demo.XXXXXX")
trap 'rm -rf "$out"' EXIT

# Show the guest's own output only, not the kernel log or the lab's
# bookkeeping lines.
{
	rc=0
	"$here/run-guest-script.sh" --build "$build_root" distro "$here/demo-guest.sh" "$out" || rc=$?
	echo "$rc" >"$out/rc"
} | sed -n '/^lab-init: .*running /,/@@VFIOD-DONE/p' |
	grep -v -e '^lab-init: ' -e '^\[ *[0-9.]*\]' -e '@@VFIOD-DONE' || true
rc=$(cat "$out/rc")
[ "$rc" = 0 ] || echo "demo: the guest script failed (rc $rc)" >&2
exit "$rc"
