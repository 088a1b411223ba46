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

/*
 * A claim takes a function's whole IOMMU group into the VM's IOMMU domain
 * (and a VMM that opens the group node opens every member): a quarantined
 * member, whose reset did not take, would reach the next VM through a
 * sibling's claim. -EKEYREVOKED naming the member.
 */
int manager_quarantine_check_group(Manager *m, const vfd_pci_address *addr, vfd_op_error *error)
{
	_cleanup_(vfd_pci_device_freep) vfd_pci_device *d = NULL;
	_cleanup_(vfd_iommu_group_freep) vfd_iommu_group *g = NULL;
	char name[VFD_PCI_ADDRESS_STRLEN];
	int r;

	vfd_pci_address_format(addr, name);
	r = manager_quarantine_check(m, name, error);
	if (r < 0 || quarantine_count(m->quarantine) == 0)
		return r;
	r = vfd_pci_device_load(m->ctx, addr, &d);
	if (r < 0 || d->iommu_group < 0)
		return 0; /* the claim reports it */
	r = vfd_iommu_group_load(m->ctx, (unsigned) d->iommu_group, &g);
	if (r < 0)
		return 0;
	for (size_t i = 0; i < g->n_members; i++) {
		const QuarantineEntry *e = quarantine_find(m->quarantine, g->members[i].name);

		if (e)
			return vfd_op_error_set(error, -EKEYREVOKED, name, "IOMMU group %u holds "
						"%s, quarantined until 'vfioctl quarantine clear %s': "
						"its reset failed%s%s: %s", g->id, e->device, e->device,
						e->vm[0] ? " as it left VM " : "", e->vm, e->reason);
	}
	return 0;
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
