/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SR-IOV VF counts set and given back by vfiod; see sriov.h. */
#include <errno.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "journal-file.h"
#include "log.h"
#include "sriov-journal.h"
#include "sriov.h"
#include "vfiod/host-root.h"
#include "vm.h"

static bool record_holds(const vfd_bind_record *rec, const char *name)
{
	for (size_t i = 0; i < rec->n_members; i++)
		if (strcmp(rec->members[i].name, name) == 0)
			return true;
	return false;
}

static const char *record_requested(const vfd_bind_record *rec)
{
	for (size_t i = 0; i < rec->n_members; i++)
		if (rec->members[i].requested)
			return rec->members[i].name;
	return "?";
}

static void note_pf(Manager *m, const char *name)
{
	if (m->inventory)
		inventory_note_pci(m->inventory, name);
}

/*
 * A VF on a VFIO driver that vfiod does not hold (bound by hand, or by
 * another tool) may be open in some process: the kernel's removal of the
 * VF would then wait, in the sysfs write on vfiod's loop, until that
 * process lets go. -EBUSY instead.
 */
static int check_vf_not_on_vfio(Manager *m, const vfd_pci_address *vf, vfd_op_error *error)
{
	_cleanup_(vfd_pci_device_freep) vfd_pci_device *d = NULL;
	int r;

	r = vfd_pci_device_load(m->ctx, vf, &d);
	if (r == -ENODEV)
		return 0; /* gone meanwhile */
	if (r < 0)
		return r;
	if (!d->driver)
		return 0;
	r = vfd_driver_is_vfio(m->ctx, d->driver);
	if (r < 0)
		return r;
	if (r > 0)
		return vfd_op_error_set(error, -EBUSY, d->name,
					"the VF is on %s outside vfiod (a process may have it open, and "
					"removing it would wait for that); unbind it first", d->driver);
	return 0;
}

/*
 * A count change removes every VF: one that carries the host's "/" or
 * "/usr" (an NVMe VF's namespace, say) would take the host's root file
 * system with it. -EBUSY, as a claim of it is refused (lib/host-root.h).
 */
static int check_vf_not_host_root(Manager *m, const char *vf, const dev_t *roots, size_t n_roots,
				  vfd_op_error *error)
{
	dev_t dev;

	if (vfd_pci_carries_host_root(m->ctx, vf, roots, n_roots, &dev) > 0)
		return vfd_op_error_set(error, -EBUSY, vf, "the VF carries the host's root file "
					"system (block device %u:%u): its PF's VF count never changes",
					major(dev), minor(dev));
	return 0;
}

/*
 * -ETXTBSY, naming the owner, when a VF of pf is claimed by a VM or held
 * by a binding: its count may not change under it.
 */
static int check_vfs_unowned(Manager *m, const vfd_pci_address *pf, vfd_op_error *error)
{
	_cleanup_(vfd_pci_device_freep) vfd_pci_device *d = NULL;
	char vf[VFD_PCI_ADDRESS_STRLEN];
	dev_t roots[VFD_HOST_ROOT_DEVS_MAX];
	size_t n_roots = vfd_host_root_devices(roots);
	int r;

	r = vfd_pci_device_load(m->ctx, pf, &d);
	if (r < 0)
		return r;
	for (size_t i = 0; i < d->n_virtfns; i++) {
		vfd_pci_address_format(&d->virtfns[i], vf);
		r = check_vf_not_host_root(m, vf, roots, n_roots, error);
		if (r < 0)
			return r;
		for (size_t k = 0; k < m->n_vms; k++)
			if (vm_holds(m->vms[k], vf))
				return vfd_op_error_set(error, -ETXTBSY, d->name,
							"its VF %s is owned by VM %s (%s); release it first",
							vf, vm_get_name(m->vms[k]), vm_get_path(m->vms[k]));
		for (size_t k = 0; k < m->n_adhoc; k++)
			if (record_holds(m->adhoc[k], vf))
				return vfd_op_error_set(error, -ETXTBSY, d->name,
							"its VF %s is held by vfiod's binding of %s (Bind or "
							"vfiod.json); unbind it first", vf,
							record_requested(m->adhoc[k]));
		r = check_vf_not_on_vfio(m, &d->virtfns[i], error);
		if (r < 0)
			return r;
	}
	return 0;
}

int manager_sriov_set(Manager *m, const vfd_pci_address *pf, unsigned num_vfs, SriovSource source,
		      vfd_op_error *error)
{
	SriovJournal j = {}, before;
	vfd_sriov_state cur;
	bool had_journal;
	int r;

	vfd_pci_address_format(pf, j.device);
	r = vfd_sriov_read(m->ctx, pf, error, &cur);
	if (r < 0)
		return r;
	if (num_vfs > cur.total_vfs)
		return vfd_op_error_set(error, -ERANGE, j.device,
					"%u VFs asked for, the PF supports at most %u", num_vfs,
					cur.total_vfs);
	r = check_vfs_unowned(m, pf, error);
	if (r < 0)
		return r;

	r = sriov_journal_load(m, j.device, &before);
	if (r < 0)
		return vfd_op_error_set(error, r, j.device, "its SR-IOV journal cannot be read");
	had_journal = r > 0;
	if (had_journal && before.num_vfs == num_vfs && !before.changing &&
	    cur.num_vfs == num_vfs && !cur.drivers_autoprobe) {
		/* the configuration adopts what the bus set, or the other way round */
		if (before.source != source) {
			before.source = source;
			(void) sriov_journal_save(m, &before);
		}
		return 0;
	}

	/* the original is the host's: from the first change on, it is journaled */
	j.original = had_journal ? before.original : cur;
	j.source = source;
	j.num_vfs = num_vfs;
	j.changing = true;
	r = sriov_journal_save(m, &j);
	if (r < 0)
		return vfd_op_error_set(error, r, j.device, "cannot journal the change");
	journal_crash_point("sriov-planned");

	r = vfd_sriov_set_num_vfs(m->ctx, pf, num_vfs, error);
	/* autoprobe has no uevent of its own: the PF's record is read again */
	note_pf(m, j.device);
	if (r < 0) {
		/* the library put the PF back where it was */
		if (had_journal)
			(void) sriov_journal_save(m, &before);
		else
			sriov_journal_remove(m, j.device);
		return r;
	}
	j.changing = false;
	(void) sriov_journal_save(m, &j);
	log_info("%s: %u VFs (%s; originally %u, autoprobe %s), none on a host driver.", j.device,
		 num_vfs, source == SRIOV_SOURCE_CONFIG ? "vfiod.json" : "SetSriovNumVFs",
		 j.original.num_vfs, j.original.drivers_autoprobe ? "on" : "off");
	return 0;
}

static int restore(Manager *m, const vfd_pci_address *pf, const SriovJournal *j, vfd_op_error *error)
{
	int r;

	r = vfd_sriov_restore(m->ctx, pf, &j->original, error);
	note_pf(m, j->device);
	if (r < 0)
		return r;
	sriov_journal_remove(m, j->device);
	log_info("%s: back to its original %u VFs, autoprobe %s.", j->device, j->original.num_vfs,
		 j->original.drivers_autoprobe ? "on" : "off");
	return 0;
}

int manager_sriov_restore(Manager *m, const vfd_pci_address *pf, vfd_op_error *error)
{
	SriovJournal j;
	char name[VFD_PCI_ADDRESS_STRLEN];
	int r;

	vfd_pci_address_format(pf, name);
	r = sriov_journal_load(m, name, &j);
	if (r < 0)
		return vfd_op_error_set(error, r, name, "its SR-IOV journal cannot be read");
	if (r == 0) {
		vfd_sriov_state st;

		/* not a PF at all says so first */
		r = vfd_sriov_read(m->ctx, pf, error, &st);
		if (r < 0)
			return r;
		return vfd_op_error_set(error, -ENOLINK, name, "vfiod did not change its VFs");
	}
	r = check_vfs_unowned(m, pf, error);
	if (r < 0)
		return r;
	return restore(m, pf, &j, error);
}

static int recover_one(Manager *m, const SriovJournal *j, void *userdata)
{
	vfd_op_error error = {};
	vfd_pci_address pf;

	if (!j->changing) {
		log_info("%s: %u VFs set by vfiod before its restart; RestoreSriov gives back the "
			 "original %u.", j->device, j->num_vfs, j->original.num_vfs);
		return 0;
	}
	if (vfd_pci_address_parse(j->device, &pf) < 0)
		return 0;
	/* nobody was told the change succeeded: the PF goes back to the host's state */
	if (restore(m, &pf, j, &error) < 0)
		log_error("%s: a VF count change was under way at vfiod's exit; restoring the "
			  "original %u VFs failed: %s; RestoreSriov retries.", j->device,
			  j->original.num_vfs, error.message);
	else
		log_info("%s: the VF count change under way at vfiod's exit was undone.", j->device);
	return 0;
}

int manager_recover_sriov(Manager *m)
{
	return sriov_journal_foreach(m, recover_one, NULL);
}

typedef struct KeptPFs {
	const vfd_config_sriov *entries;
	size_t n;
} KeptPFs;

static int restore_if_dropped(Manager *m, const SriovJournal *j, void *userdata)
{
	const KeptPFs *kept = userdata;
	vfd_op_error error = {};
	vfd_pci_address pf;

	if (j->source != SRIOV_SOURCE_CONFIG || vfd_pci_address_parse(j->device, &pf) < 0)
		return 0;
	for (size_t i = 0; i < kept->n; i++)
		if (strcmp(kept->entries[i].name, j->device) == 0)
			return 0;
	if (check_vfs_unowned(m, &pf, &error) < 0 || restore(m, &pf, j, &error) < 0)
		log_warning("Config: %s is no longer in vfiod.json, but its VFs stay: %s.", j->device,
			    error.message);
	return 0;
}

void manager_sriov_apply_config(Manager *m, const vfd_config_sriov *entries, size_t n)
{
	KeptPFs kept = { .entries = entries, .n = n };

	(void) sriov_journal_foreach(m, restore_if_dropped, &kept);
	for (size_t i = 0; i < n; i++) {
		vfd_op_error error = {};

		if (manager_sriov_set(m, &entries[i].address, entries[i].num_vfs, SRIOV_SOURCE_CONFIG,
				      &error) < 0)
			log_error("Config: sriov %s: cannot set %u VFs: %s.", entries[i].name,
				  entries[i].num_vfs, error.message);
	}
}
