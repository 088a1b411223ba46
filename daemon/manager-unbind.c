/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ad-hoc give-backs (Unbind, RemoveMdev) and the proof they need first
 * (device-proof.h): an Unbind of a device someone holds is answered
 * DeviceBusy, the device stays bound, and vfiod unbinds it once the last
 * holder has closed it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "device-proof.h"
#include "log.h"
#include "manager.h"
#include "vm.h"

#define UNBIND_RETRY_FIRST_USEC (200 * UINT64_C(1000))
#define UNBIND_RETRY_MAX_USEC (10 * UINT64_C(1000000))

int manager_adhoc_prove_free(Manager *m, const vfd_bind_record *rec, vfd_op_error *error,
			     int *ret_guard)
{
	DeviceProofTarget targets[16];
	int group = -1;
	size_t n = 0;

	for (size_t i = 0; i < rec->n_members && n < 16; i++)
		if (rec->members[i].changed) {
			targets[n++] = (DeviceProofTarget) { .name = rec->members[i].name };
			group = (int) rec->members[i].group;
		}
	*ret_guard = -1;
	if (n == 0)
		return 0;
	return device_prove_free(m->ctx, m->mm, group, targets, n, error, ret_guard);
}

int manager_mdev_prove_free(Manager *m, const char *uuid, vfd_op_error *error, int *ret_guard)
{
	_cleanup_(vfd_mdev_freep) vfd_mdev *mdev = NULL;
	DeviceProofTarget t = { .name = uuid, .is_mdev = true };

	*ret_guard = -1;
	if (vfd_mdev_load(m->ctx, uuid, &mdev) < 0)
		return 0; /* no such mdev: the removal says so */
	return device_prove_free(m->ctx, m->mm, mdev->iommu_group, &t, 1, error, ret_guard);
}

static void pending_drop(Manager *m, size_t i)
{
	memmove(&m->unbind_pending[i], &m->unbind_pending[i + 1],
		(m->n_unbind_pending - i - 1) * sizeof(*m->unbind_pending));
	m->n_unbind_pending--;
}

static void arm_retry(Manager *m);

/* the end of an Unbind that waited for its holder: nobody waits for a reply */
static void on_pending_unbound(void *userdata, int r, const vfd_op_error *error, vfd_bind_record *rec)
{
	if (r < 0)
		log_error("Unbind of %s after its holder let go failed: %s", error->subject,
			  error->message);
	else
		log_info("Unbind done: %s is back on its original drivers.", error->subject[0] ?
			 error->subject : "the device");
	vfd_bind_record_free(rec);
}

static int on_unbind_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	Manager *m = userdata;

	retry_timer_disarm(&m->unbind_retry);
	for (size_t i = m->n_unbind_pending; i-- > 0;) {
		vfd_pci_address addr;
		vfd_op_error error;
		int r;

		vfd_op_error_clear(&error);
		if (vfd_pci_address_parse(m->unbind_pending[i], &addr) < 0) {
			pending_drop(m, i);
			continue;
		}
		r = manager_unbind_start(m, &addr, on_pending_unbound, NULL, &error);
		if (r == -EBUSY)
			continue; /* still held (manager_unbind_later() keeps it listed) */
		if (r == -ENOLINK)
			log_info("Unbind of %s: done meanwhile by another call.", m->unbind_pending[i]);
		else if (r < 0)
			log_error("Unbind of %s, waiting for its holder, failed: %s", m->unbind_pending[i],
				  error.message);
		else
			log_info("Unbind of %s: its last holder let go; giving it back.",
				 m->unbind_pending[i]);
		pending_drop(m, i);
	}
	if (m->n_unbind_pending > 0)
		arm_retry(m);
	else
		m->unbind_retry.next_usec = 0;
	return 0;
}

static void arm_retry(Manager *m)
{
	if (retry_timer_arm(&m->unbind_retry, m->event, UNBIND_RETRY_FIRST_USEC, UNBIND_RETRY_MAX_USEC,
			    on_unbind_retry, m) < 0)
		log_error("Cannot arm the next proof of the Unbinds waiting for their holders.");
}

void manager_unbind_later(Manager *m, const char *name)
{
	char (*n)[VFD_PCI_ADDRESS_STRLEN];

	for (size_t i = 0; i < m->n_unbind_pending; i++)
		if (strcmp(m->unbind_pending[i], name) == 0)
			return;
	n = realloc(m->unbind_pending, (m->n_unbind_pending + 1) * sizeof(*n));
	if (!n) {
		log_error("Out of memory: the Unbind of %s is not retried.", name);
		return;
	}
	m->unbind_pending = n;
	snprintf(m->unbind_pending[m->n_unbind_pending++], VFD_PCI_ADDRESS_STRLEN, "%s", name);
	m->unbind_retry.next_usec = 0;
	arm_retry(m);
}

void manager_unbind_pending_free(Manager *m)
{
	retry_timer_disarm(&m->unbind_retry);
	free(m->unbind_pending);
	m->unbind_pending = NULL;
	m->n_unbind_pending = 0;
}

int manager_prove_unused(Manager *m, const VM *vm, int group, const char *name, vfd_op_error *error)
{
	_cleanup_(vfd_iommu_group_freep) vfd_iommu_group *g = NULL;

	bool own_group = false;

	if (group >= 0 && vfd_iommu_group_load(m->ctx, (unsigned) group, &g) >= 0)
		for (size_t i = 0; i < g->n_members; i++) {
			/* another VM's or a Bind's: the claim refuses it (OwnedByOtherVM) */
			if (manager_device_owned_elsewhere(m, g->members[i].name, vm) > 0)
				return 0;
			own_group = own_group || vm_holds(vm, g->members[i].name);
		}
	/*
	 * The VM's own files of the group fail the group's open: then only
	 * vfiod_mm can tell (an iommufd VM holds unbound cdevs, and another
	 * member can still be bound elsewhere)
	 */
	return device_prove_unused(m->ctx, m->mm, own_group ? -1 : group, name, error);
}
