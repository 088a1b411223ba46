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
	if (r < 0)
		return r == -ENODEV ? -EPROTONOSUPPORT : r;
	vm_backend_store(vm, "iommufd", vm->be.iommufd);
	return 0;
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
	char kind[VM_STORE_KIND_MAX];
	int r;

	r = vfd_vfio_cdev_open(vm->manager->ctx, d->is_mdev ? "mdev" : "pci", d->name, &d->cdev_fd);
	if (r < 0)
		return vfd_op_error_set(error, r, d->name, "cannot open the device's VFIO cdev");
	vm_backend_cdev_kind(d, kind);
	vm_backend_store(vm, kind, d->cdev_fd);
	return 0;
}

static int iommufd_unprepare(VM *vm, VMDevice *d)
{
	char kind[VM_STORE_KIND_MAX];
	bool had = d->cdev_fd >= 0;

	vm_device_close(d);
	if (had) {
		/* the store's copy is an open file of the device: the unbind would wait for it */
		vm_backend_cdev_kind(d, kind);
		vm_backend_unstore(vm, kind, true);
	}
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

/*
 * The iommufd and the cdevs of the previous process, from the fd store:
 * the very iommufd the VMM has (its objects, its per-process accounting)
 * and vfiod's own open of each device, as before the restart.
 */
static void iommufd_adopt(VM *vm)
{
	vfd_context *ctx = vm->manager->ctx;
	size_t n_cdevs = 0;
	bool per_process = false, took = false;
	int fd, r;

	fd = vm_backend_take(vm, "iommufd");
	if (fd >= 0) {
		r = vfd_vfio_node_check_fd(ctx, "dev/iommu", fd);
		/* vfiod sets per-process accounting on every iommufd it opens */
		if (r >= 0)
			r = vfd_iommufd_get_rlimit_mode(fd, &per_process);
		if (r >= 0 && !per_process)
			r = -EBADFD;
		if (r < 0)
			vm_backend_refuse_taken(vm, "iommufd", fd, r, vm->be.iommufd);
		else {
			/* the one vm_new() opened was never stored (the old one was) */
			if (vm->be.iommufd >= 0)
				close(vm->be.iommufd);
			vm->be.iommufd = fd;
			took = true;
		}
	} else if (fd != -ENOENT)
		vm_backend_refuse_taken(vm, "iommufd", -1, fd, vm->be.iommufd);

	for (size_t i = 0; i < vm->n_devices; i++) {
		VMDevice *d = &vm->devices[i];
		char kind[VM_STORE_KIND_MAX];

		vm_backend_cdev_kind(d, kind);
		fd = vm_backend_take(vm, kind);
		if (fd == -ENOENT)
			continue;
		r = fd < 0 ? fd : vfd_vfio_cdev_check_fd(ctx, d->is_mdev ? "mdev" : "pci", d->name, fd);
		if (r < 0 || d->cdev_fd >= 0) {
			vm_backend_refuse_taken(vm, kind, fd, r < 0 ? r : -EEXIST, d->cdev_fd);
			continue;
		}
		d->cdev_fd = fd;
		n_cdevs++;
	}
	if (took || n_cdevs > 0)
		log_info("VM %s: took back %s iommufd and %zu cdev(s) from the fd store.", vm->name,
			 took ? "its" : "no", n_cdevs);
}

/* before GetFds the VMM gets them from this process: opened again, unless taken back */
static void iommufd_reopen(VM *vm)
{
	for (size_t i = 0; !vm->fds_handed_out && i < vm->n_devices; i++) {
		vfd_op_error ignored;

		if (vm->devices[i].cdev_fd >= 0)
			continue;

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
	.adopt = iommufd_adopt,
	.reopen = iommufd_reopen,
};
