/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The manager's side of the quarantine (quarantine.h): loaded at start,
 * asked by every claim (manager_claim(): a VM's AddDevice, Bind, the
 * configuration's bindings), filled by a release whose reset failed
 * (vm-release.c), emptied only by ClearQuarantine.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "manager.h"
#include "quarantine.h"

int manager_quarantine_load(Manager *m)
{
	_cleanup_free_ char *dir = NULL;
	int r;

	if (asprintf(&dir, "%s/run/vfiod/quarantine", m->root ? m->root : "") < 0)
		return -ENOMEM;
	r = quarantine_load(dir, &m->quarantine);
	if (r < 0)
		return log_error_errno(r, "Cannot load the quarantine %s: %m", dir);
	for (size_t i = 0; i < quarantine_count(m->quarantine); i++) {
		const QuarantineEntry *e = quarantine_get(m->quarantine, i);

		log_warning("%s is quarantined: %s. It goes to no VM until an administrator "
			    "clears it (vfioctl quarantine clear %s).", e->device, e->reason, e->device);
	}
	return 0;
}

int manager_quarantine_check(Manager *m, const char *name, vfd_op_error *error)
{
	const QuarantineEntry *e = quarantine_find(m->quarantine, name);

	if (!e)
		return 0;
	/* the way out first: a long reason is what the message's bound cuts */
	return vfd_op_error_set(error, -EKEYREVOKED, name, "quarantined until 'vfioctl quarantine "
				"clear %s': its reset failed%s%s: %s", name,
				e->vm[0] ? " as it left VM " : "", e->vm, e->reason);
}

void manager_quarantine_device(Manager *m, const char *name, const char *vm, const char *reason)
{
	int r;

	r = quarantine_add(m->quarantine, name, vm, reason);
	log_error("%s is quarantined: %s. It goes to no VM until an administrator clears it "
		  "(vfioctl quarantine clear %s).", name, reason, name);
	if (r < 0)
		log_error_errno(r, "Cannot record the quarantine of %s (%m): it holds until vfiod "
				"restarts only.", name);
}

int manager_quarantine_clear(Manager *m, const char *name)
{
	int r;

	r = quarantine_clear(m->quarantine, name);
	if (r == -ENOENT)
		return -ENOKEY;
	if (r < 0)
		return r;
	log_notice("%s: quarantine cleared by an administrator; it may go to VMs again.", name);
	return 0;
}
