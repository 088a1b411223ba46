/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VM object's inside, shared by the files that make up the VM (vm.c,
 * vm-release.c, vm-journal.c, vm-memlock.c, vm-identity.c, vm-mm.c and
 * the backends vm-backend-*.c); no other file includes this.
 */
#pragma once

#include "vm.h"

typedef struct VMBackendOps VMBackendOps;

void vm_set_state(VM *vm, VMState s);
VMDevice *vm_find_device(const VM *vm, const char *name);
void vm_device_close(VMDevice *d);
/* the backend's prepare and unprepare of d (vm-backend.h) */
int vm_backend_prepare(VM *vm, VMDevice *d, vfd_op_error *error);
int vm_backend_unprepare(VM *vm, VMDevice *d);
void vm_drop_device(VM *vm, VMDevice *d);

/* ---- vm-release.c ---- */

/*
 * device_prove_free() for what giving d back unbinds or removes: the
 * members of its claim that vfiod moved to vfio-pci, or the mdev vfiod
 * created. 0 with *ret_guard (-1: nothing to guard) when free or when
 * nothing will be unbound; -EBUSY with error naming the holder.
 */
int vm_device_prove_free(VM *vm, const VMDevice *d, vfd_op_error *error, int *ret_guard);
/* the VM is being freed: its give-back is abandoned, a waiting Release answered */
void vm_release_done_free(VM *vm);

/*
 * RemoveDevice's give-back (vm.c proved d free and journaled the remove):
 * on the unbind worker; vm_remove_given_back() then finishes the
 * transaction and done hears the result once (-ETIMEDOUT: stuck past the
 * deadline, finished later). Takes guard. -EBUSY when a give-back runs.
 */
int vm_remove_give_back_start(VM *vm, VMDevice *d, int guard, VMRemoveDone done, void *userdata,
			      vfd_op_error *error);
/* vm.c: the end of that give-back (d NULL: gone meanwhile); returns r or a later failure */
int vm_remove_given_back(VM *vm, VMDevice *d, int r, const vfd_op_error *error,
			 vfd_op_error *ret_error);
