/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "inventory.h"
#include "log.h"
#include "manager.h"
#include "vm-journal.h"
#include "vgpu.h"
#include "vfiod/vendor-vgpu.h"

/* candidate VFs tried per parent */
#define VGPU_CANDIDATES_MAX 16

void vgpu_note_changed(Manager *m, const char *vf)
{
	_cleanup_(vfd_pci_device_freep) vfd_pci_device *d = NULL, *pf = NULL;
	char name[VFD_PCI_ADDRESS_STRLEN];
	vfd_pci_address a;

	inventory_note_pci(m->inventory, vf);
	if (vfd_pci_address_parse(vf, &a) < 0 || vfd_pci_device_load(m->ctx, &a, &d) < 0 ||
	    !d->is_virtfn)
		return;
	/* the PF's creatable lists change with each VF's type: every sibling */
	inventory_note_pci(m->inventory, vfd_pci_address_format(&d->physfn, name));
	if (vfd_pci_device_load(m->ctx, &d->physfn, &pf) < 0)
		return;
	for (size_t i = 0; i < pf->n_virtfns; i++)
		inventory_note_pci(m->inventory, vfd_pci_address_format(&pf->virtfns[i], name));
}

int vgpu_take(Manager *m, const char *vf, unsigned type, vfd_op_error *error)
{
	_cleanup_(vfd_vgpu_info_freep) vfd_vgpu_info *v = NULL;
	int r;

	r = vfd_vgpu_read(m->ctx, vf, &v);
	if (r == -ENOENT)
		return vfd_op_error_set(error, -ENOPROTOOPT, vf, "its driver offers no vGPU types");
	if (r < 0)
		return vfd_op_error_set(error, r, vf, "cannot read its vGPU types");
	if (!vfd_vgpu_info_can_take(v, type))
		return vfd_op_error_set(error, -EREMOTEIO, vf, v->current_type ?
					"it has vGPU type %u already" : "vGPU type %u is not creatable on it",
					v->current_type ? v->current_type : type);
	r = vfd_vgpu_set_type(m->ctx, vf, type);
	vgpu_note_changed(m, vf);
	if (r < 0)
		return vfd_op_error_set(error, -EREMOTEIO, vf, "the driver refused vGPU type %u: %s",
					type, strerror(-r));
	log_info("VF %s: vGPU type %u (%s).", vf, type, vfd_vgpu_info_type_name(v, type));
	vm_journal_crash_point("add-vgpu-set");
	return 0;
}

int vgpu_reset_ctx(vfd_context *ctx, const char *vf)
{
	int r = vfd_vgpu_set_type(ctx, vf, 0);

	return r == -ENOENT || r == -ENODEV ? 0 : r;
}

int vgpu_reset(Manager *m, const char *vf)
{
	int r = vgpu_reset_ctx(m->ctx, vf);

	vgpu_note_changed(m, vf);
	if (r < 0)
		log_error("VF %s: cannot set the vGPU type back to 0: %s", vf, strerror(-r));
	return r;
}

int vgpu_reset_device(Manager *m, const VMDevice *d)
{
	return d->vgpu_type ? vgpu_reset(m, d->name) : 0;
}

/* taken: owned by a VM or a Bind, or quarantined (the next VF is tried instead) */
static int owned_by_anyone(const char *name, void *userdata)
{
	int r = manager_device_owned_elsewhere(userdata, name, NULL);

	if (r == 0 && manager_quarantine_check(userdata, name, NULL) < 0)
		r = 1;
	return r;
}

/* a parent that cannot give the type, not a failure */
static bool not_here(int r)
{
	return r == -ENOSPC || r == -ENOENT || r == -ENOTSUP || r == -ENODEV;
}

/* the refusal that says most: no free VF over no such type over no parent */
static int refusal_rank(int r)
{
	return r == -ENOSPC ? 3 : r == -ENOENT ? 2 : 1;
}

/* tries the candidates of one parent; 0 when one became the VM's */
static int try_parent(VM *vm, const char *parent, unsigned type, vfd_op_error *error,
		      char ret_name[VFD_PCI_ADDRESS_STRLEN])
{
	Manager *m = vm_get_manager(vm);
	vfd_pci_address cands[VGPU_CANDIDATES_MAX];
	int n, r = -ENOSPC;

	n = vfd_vgpu_pick(m->ctx, parent, type, owned_by_anyone, m, error, cands,
			  VGPU_CANDIDATES_MAX);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		vfd_op_error e;

		vfd_op_error_clear(&e);
		r = vm_add_pci_vgpu(vm, &cands[i], type, &e);
		if (r >= 0) {
			vfd_pci_address_format(&cands[i], ret_name);
			return 0;
		}
		/* this VF does not take it: the next one may */
		log_info("VM %s: VF %s does not become vGPU type %u: %s", vm_get_name(vm),
			 e.subject, type, e.message);
		/* a VF somebody outside vfiod has open is in use, not the end of the search */
		if (r != -ENOPROTOOPT && r != -EREMOTEIO && !(r == -EBUSY && e.held)) {
			*error = e;
			return r;
		}
	}
	return vfd_op_error_set(error, -ENOSPC, parent, "no free VF of %s took vGPU type %u",
				parent, type);
}

int vm_create_vgpu(VM *vm, const char *parent, unsigned type, vfd_op_error *error,
		   char ret_name[VFD_PCI_ADDRESS_STRLEN])
{
	Manager *m = vm_get_manager(vm);
	vfd_op_error best, e;
	int r, best_r;

	if (type == 0)
		return vfd_op_error_set(error, -EINVAL, vm_get_name(vm), "vGPU type 0 is no type");
	vfd_op_error_clear(&best);

	if (parent && *parent) {
		best_r = try_parent(vm, parent, type, &best, ret_name);
	} else {
		vfd_pci_device **devs = NULL;
		size_t n = 0;

		r = vfd_pci_device_enumerate(m->ctx, &devs, &n);
		if (r < 0)
			return vfd_op_error_set(error, r, vm_get_name(vm), "cannot list the PCI functions");
		best_r = vfd_op_error_set(&best, -ENOTSUP, vm_get_name(vm), "no SR-IOV PF has VFs");
		/* every PF with VFs, in address order, until one gives the type */
		for (size_t i = 0; i < n; i++) {
			if (devs[i]->n_virtfns == 0)
				continue;
			vfd_op_error_clear(&e);
			r = try_parent(vm, devs[i]->name, type, &e, ret_name);
			if (r >= 0 || !not_here(r) || refusal_rank(r) > refusal_rank(best_r)) {
				best_r = r;
				best = e;
			}
			if (r >= 0 || !not_here(r))
				break;
		}
		vfd_pci_device_array_free(devs, n);
	}
	if (best_r >= 0) {
		log_info("VM %s: vGPU type %u on VF %s.", vm_get_name(vm), type, ret_name);
		return 0;
	}

	/* the library's "not here" answers, in CreateVgpu's words */
	r = best_r == -ENOENT ? -ECHRNG : best_r == -ENOSPC ? -ENOSR :
	    best_r == -ENOTSUP || best_r == -ENODEV ? -ENXIO : best_r;
	if (error && !vfd_op_error_is_set(error)) {
		*error = best;
		error->error = r;
	}
	return r;
}
