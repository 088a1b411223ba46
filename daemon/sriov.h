/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SR-IOV VF counts that vfiod sets (SetSriovNumVFs, vfiod.json's "sriov")
 * and gives back (RestoreSriov, an entry dropped from vfiod.json).
 * lib/include/vfiod/sriov.h changes the PF; this file decides whether it
 * may, and journals the PF's original state (sriov-journal.h) before the
 * first change, so that a restore, or vfiod's next start after a crash
 * mid-change, brings the PF back to the count the host had.
 *
 * New VFs meet no host driver (autoprobe off); a VF goes to vfio-pci or
 * a variant only when a VM claims it or a binding of the configuration
 * names it (lib/bind.c, per-VF driver_override).
 *
 * Refusals (negative errno, the vfd_op_error says why):
 *   -ETXTBSY      a VF of the PF is owned: claimed by a VM (named with its
 *                 object path) or held by a binding (Bind or vfiod.json)
 *   -EBUSY        a VF is on a VFIO driver outside vfiod (bound by hand):
 *                 it may be open, and its removal would wait for that
 *   -ENOLINK      RestoreSriov of a PF vfiod did not change
 *   and lib/include/vfiod/sriov.h's: -ENODEV, -EMEDIUMTYPE, -ERANGE,
 *   -EBUSY, -ENOPKG, the kernel's errno
 */
#pragma once

#include <stdbool.h>

#include "manager.h"
#include "vfiod/config.h"

typedef enum SriovSource {
	SRIOV_SOURCE_BUS,    /* SetSriovNumVFs */
	SRIOV_SOURCE_CONFIG, /* vfiod.json's "sriov" */
} SriovSource;

int manager_sriov_set(Manager *m, const vfd_pci_address *pf, unsigned num_vfs, SriovSource source,
		      vfd_op_error *error);
int manager_sriov_restore(Manager *m, const vfd_pci_address *pf, vfd_op_error *error);

/*
 * At startup, after the bindings' recovery: a change under way at the
 * last exit is undone (the PF back to its original state, the journal
 * gone); a completed one stays in vfiod's hands.
 */
int manager_recover_sriov(Manager *m);

/*
 * vfiod.json's "sriov" entries (config-apply.c, at start and ApplyConfig):
 * every PF vfiod set from vfiod.json that is not among them any more is
 * restored, then each entry's count is set. Failures are logged; a PF
 * with an owned VF keeps its count.
 */
void manager_sriov_apply_config(Manager *m, const vfd_config_sriov *entries, size_t n);
