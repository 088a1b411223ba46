/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the backends (vm-backend.h) share, and vm.c's way into them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "manager.h"
#include "vm-backend.h"

const VMBackendOps *vm_backend_ops(VMBackend backend, bool vmm_opens_groups)
{
	switch (backend) {
	case VM_BACKEND_IOMMUFD:
		return &vm_backend_iommufd;
	case VM_BACKEND_TYPE1:
		return vmm_opens_groups ? &vm_backend_vmm_groups : &vm_backend_type1;
	default:
		return NULL;
	}
}

int vm_backend_dup_fd(int fd)
{
	int n = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	return n < 0 ? negative_errno() : n;
}

bool vm_has_group(const VM *vm, int group, const VMDevice *except)
{
	for (size_t i = 0; i < vm->n_devices; i++)
		if (&vm->devices[i] != except && vm->devices[i].iommu_group == group)
			return true;
	return false;
}

int vm_backend_prepare(VM *vm, VMDevice *d, vfd_op_error *error)
{
	return vm->ops->prepare ? vm->ops->prepare(vm, d, error) : 0;
}

int vm_backend_unprepare(VM *vm, VMDevice *d)
{
	return vm->ops->unprepare ? vm->ops->unprepare(vm, d) : 0;
}

/*
 * A hot-remove with a live VMM: the unbind waits in the kernel (and vfiod
 * with it, uninterruptibly after a signal) until every open file of the
 * device is released, and nothing user space can see proves that the VMM
 * closed its cdev. vfiod closes its own file and asks the vfiod_mm helper
 * who else holds the struct vfio_device; only its registration left is
 * the proof. Anything else: vfiod opens its own file again and nothing
 * changed. The VMM cannot reopen the cdev by itself (the node is root's):
 * between the proof and the unbind only a root process could.
 */
int vm_backend_prove_closed_by_helper(VM *vm, VMDevice *d, vfd_op_error *error)
{
	vfd_context *ctx = vm->manager->ctx;
	vfd_mm_device_users u;
	bool had_cdev = d->cdev_fd >= 0;
	int r, k;

	if (d->is_mdev) {
		/* an mdev vfiod did not create stays with its driver: nothing waits */
		if (!d->created)
			return 0;
		return vfd_op_error_set(error, -EBUSY, d->name,
					"removing the mdev vfiod created would wait until the VMM closes "
					"it, and the vfiod_mm helper proves that for PCI functions only");
	}
	if (!vm->manager->mm)
		return vfd_op_error_set(error, -EBUSY, d->name,
					"vfiod cannot prove that the VMM closed the device's cdev: that "
					"needs the vfiod_mm helper module, which is not loaded");

	vm_device_close(d);
	r = vfd_mm_device_users_get(vm->manager->mm, d->name, &u);
	if (r >= 0 && vfd_mm_device_users_none(&u))
		return 0;

	k = had_cdev ? vfd_vfio_cdev_open(ctx, "pci", d->name, &d->cdev_fd) : 0;
	if (k < 0)
		log_error_errno(k, "VM %s: cannot reopen the cdev of %s after a refused remove: %m",
				vm->name, d->name);
	if (r < 0) {
		const char *kmsg = vfd_mm_client_last_error(vm->manager->mm);

		return vfd_op_error_set(error, -EBUSY, d->name,
					"the vfiod_mm helper cannot tell who holds the device (%s%s%s)",
					strerror(-r), kmsg ? ": " : "", kmsg ? kmsg : "");
	}
	return vfd_op_error_set(error, -EBUSY, d->name,
				"the VMM still has the device open: %u open file(s) of %s, open count %u; "
				"it closes the device's cdev first", u.registrations - 1, u.vfio_dev,
				u.open_count);
}

void vm_backend_init(VM *vm)
{
	vm->be = (VMBackendState) { .iommufd = -1 };
}
