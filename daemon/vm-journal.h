/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VM journal: one JSON file per VM under the manager's journal
 * directory (<root>/run/vfiod/vms; the unit keeps /run/vfiod across
 * restarts, RuntimeDirectoryPreserve=yes, and a reboot empties it, as it
 * resets the devices). It holds what vfiod would need to give everything
 * back: the VM's identity and options, its VMM (pid, start time, uid), the
 * limit it set and the VMM's original one, every device with its claim
 * record, grant and mdev, and the device change in progress (VMTxn).
 *
 * Written atomically (journal-file.h) after every change of that state
 * and before every host change of a device transaction. A file that
 * cannot be read (journal-file.h's checks, then every field here: names
 * through lib's parsers, the file named after its VM, the VMM's pid,
 * start time AND uid present) is moved aside (.corrupt) and reported,
 * never deleted; its devices are left as they are.
 *
 * Recovery at vfiod's start reads these files: manager-recover.c.
 */
#pragma once

#include <json-c/json.h>

#include "journal-file.h"
#include "vm.h"

/* writes vm's record; logs and returns a negative errno on failure */
int vm_journal_save(VM *vm);
/* the VM is gone: its record too */
void vm_journal_remove(VM *vm);
/* the VM is freed: no more writes */
void vm_journal_done(VM *vm);

/* what the VM restores from its journal (vm_restore()); vm-private.h */
typedef struct VMJournalSaved VMJournalSaved;

/* one journal file, read (manager-recover.c adopts the VM from it) */
typedef struct VMJournalRecord {
	VMConfig config; /* its strings point into the parsed JSON */
	unsigned id;
	bool have_vmm;
	bool vmm_exited; /* the VMM had exited when the journal was written */
	pid_t pid;
	uint64_t start_time;
	uid_t uid;
	VMJournalSaved *saved;
} VMJournalRecord;

/* every field checked (names through lib's parsers); -EBADMSG, -EPROTONOSUPPORT */
int vm_journal_record_parse(json_object *o, VMJournalRecord *ret);
void vm_journal_record_done(VMJournalRecord *j);

/*
 * Reads one journal file's text as manager_recover_vms() does, keeps
 * nothing and touches nothing: 0, or the negative errno for which
 * recovery would set the file aside. For fuzz/fuzz-journal.c.
 */
int vm_journal_parse_text(const char *text);

/*
 * Tests only: journal_crash_point() (journal-file.h) under the name vm.c
 * uses. Points: add-claimed, add-raised, remove-proved, remove-given-back.
 */
static inline void vm_journal_crash_point(const char *point)
{
	journal_crash_point(point);
}
