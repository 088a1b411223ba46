/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The iommufd backend (vm-backend.h): vfiod opens /dev/iommu with
 * per-process accounting, set before any object exists, and the cdev of
 * each device. The VMM gets the iommufd and its own open of each cdev,
 * and binds the devices itself.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"
#include "manager.h"
#include "vm-backend.h"

static int iommufd_open(VM *vm)
{
	int r;

	r = vfd_iommufd_open(vm->manager->ctx, &vm->be.iommufd);
	return r == -ENODEV ? -EPROTONOSUPPORT : r;
}

static void iommufd_close(VM *vm)
{
	for (size_t i = 0; i < vm->n_devices; i++)
		vm_device_close(&vm->devices[i]);
	if (vm->be.iommufd >= 0)
		close(vm->be.iommufd);
	vm->be.iommufd = -1;
}

static int iommufd_prepare(VM *vm, VMDevice *d, vfd_op_error *error)
{
	int r;

	r = vfd_vfio_cdev_open(vm->manager->ctx, d->is_mdev ? "mdev" : "pci", d->name, &d->cdev_fd);
	if (r < 0)
		return vfd_op_error_set(error, r, d->name, "cannot open the device's VFIO cdev");
	return 0;
}

static int iommufd_unprepare(VM *vm, VMDevice *d)
{
	vm_device_close(d);
	return 0;
}

/*
 * The VMM's own open of the device's cdev, a file separate from vfiod's
 * (d->cdev_fd). A duplicate would share vfiod's file, and the VMM's close
 * would then release nothing: the device would stay bound to the VMM's
 * iommufd, and a hot-remove could never see it closed.
 */
static int vmm_cdev_open(VM *vm, const VMDevice *d, VMFd *out)
{
	snprintf(out->name, sizeof(out->name), "%s", d->name);
	out->group = (unsigned) d->iommu_group;
	return vfd_vfio_cdev_open(vm->manager->ctx, d->is_mdev ? "mdev" : "pci", d->name, &out->fd);
}

static int iommufd_get_fds(VM *vm, VMFds *f)
{
	int r;

	r = vm_backend_dup_fd(vm->be.iommufd);
	if (r < 0)
		return r;
	f->iommu_fd = r;
	for (size_t i = 0; i < vm->n_devices; i++) {
		r = vmm_cdev_open(vm, &vm->devices[i], &f->devices[f->n_devices]);
		if (r < 0)
			return r;
		f->n_devices++;
	}
	return 0;
}

static int iommufd_get_device_fds(VM *vm, VMDevice *d, VMFds *f)
{
	int r;

	r = vmm_cdev_open(vm, d, &f->devices[0]);
	if (r < 0)
		return r;
	f->n_devices = 1;
	return 0;
}

static int iommufd_prove_detached(VM *vm, VMDevice *d, vfd_op_error *error)
{
	if (!vm->fds_handed_out)
		return 0;
	return vm_backend_prove_closed_by_helper(vm, d, error);
}

/* before GetFds the VMM gets them from this process: opened again */
static void iommufd_reopen(VM *vm)
{
	for (size_t i = 0; !vm->fds_handed_out && i < vm->n_devices; i++) {
		vfd_op_error ignored;

		if (iommufd_prepare(vm, &vm->devices[i], &ignored) < 0)
			log_warning("VM %s: cannot open %s again: %s", vm->name, vm->devices[i].name,
				    ignored.message);
	}
}

const VMBackendOps vm_backend_iommufd = {
	.name = "iommufd",
	.open = iommufd_open,
	.close = iommufd_close,
	.prepare = iommufd_prepare,
	.unprepare = iommufd_unprepare,
	.get_fds = iommufd_get_fds,
	.get_device_fds = iommufd_get_device_fds,
	.prove_detached = iommufd_prove_detached,
	.reopen = iommufd_reopen,
};
