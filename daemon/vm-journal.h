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
 * Recovery (vfiod's start, before the configuration is applied and the
 * bus name is taken): a VM whose VMM still runs is adopted again. "Still
 * runs" is checked through a pidfd opened first: the process it holds
 * must have the journal's start time and uid (reopen_vmm() in
 * vm-journal.c); a pid that now names another process (other start time,
 * other uid) is a VMM that is gone, and that process is never touched
 * (no prlimit, no tracking). An adopted VM has its
 * unfinished transaction undone (add) or finished (remove), its limit
 * recomputed; a VM whose VMM is gone is released: every claim given back,
 * the mdevs vfiod created removed, the group nodes returned. What vfiod
 * held open before is lost with the old process: an adopted type1 VM has
 * no group of its own open any more, so a hot-remove from it waits for
 * the VMM's exit (DeviceBusy until then).
 */
#pragma once

#include "journal-file.h"
#include "vm.h"

/* writes vm's record; logs and returns a negative errno on failure */
int vm_journal_save(VM *vm);
/* the VM is gone: its record too */
void vm_journal_remove(VM *vm);
/* at startup, before serving: adopts or releases every journaled VM */
int manager_recover_vms(Manager *m);
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
