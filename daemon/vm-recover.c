/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A VM after vfiod's restart: restored from its journal (vm_restore()),
 * then brought to a state vfiod can stand behind (vm_recover()). The
 * journal files are read and the VMs adopted by manager-recover.c.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "manager.h"
#include "vm-backend.h"
#include "vm-memlock.h"
#include "vm-private.h"
#include "vgpu.h"

void vm_restore(VM *vm, VMJournalRecord *j, bool vmm_alive)
{
	VMJournalSaved *saved = j->saved;

	vm_identity_restore(vm, saved);
	vm->devices = TAKE_PTR(saved->devices);
	vm->n_devices = saved->n_devices;
	saved->n_devices = 0;
	for (size_t i = 0; i < vm->n_devices; i++)
		vm->devices[i].serial = ++vm->manager->next_device_serial;
	vm->txn = saved->txn;
	saved->txn = (VMTxn) {};
	vm->fds_handed_out = saved->fds_handed_out;
	vm_memlock_restore(vm, saved);
	/* not yet on the bus, and journaled again after vm_recover(): no signal, no save */
	if (j->have_vmm && !vmm_alive) {
		/* the VMM is gone: its descriptors and pins with it */
		vm->vmm_exited = true;
		vm->state = saved->state == VM_STATE_PREPARED ? VM_STATE_REGISTERED : saved->state;
	} else
		vm->state = saved->state;
}

/* gives device d back: its group's drivers, the mdev vfiod created */
static int device_give_back(VM *vm, VMDevice *d, vfd_op_error *error)
{
	vfd_context *ctx = vm->manager->ctx;
	int r, first = 0, guard;

	r = vm_backend_unprepare(vm, d);
	if (r < 0 && first == 0)
		first = vfd_op_error_set(error, r, d->name, "cannot give the group node back");

	/* nobody may hold it: the unbind would wait in the kernel, vfiod's loop with it */
	r = vm_device_prove_free(vm, d, error, &guard);
	if (r < 0) {
		vfd_op_error ignored = {};

		/* vfiod's own descriptors back, where the holder lets it have them */
		if (!vm->vmm_exited && vm_backend_prepare(vm, d, &ignored) < 0)
			log_warning("VM %s: cannot open %s again after a refused give-back: %s",
				    vm->name, d->name, ignored.message);
		return r;
	}

	/* the vGPU type vfiod set back to 0 first, the only point where it may change */
	if (d->vgpu_type) {
		r = vgpu_reset(vm->manager, d->name);
		if (r < 0 && first == 0)
			first = vfd_op_error_set(error, r, d->name, "cannot set the vGPU type back to 0");
		if (r >= 0)
			d->vgpu_type = 0;
	}
	if (d->bind && first == 0) {
		r = vfd_bind_release(ctx, d->bind, error);
		if (r < 0 && first == 0)
			first = r;
	}

	if (d->created) {
		r = vfd_mdev_remove(ctx, d->name, error);
		if (r < 0 && r != -ENODEV && first == 0)
			first = r;
		if (r >= 0 || r == -ENODEV)
			d->created = false;
	}

	if (guard >= 0)
		close(guard);
	return first;
}

int vm_recover(VM *vm, bool vmm_alive, vfd_op_error *error)
{
	vfd_context *ctx = vm->manager->ctx;
	VMDevice *d;
	int r = 0;

	/*
	 * 0. the descriptors the old process held, back from the fd store,
	 * before anything is given back: the store's copies are open files
	 * of the devices, and the steps below close and unstore what they
	 * give back as they would have before the restart
	 */
	vm_backend_adopt(vm);

	/*
	 * A move of the charge the old process had under way ends first,
	 * whatever else recovery finds: its target's raised limit goes back
	 * before the VMM's exit can release the VM.
	 */
	vm_memlock_move_recover(vm);

	/* 1. the transaction the old process did not finish: an add undone, a remove finished */
	d = vm->txn.op != VM_TXN_NONE ? vm_find_device(vm, vm->txn.device) : NULL;
	if (d) {
		r = device_give_back(vm, d, error);
		if (r >= 0)
			vm_drop_device(vm, d);
	} else if (vm->txn.op == VM_TXN_ADD) {
		/* the type, maybe set already: back to 0 before the claim goes back */
		if (vm->txn.vgpu_type) {
			r = vgpu_reset(vm->manager, vm->txn.device);
			if (r < 0)
				vfd_op_error_set(error, r, vm->txn.device, "cannot set the vGPU type back to 0");
		}
		if (r >= 0 && vm->txn.planned)
			r = vfd_bind_release(ctx, vm->txn.planned, error);
		if (r >= 0 && vm->txn.creates_mdev) {
			r = vfd_mdev_remove(ctx, vm->txn.device, error);
			if (r == -ENODEV)
				r = 0;
		}
	}
	if (vm->txn.op != VM_TXN_NONE)
		log_info("VM %s: the %s of %s was under way at vfiod's exit: %s%s.", vm->name,
			 vm->txn.op == VM_TXN_ADD ? "add" : "remove", vm->txn.device,
			 vm->txn.op == VM_TXN_ADD ? "undone" : "finished", r < 0 ? " (FAILED)" : "");
	if (r < 0) {
		/* the journal keeps the transaction: Release, or the next start, retries */
		vm->state = VM_STATE_FAILED; /* not yet on the bus: no signal */
		return VM_STATE_FAILED;
	}
	vm_txn_end(vm);

	/* 2. the VMM is gone: so are its descriptors and pins; everything goes back */
	if (vm->vmm_exited)
		return vm_release(vm, NULL, NULL, error);

	/*
	 * 3. what vfiod held open and did not get back from the fd store (no
	 * service manager) died with the old process. Before GetFds it is
	 * opened again (the VMM gets it from this process); after, the VMM
	 * has its own: a type1 container is sealed (a later group is
	 * attached by the VMM), nothing else is reopened.
	 */
	if (vm->ops->reopen)
		vm->ops->reopen(vm);

	/* 4. the limit for the devices there are now (lowered after an undone add) */
	if (vm_has_vmm(vm))
		vm_memlock_recover(vm);
	return vm->state;
}
