/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Resetting a PCI function between two VMs, and proving the reset took
 * (lib/device-reset.c; docs/reset.md is the operator's view).
 *
 * vfiod opens the function through VFIO itself once the VMM's files are
 * gone, and asks VFIO_DEVICE_RESET: the kernel runs the function's
 * reset_method (FLR, PM, bus, ...) with its config space saved before and
 * restored after. That restore is why "config space back to defaults"
 * cannot be read off the header: the kernel puts the header back. What it
 * does not put back is the MSI and MSI-X state of a function whose
 * interrupts are off. So before the reset vfiod writes a marker there
 * (preferred: MSI-X Function Mask, then MSI Mask Bits, then MSI Message
 * Data, each 0 after a reset), and after it reads the register again:
 * the marker still there means the function was not reset, whatever the
 * driver answered.
 *
 * Linux shows config space past the first 64 bytes only to CAP_SYS_ADMIN.
 * Without it (vfiod's shipped unit) there is no marker; the check is the
 * function's identity read back after the reset (vendor and device ID:
 * it answers, not 0xffff), and the result says so.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "vfiod/inventory.h"
#include "vfiod/op-error.h"

/* how a reset was checked */
typedef enum vfd_reset_check {
	VFD_RESET_CHECK_NONE,       /* no reset: the function has no reset method */
	VFD_RESET_CHECK_IDENTITY,   /* identity only: capabilities unreadable, or none to mark */
	VFD_RESET_CHECK_MSIX_MASK,  /* the marker in MSI-X Function Mask was cleared */
	VFD_RESET_CHECK_MSI_MASK,   /* the marker in MSI Mask Bits was cleared */
	VFD_RESET_CHECK_MSI_DATA,   /* the marker in MSI Message Data was cleared */
	/*
	 * no reset: the function is on no VFIO driver. A give-back resumed
	 * after it stopped half-way (a failed sysfs write, vfiod killed) finds
	 * it so, and its reset ran before that give-back's first unbind.
	 */
	VFD_RESET_CHECK_OFF_VFIO,
	_VFD_RESET_CHECK_MAX,
} vfd_reset_check;

const char *vfd_reset_check_to_string(vfd_reset_check c);

/* the value written into MSI Message Data before a reset */
#define VFD_RESET_MSI_DATA_MARKER 0xfd5e

/*
 * Where the reset's marker goes in a function's config space: cfg holds
 * its first 256 bytes. offset and width (2 or 4) of the register, the
 * value written, the value found. A register that already holds the
 * marker (left so by the function's last user, and not cleared since: no
 * reset took) is a marker in place: the reset must clear it all the same.
 * 0 and *ret; -ENOENT: no register to mark (no MSI or MSI-X capability, or
 * its interrupts enabled: a marker there would be live).
 */
typedef struct vfd_reset_marker {
	vfd_reset_check check;
	unsigned offset, width;
	uint32_t value, original;
} vfd_reset_marker;

int vfd_reset_marker_find(const uint8_t cfg[static 256], vfd_reset_marker *ret);
/* v, read from the marker's register after a reset: true when the reset did not take */
bool vfd_reset_marker_still_set(const vfd_reset_marker *m, uint32_t v);

/*
 * Resets PCI function device ("0000:01:00.0", bound to a VFIO driver,
 * nobody else holding it) and checks the reset took.
 *
 * group_fd: the function's group, opened exclusively by the caller
 * (daemon/device-proof.h): vfiod attaches it to a type1 container of its
 * own for the reset and detaches it after. -1: the group iommu_group is
 * opened here (the open is exclusive: -EBUSY while anyone holds it), and
 * where there are no group nodes (a kernel without VFIO_GROUP) the device
 * cdev is bound to a fresh iommufd. No fault step (vfiod/fault.h) is
 * passed: a failed reset is a quarantine, not a host change to undo.
 *
 * 0 and *ret_check: reset and checked; VFD_RESET_CHECK_NONE: the function
 * has no reset method, nothing done; VFD_RESET_CHECK_OFF_VFIO: it is bound
 * to no VFIO driver, nothing done. Negative, error says why, the
 * function must not go to another VM:
 *   the ioctl's errno   the kernel's reset failed (e.g. -EIO)
 *   -ENOTRECOVERABLE    the reset returned success but did not take
 *   -ENODEV             the function no longer answers after the reset
 *   others              it could not be opened for the reset
 */
int vfd_pci_reset_and_verify(vfd_context *ctx, const char *device, int group_fd, int iommu_group,
			     vfd_op_error *error, vfd_reset_check *ret_check);
