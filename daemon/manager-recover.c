/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Recovery at vfiod's start (before the configuration is applied and the
 * bus name is taken), from the VM journals (vm-journal.h):
 *
 * A VM whose VMM still runs is adopted again. "Still runs" is checked
 * through a pidfd opened first: the process it holds must have the
 * journal's start time and uid (reopen_vmm()); a pid that now names another process (other start time,
 * other uid) is a VMM that is gone, and that process is never touched
 * (no prlimit, no tracking). An adopted VM has its
 * unfinished transaction undone (add) or finished (remove), its limit
 * recomputed; a VM whose VMM is gone is released: every claim given back,
 * the mdevs vfiod created removed, the group nodes returned. What vfiod
 * held open before comes back from systemd's fd store (fdstore.h, taken
 * by each VM's backend, vm_backend_adopt()); what nobody takes is closed.
 * Without a service manager it is lost with the old process: an adopted
 * type1 VM then has no group of its own open any more, so a hot-remove
 * from it needs the vfiod_mm helper or waits for the VMM's exit.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "fdstore.h"
#include "journal-file.h"
#include "log.h"
#include "manager.h"
#include "manager-recover.h"
#include "vm-journal.h"

/*
 * The VMM of the journal, if the same process still runs. The pidfd is
 * opened first and everything after goes through it: while it shows the
 * process alive, the pid cannot name another one, so the start time and
 * the uid read next are that process's. Pid, start time and uid must all
 * match the journal; anything else is a stranger (a recycled pid, a
 * process that changed hands) and is treated as a VMM that is gone: its
 * VM is released and nothing (no prlimit, no tracking) touches it.
 */
static int reopen_vmm(const VMJournalRecord *j, VMMProcess *ret)
{
	VMMProcess p = VMM_PROCESS_NULL;
	uint64_t start;
	uid_t uid;
	int r;

	if (j->vmm_exited)
		return log_debug_errno(ESRCH, "VM %s: its VMM had exited before vfiod's restart.",
				       j->config.name);
	r = vmm_process_from_pid(j->pid, &p);
	if (r < 0)
		return log_debug_errno(r, "VM %s: its VMM (pid %d) is gone: %m", j->config.name,
				       (int) j->pid);
	r = vmm_process_observe(&p, &start, &uid);
	if (r < 0) {
		vmm_process_done(&p);
		return log_debug_errno(r, "VM %s: its VMM (pid %d) is gone: %m", j->config.name,
				       (int) j->pid);
	}
	if (start != j->start_time || uid != j->uid) {
		log_warning("VM %s: pid %d is not its VMM any more (start time %" PRIu64 ", uid %u; "
			    "the journal says %" PRIu64 ", uid %u); the VMM is gone, that process is "
			    "left alone.", j->config.name, (int) j->pid, start, (unsigned) uid,
			    j->start_time, (unsigned) j->uid);
		vmm_process_done(&p);
		return -ESRCH;
	}
	*ret = p;
	return 0;
}

static int recover_one(Manager *m, VMJournalRecord *j)
{
	VMMProcess vmm = VMM_PROCESS_NULL;
	bool alive = false;
	vfd_op_error error;
	VM *vm;
	int r;

	if (j->have_vmm)
		alive = reopen_vmm(j, &vmm) >= 0;

	r = manager_adopt_vm(m, j->id, &j->config, alive ? &vmm : NULL, &vm);
	vmm_process_done(&vmm);
	if (r < 0)
		return log_error_errno(r, "VM %s: cannot adopt it again from its journal: %m",
				       j->config.name);

	/* what the old process knew */
	vm_restore(vm, j, alive);

	vfd_op_error_clear(&error);
	r = vm_recover(vm, alive, &error);
	if (r == VM_STATE_RELEASED) {
		log_info("VM %s: released after vfiod's restart (its VMM is gone).", vm_get_name(vm));
		manager_vm_gone(m, vm);
		return 0;
	}
	if (r == VM_STATE_RELEASING && vm_get_vmm_exited(vm)) {
		/* vm-release.c: each device goes back once proven free, then the VM is dropped */
		log_info("VM %s: released after vfiod's restart as its devices are proven free (its "
			 "VMM is gone).", vm_get_name(vm));
		return 0;
	}
	if (r == VM_STATE_FAILED) {
		log_error("VM %s: giving it back after vfiod's restart failed: %s%s%s; Release retries.",
			  vm_get_name(vm), error.subject, *error.subject ? ": " : "", error.message);
		(void) vm_journal_save(vm);
		return 0;
	}
	log_info("VM %s: adopted again after vfiod's restart (%s, VMM pid %d).", vm_get_name(vm),
		 vm_state_to_string(vm_get_state(vm)), (int) vm_get_vmm(vm)->pid);
	(void) vm_journal_save(vm);
	return 0;
}

static int recover_file(const char *dir, const char *filename, const char *stem, json_object *o,
			void *userdata)
{
	Manager *m = userdata;
	VMJournalRecord j = {};
	int r;

	r = vm_journal_record_parse(o, &j);
	/* one file per VM, named after it */
	if (r >= 0 && strcmp(stem, j.config.name) != 0)
		r = -EBADMSG;
	if (r < 0) {
		vm_journal_record_done(&j);
		return r;
	}
	if (manager_find_vm(m, j.config.name) || manager_find_vm_by_id(m, j.id))
		log_error("VM journal %s/%s names a VM vfiod has already; left alone.", dir, filename);
	else
		(void) recover_one(m, &j);
	vm_journal_record_done(&j);
	return 0;
}

int manager_recover_vms(Manager *m)
{
	int r;

	r = journal_file_foreach(m->journal_dir, "VM journal", recover_file, m);
	/* a stored descriptor of a VM without a journal, or one no VM took: closed */
	fdstore_settle(m->fdstore, NULL);
	return r;
}
