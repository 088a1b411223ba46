/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SR-IOV VF counts (lib/sriov.c): how many VFs a physical function has
 * enabled, changed so that no VF ever meets a host driver.
 *
 * Before VFs are created, the PF's sriov_drivers_autoprobe is set to 0:
 * the kernel then probes a new VF only for a driver named in its
 * driver_override, so each VF stays unbound until a claim (lib/bind.c)
 * moves it to vfio-pci or a variant, one VF at a time. The kernel takes a
 * new count only from 0 (sriov_numvfs N over M > 0 is -EBUSY), so a
 * change from M to N > 0 goes through 0.
 *
 * A failure midway puts the PF back where the call found it: its VF count
 * and its autoprobe setting. vfd_sriov_restore() brings a PF back to a
 * state read earlier (the one before the first change, which vfiod
 * journals), the way the host had it.
 *
 * Errors (negative errno; the vfd_op_error says which device and why):
 *   -ENODEV       no such PCI function
 *   -EMEDIUMTYPE  not an SR-IOV physical function (a VF, or a function
 *                 without sriov_totalvfs)
 *   -ERANGE       more VFs than sriov_totalvfs
 *   -EBUSY        the PF itself is on a VFIO driver (a VM may own it)
 *   -ENOPKG       the PF has no driver: the kernel enables VFs only
 *                 through the PF's driver (sriov_configure)
 *   other         the kernel refused a write (its errno)
 */
#pragma once

#include <stdbool.h>

#include "vfiod/inventory.h"
#include "vfiod/op-error.h"

typedef struct vfd_sriov_state {
	unsigned total_vfs;
	unsigned num_vfs;
	bool drivers_autoprobe;
} vfd_sriov_state;

/* the PF's counts and autoprobe; -ENODEV, -EMEDIUMTYPE as above */
int vfd_sriov_read(vfd_context *ctx, const vfd_pci_address *pf, vfd_op_error *error,
		   vfd_sriov_state *ret);

/*
 * Sets the PF's VF count to num_vfs with autoprobe off (a count of 0 also
 * leaves autoprobe off: vfd_sriov_restore() gives it back). Nothing is
 * written when the PF has that count with autoprobe off already.
 */
int vfd_sriov_set_num_vfs(vfd_context *ctx, const vfd_pci_address *pf, unsigned num_vfs,
			  vfd_op_error *error);

/*
 * Brings the PF back to original (its num_vfs and drivers_autoprobe; its
 * total_vfs is not used): VFs removed first, autoprobe as it was, then the
 * original count, whose VFs meet host drivers again if autoprobe was on.
 */
int vfd_sriov_restore(vfd_context *ctx, const vfd_pci_address *pf, const vfd_sriov_state *original,
		      vfd_op_error *error);
