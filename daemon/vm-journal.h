/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VM journal: one JSON file per VM under the manager's journal
 * directory (<root>/run/vfiod/vms; the unit keeps /run/vfiod across
 * restarts, RuntimeDirectoryPreserve=yes, and a reboot empties it, as it
 * resets the devices). It holds what vfiod would need to give everything
 * back: the VM's identity and options, its VMM (pid and start time), the
 * limit it set and the VMM's original one, every device with its claim
 * record, grant and mdev, and the device change in progress (VMTxn).
 *
 * Written atomically (a temporary file, fsync, rename, fsync of the
 * directory) after every change of that state and before every host
 * change of a device transaction. A file that cannot be read is moved
 * aside (.corrupt) and reported, never deleted.
 *
 * Recovery (vfiod's start, before the bus name is taken): a VM whose VMM
 * still runs (same pid and start time) is adopted again and its
 * unfinished transaction undone (add) or finished (remove), its limit
 * recomputed; a VM whose VMM is gone is released: every claim given back,
 * the mdevs vfiod created removed, the group nodes returned. What vfiod
 * held open before is lost with the old process: an adopted type1 VM has
 * no group of its own open any more, so a hot-remove from it waits for
 * the VMM's exit (DeviceBusy until then).
 */
#pragma once

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
 * Tests only ($VFIOD_TEST_CRASH): the daemon exits at once, without any
 * cleanup, when it reaches this point of a transaction, as a crash would.
 * Points: add-claimed, add-raised, remove-proved, remove-given-back.
 */
void vm_journal_set_test_crash(const char *point);
void vm_journal_crash_point(const char *point);
