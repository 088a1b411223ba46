/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The quarantine: PCI functions whose reset between two VMs failed or did
 * not take (vm-release.c, lib/include/vfiod/device-reset.h). vfiod hands a
 * quarantined function to no VM and to no Bind (manager_claim()) until an
 * administrator clears it (ClearQuarantine, `vfioctl quarantine clear`).
 *
 * Stored as one journal file per function, DIR/<address>.json
 * (journal-file.h: atomic writes, untrusting reads), DIR being
 * /run/vfiod/quarantine: it outlives vfiod's restarts, not the host's
 * reboot, whose platform reset starts every function afresh.
 *
 * Loading fails closed: a file named after a PCI address that cannot be
 * read, or whose fields do not validate, is set aside as .corrupt and its
 * function stays quarantined, with that as the reason (and a fresh record
 * written). Files not named after a PCI address are ignored.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "vfiod/inventory.h"
#include "vfiod/util.h"

#define QUARANTINE_REASON_MAX 256
#define QUARANTINE_VM_MAX 128

typedef struct QuarantineEntry {
	char device[VFD_PCI_ADDRESS_STRLEN];
	char vm[QUARANTINE_VM_MAX];          /* the VM it left; "" when unknown */
	char reason[QUARANTINE_REASON_MAX];  /* why, for people */
	uint64_t since_usec;                 /* CLOCK_REALTIME */
} QuarantineEntry;

typedef struct Quarantine Quarantine;

/* dir NULL: in memory only (no journal directory) */
int quarantine_load(const char *dir, Quarantine **ret);
Quarantine *quarantine_free(Quarantine *q);
VFD_DEFINE_CLEANUP(Quarantine, quarantine_free)

/* the entry of device (canonical address), or NULL */
const QuarantineEntry *quarantine_find(const Quarantine *q, const char *device);
size_t quarantine_count(const Quarantine *q);
/* the i-th entry, by address order; NULL past the end */
const QuarantineEntry *quarantine_get(const Quarantine *q, size_t i);

/*
 * Quarantines device: kept in memory even when the file cannot be
 * written (returned negative then: the quarantine would not outlive a
 * restart). A device quarantined already gets the new reason.
 */
int quarantine_add(Quarantine *q, const char *device, const char *vm, const char *reason);
/* -ENOENT when device is not quarantined; the file is removed first */
int quarantine_clear(Quarantine *q, const char *device);

/* the directory of q's records; NULL: in memory only */
const char *quarantine_dir(const Quarantine *q);
/*
 * Writes device's record into dir and touches no Quarantine: for the
 * unbind worker's thread, so that a failed reset is on disk before the
 * function is unbound (a vfiod killed meanwhile still knows at its next
 * start). The loop's quarantine_add() follows with the same record.
 */
int quarantine_record_write(const char *dir, const char *device, const char *vm, const char *reason);
