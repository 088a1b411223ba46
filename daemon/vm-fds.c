/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Handing the VMM its descriptors (GetFds, GetDeviceFds) through the
 * backend's ops (vm-backend.h), and its word that it attached a device
 * (ConfirmAttached).
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "vm-backend.h"
#include "vm-journal.h"
#include "vm-memlock.h"
#include "vm-private.h"

void vm_fds_done(VMFds *f)
{
	if (f->iommu_fd >= 0)
		close(f->iommu_fd);
	for (size_t i = 0; i < f->n_groups; i++)
		close(f->groups[i].fd);
	for (size_t i = 0; i < f->n_devices; i++)
		close(f->devices[i].fd);
	free(f->groups);
	free(f->devices);
	*f = (VMFds) { .iommu_fd = -1 };
}

int vm_dup_iommufd(VM *vm, int *ret_fd)
{
	int fd;

	if (!vm_accepts_devices(vm))
		return -ESHUTDOWN;
	if (vm->backend != VM_BACKEND_IOMMUFD)
		return -EMEDIUMTYPE;
	fd = vm_backend_iommufd_dup(vm);
	if (fd < 0)
		return fd;
	for (size_t i = 0; i < vm->n_devices; i++)
		vm->devices[i].in_use = true;
	*ret_fd = fd;
	return 0;
}

int vm_get_fds(VM *vm, VMFds *ret)
{
	VMFds f = { .iommu_fd = -1 };
	int r;

	if (!vm_accepts_devices(vm))
		return -ESHUTDOWN;
	if (!vm->ops->get_fds)
		return -EMEDIUMTYPE;
	/* a give-back runs: a descriptor opened now would make its unbind wait */
	if (vm_is_giving_back(vm))
		return -EBUSY;

	f.devices = calloc(vm->n_devices ? vm->n_devices : 1, sizeof(*f.devices));
	f.groups = calloc(vm->n_devices ? vm->n_devices : 1, sizeof(*f.groups));
	if (!f.devices || !f.groups) {
		vm_fds_done(&f);
		return -ENOMEM;
	}
	r = vm->ops->get_fds(vm, &f);
	if (r < 0) {
		vm_fds_done(&f);
		return r;
	}
	for (size_t i = 0; i < vm->n_devices; i++)
		if (!vm->devices[i].vmm_attaches)
			vm->devices[i].in_use = true;

	vm->fds_handed_out = true;
	vm_set_state(vm, VM_STATE_ACTIVE);

	*ret = f;
	return 0;
}

int vm_get_device_fds(VM *vm, const char *name, VMFds *ret)
{
	VMFds f = { .iommu_fd = -1 };
	VMDevice *d;
	int r;

	d = vm_find_device(vm, name);
	if (!d)
		return -ENODEV;
	if (!vm_accepts_devices(vm))
		return -ESHUTDOWN;
	if (!vm->ops->get_device_fds)
		return -EMEDIUMTYPE;
	/* a give-back runs: a cdev opened now would make its unbind wait */
	if (vm_is_giving_back(vm))
		return -EBUSY;

	f.devices = calloc(1, sizeof(*f.devices));
	f.groups = calloc(1, sizeof(*f.groups));
	if (!f.devices || !f.groups) {
		vm_fds_done(&f);
		return -ENOMEM;
	}
	r = vm->ops->get_device_fds(vm, d, &f);
	if (r < 0) {
		vm_fds_done(&f);
		return r;
	}
	*ret = f;
	return 0;
}

int vm_confirm_attached(VM *vm, const char *name, vfd_op_error *error)
{
	VMDevice *d;
	int r;

	r = vm_find_changeable_device(vm, name, error, &d);
	if (r < 0)
		return r;
	if (vm_is_giving_back(vm))
		return vfd_op_error_set(error, -EBUSY, name, "a device of VM %s is being given back; "
					"try again", vm->name);
	if (vm->ops->confirm_attached) {
		r = vm->ops->confirm_attached(vm, d, error);
		if (r < 0)
			return r;
	}
	d->in_use = true;
	(void) vm_journal_save(vm);
	log_info("VM %s: the VMM attached %s.", vm->name, name);
	(void) vm_memlock_check(vm, "attach");
	return 0;
}
