/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The SR-IOV journal: one file per PF whose VFs vfiod changed,
 * <root>/run/vfiod/sriov/<DOMAIN:BUS:DEV.FN>.json (journal-file.h):
 *
 *   {"version":1, "device":"0000:04:00.0", "state":"changing"|"set",
 *    "source":"bus"|"config", "num_vfs":3,
 *    "original":{"num_vfs":0, "drivers_autoprobe":true}}
 *
 * Written with state "changing" before the first write to the PF, then
 * "set" once the count is there; removed when the PF is back to
 * "original". Crash point ($VFIOD_TEST_CRASH): sriov-planned (journaled,
 * nothing written).
 */
#pragma once

#include <stdbool.h>

#include "sriov.h"
#include "vfiod/sriov.h"

typedef struct SriovJournal {
	char device[VFD_PCI_ADDRESS_STRLEN];
	bool changing;
	SriovSource source;
	unsigned num_vfs;
	vfd_sriov_state original; /* num_vfs and drivers_autoprobe */
} SriovJournal;

/* <root>/run/vfiod/sriov (free it) */
char *sriov_journal_dir(Manager *m);
/* 1 and *ret when device has a journal, 0 when not; a bad file is -EBADMSG */
int sriov_journal_load(Manager *m, const char *device, SriovJournal *ret);
int sriov_journal_save(Manager *m, const SriovJournal *j);
void sriov_journal_remove(Manager *m, const char *device);
/* fn for each journal that parses (a bad one is set aside as .corrupt) */
typedef int (*SriovJournalFn)(Manager *m, const SriovJournal *j, void *userdata);
int sriov_journal_foreach(Manager *m, SriovJournalFn fn, void *userdata);
