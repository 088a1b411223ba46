/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The binding journal: the ad-hoc claims (Bind outside any VM, and the
 * configuration's bindings, which are ad-hoc claims too) outlive a vfiod
 * restart. One file per claim, named after the function it was asked
 * for: <root>/run/vfiod/bindings/<DOMAIN:BUS:DEV.FN>.json, written with
 * journal-file.h (atomic; untrusting reads; .corrupt when unreadable):
 *
 *   {"version":1, "device":"0000:01:00.0", "state":"planned"|"held",
 *    "claim":{"members":[...]}}       (vfd_bind_record_to_json())
 *
 * The plan is written before the first member moves ("planned": every
 * member's original driver and driver_override, changed on those about
 * to move), the record when the claim is complete ("held"); Unbind
 * removes the file once every member is back, or writes what is left.
 *
 * Recovery (vfiod's start, after the VM journal, before the
 * configuration): a "planned" claim did not finish, no caller was told
 * it succeeded, and it is undone from the plan (vfd_bind_release() also
 * undoes a half-done move); a "held" one is an ad-hoc claim again, so
 * Unbind restores each member's original driver and driver_override
 * exactly as the process that made it would have. A claim with a member
 * a VM (or an earlier file) holds is left alone and reported.
 *
 * Crash points ($VFIOD_TEST_CRASH, journal-file.h): bind-planned (the
 * plan journaled, nothing moved), bind-claimed (every member moved, the
 * journal still says planned).
 */
#pragma once

#include "manager.h"
#include "vfiod/bind.h"

/* one ad-hoc claim under way: the opts.userdata of its vfd_bind_claim() */
typedef struct BindTxn {
	Manager *manager;
	vfd_bind_record *plan; /* as journaled; NULL until the claim planned */
} BindTxn;

/* vfd_bind_options.planned: journals the plan (userdata: the BindTxn) */
int bind_journal_planned(const vfd_bind_record *plan, void *userdata);
/*
 * The claim failed after it planned: the library rolled back; the
 * journaled plan proves it (undoing again what may be left) and the file
 * goes. If something cannot be put back, the plan stays journaled and
 * becomes an ad-hoc claim, so Unbind (or the next start) retries.
 */
void bind_txn_failed(BindTxn *t);
void bind_txn_done(BindTxn *t);

/* rec is held: its file says so (logs and returns a negative errno on failure) */
int bind_journal_save_held(Manager *m, const vfd_bind_record *rec);
/* rec is given back: its file goes */
void bind_journal_remove(Manager *m, const vfd_bind_record *rec);

/* at startup, after manager_recover_vms(): undoes or adopts every journaled claim */
int manager_recover_bindings(Manager *m);
