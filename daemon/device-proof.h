/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The proof that nothing holds a VFIO device open, asked before every
 * unbind from a VFIO driver and every removal of an mdev vfiod makes:
 * Release, RemoveDevice, Unbind, RemoveMdev, the VMM's exit and the
 * recovery at start all go through device_prove_free().
 *
 * Why: unbinding a VFIO device (an mdev's removal too) drops the
 * registration's reference and then waits in vfio_unregister_group_dev()
 * until every open file of the device is released, calling the driver's
 * request callback every 10 s; after a signal the wait is uninterruptible.
 * A descriptor survives its VMM in a forked child, or in flight in a unix
 * socket, so the VMM's exit proves nothing.
 *
 * The proofs, strongest first:
 *   - the vfiod_mm helper's DEVICE_USERS (PCI functions): only the
 *     registration's own reference left. Counts every open file of the
 *     device, from the group or the cdev, wherever it is.
 *   - an exclusive open of the group node (/dev/vfio/N): the kernel keeps
 *     one file of a group and refuses another (EBUSY) while the group, a
 *     device descriptor taken from it, or a cdev bound to an iommufd is
 *     open anywhere, in flight included. vfiod keeps that open (the guard)
 *     until the unbind is done, so that nobody opens the device meanwhile.
 *     A cdev opened and never bound to an iommufd does not block the
 *     group: without the helper vfiod also looks for it in /proc (a
 *     descriptor in flight stays invisible: docs/security.md).
 *
 * Who holds it: the processes whose /proc/PID/fd name the group or the
 * cdev node (bounded scan; needs ptrace access to other users' processes,
 * which the shipped unit does not grant: then "unknown"), and the
 * helper's count of open files.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "vfiod/mm.h"
#include "vfiod/op-error.h"
#include "vfiod/inventory.h"

typedef struct DeviceProofTarget {
	const char *name; /* canonical PCI address, or lower-case mdev UUID */
	bool is_mdev;
} DeviceProofTarget;

/*
 * 0: nothing holds targets[0..n) (all in IOMMU group group, -1: none), and
 * *ret_guard is the group held exclusively (or -1 when there is no group
 * node): close it only after the unbind. -EBUSY: something holds one of
 * them; error names the device and who holds it where known, and is
 * marked held (vfd_op_error_set_held()) when an open file or the group's
 * open was seen, not when the proof itself failed. mm may be NULL (helper
 * not loaded).
 */
int device_prove_free(vfd_context *ctx, vfd_mm_client *mm, int group,
		      const DeviceProofTarget *targets, size_t n, vfd_op_error *error, int *ret_guard);

/*
 * Before a claim: nobody outside vfiod uses PCI function name (in IOMMU
 * group group, -1: none) through VFIO. A function already on vfio-pci is
 * claimed without a driver change, so without this a VMM vfiod did not
 * start (QEMU of a libvirt domain with a managed hostdev) would share it
 * with vfiod's VM. 0: the group's node opens exclusively (or there is
 * none) and vfiod_mm counts no open file of the function (when loaded);
 * -EBUSY, held, otherwise. A helper that cannot tell refuses nothing (a
 * group open or a bound file still shows in the group's open).
 */
int device_prove_unused(vfd_context *ctx, vfd_mm_client *mm, int group, const char *name,
			vfd_op_error *error);
