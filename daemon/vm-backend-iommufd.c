/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The iommufd backend (vm-backend.h): vfiod opens /dev/iommu with
 * per-process accounting, set before any object exists, and the cdev of
 * each device. The VMM gets the iommufd and its own open of each cdev,
 * and binds the devices itself.
 *
 * The proof that the VMM let go of a device, without the vfiod_mm helper:
 * a cdev file bound to an iommufd blocks every open of the device's group
 * node, wherever the file is (in flight in a unix socket too), so the
 * group's exclusive open (device-proof.h) shows it. A file never bound
 * does not, yet the unbind would wait for it. vfiod therefore keeps a
 * copy of every file it hands out (VMDevice.handed, in the fd store too)
 * until it sees it bound; at the proof it binds any still unbound to the
 * VM's iommufd itself, and only then lets go of its copies. Nobody else
 * can open the cdev: its node is root's, and only vfiod opens it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "manager.h"
#include "vm-backend.h"
#include "vm-journal.h"

static int iommufd_open(VM *vm)
{
	int r;

	r = vfd_iommufd_open(vm->manager->ctx, &vm->be.iommufd);
	if (r < 0)
		return r == -ENODEV ? -EPROTONOSUPPORT : r;
	vm_backend_store(vm, "iommufd", vm->be.iommufd);
	return 0;
}

/* ---- the cdev files handed to the VMM ---- */

/* the journal says which copies vfiod keeps: a restart checks that each came back */
static void handed_journal(VM *vm)
{
	(void) vm_journal_save(vm); /* a failed write is retried (vm-journal.c) */
}

static void handed_forget(VM *vm, VMDevice *d, unsigned slot)
{
	char kind[VM_STORE_KIND_MAX];

	if (d->handed[slot] < 0)
		return;
	close(d->handed[slot]);
	d->handed[slot] = -1;
	vm_backend_handed_kind(d, slot, kind);
	vm_backend_unstore(vm, kind, false);
}

/* vfiod's copies of files now bound are not needed: the group's open shows those */
static void handed_forget_bound(VM *vm)
{
	bool forgot = false;

	for (size_t k = 0; k < vm->n_devices; k++) {
		VMDevice *d = &vm->devices[k];

		for (unsigned i = 0; i < VM_HANDED_MAX; i++)
			if (d->handed[i] >= 0 && vfd_vfio_cdev_is_bound(d->handed[i]) == 1) {
				handed_forget(vm, d, i);
				forgot = true;
			}
	}
	if (forgot)
		handed_journal(vm);
}

/*
 * A copy of fd, the file about to be handed out, kept (stored, and named
 * in the journal) before the VMM can have it: without the journal a
 * restart could not tell whether it got every copy back. Returns the
 * copy's slot.
 */
static int handed_keep(VM *vm, VMDevice *d, int fd)
{
	char kind[VM_STORE_KIND_MAX];
	unsigned slot = VM_HANDED_MAX;
	int copy, r;

	handed_forget_bound(vm);
	for (unsigned i = 0; i < VM_HANDED_MAX && slot == VM_HANDED_MAX; i++)
		if (d->handed[i] < 0)
			slot = i;
	if (slot == VM_HANDED_MAX)
		return -EXFULL;
	copy = vm_backend_dup_fd(fd);
	if (copy < 0)
		return copy;
	d->handed[slot] = copy;
	vm_backend_handed_kind(d, slot, kind);
	r = vm_backend_store(vm, kind, copy);
	if (r >= 0)
		r = vm_journal_save(vm);
	if (r < 0) {
		handed_forget(vm, d, slot);
		return r;
	}
	return (int) slot;
}

/*
 * Every copy vfiod keeps of d's files is let go, each once it is bound:
 * one the VMM never bound is bound now, to the VM's iommufd or, after the
 * release closed that, to one opened for it (the kernel lets one file of
 * a device be bound at a time, and a bound file blocks the group's open).
 * With the vfiod_mm helper, which counts every open file of a PCI
 * function, the copies just go. -EBUSY when one cannot be bound yet
 * (another file of the device is bound), or cannot be bound at all.
 */
static int handed_let_go(VM *vm, VMDevice *d, vfd_op_error *error)
{
	_cleanup_close_ int scratch = -1;
	bool helper = vm->manager->mm && !d->is_mdev, forgot = false;
	unsigned held = 0;
	int first = 0, iommufd = vm->be.iommufd;

	for (unsigned i = 0; i < VM_HANDED_MAX; i++) {
		int r = 1;

		if (d->handed[i] < 0)
			continue;
		if (!helper) {
			r = vfd_vfio_cdev_is_bound(d->handed[i]);
			if (r == 0 && iommufd < 0) {
				r = vfd_iommufd_open(vm->manager->ctx, &scratch);
				iommufd = scratch;
			}
			if (r == 0)
				r = vfd_vfio_cdev_bind(vm->manager->ctx, d->handed[i], iommufd);
		}
		if (r >= 0) {
			handed_forget(vm, d, i);
			forgot = true;
			continue;
		}
		held++;
		if (first == 0)
			first = r;
	}
	if (forgot) {
		vm_backend_store_sync(vm);
		handed_journal(vm);
	}
	if (held == 0)
		return 0;
	if (first == -EINVAL)
		return vfd_op_error_set_held(error, d->name,
					"the VMM has %u file(s) of the device it never bound to an "
					"iommufd, and vfiod cannot bind them while another file of the "
					"device is bound: it closes every file of the device first", held);
	return vfd_op_error_set(error, -EBUSY, d->name,
				"the VMM has %u file(s) of the device that vfiod cannot tell bound, "
				"nor bind (%s); the vfiod_mm helper would prove it free",
				held, strerror(-first));
}

int vm_iommufd_fd(const VM *vm)
{
	return vm->backend == VM_BACKEND_IOMMUFD ? vm->be.iommufd : -1;
}

/* vfiod's own descriptors; the copies of the VMM's files stay until each device is let go */
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
/* returns the slot of vfiod's copy of the file (handed_keep()) */
static int vmm_cdev_open(VM *vm, VMDevice *d, VMFd *out)
{
	int r, slot;

	snprintf(out->name, sizeof(out->name), "%s", d->name);
	out->group = (unsigned) d->iommu_group;
	r = vfd_vfio_cdev_open(vm->manager->ctx, d->is_mdev ? "mdev" : "pci", d->name, &out->fd);
	if (r < 0)
		return r;
	slot = handed_keep(vm, d, out->fd);
	if (slot < 0) {
		close(out->fd);
		out->fd = -1;
	}
	return slot;
}

static int iommufd_get_fds(VM *vm, VMFds *f)
{
	_cleanup_free_ int *slots = calloc(vm->n_devices ? vm->n_devices : 1, sizeof(int));
	int r;

	if (!slots)
		return -ENOMEM;
	r = vm_backend_dup_fd(vm->be.iommufd);
	if (r < 0)
		return r;
	f->iommu_fd = r;
	for (size_t i = 0; i < vm->n_devices; i++) {
		r = vmm_cdev_open(vm, &vm->devices[i], &f->devices[f->n_devices]);
		if (r < 0) {
			/* the files opened so far never reach the VMM: no copies of them either */
			for (size_t k = 0; k < i; k++)
				handed_forget(vm, &vm->devices[k], (unsigned) slots[k]);
			handed_journal(vm);
			return r;
		}
		slots[i] = r;
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

/* the VMM bound its file (it says): vfiod's copies of bound files go */
static int iommufd_confirm_attached(VM *vm, VMDevice *d, vfd_op_error *error)
{
	handed_forget_bound(vm);
	return 0;
}

static int iommufd_prove_detached(VM *vm, VMDevice *d, vfd_op_error *error)
{
	_cleanup_close_ int node = -1;
	char kind[VM_STORE_KIND_MAX];
	bool had_cdev = d->cdev_fd >= 0;
	int r;

	/* a move of the charge checks it against the devices of its start */
	if (vm_change_process_target(vm) != 0)
		return vfd_op_error_set(error, -EBUSY, d->name, "the charge of VM %s is moving to pid "
					"%d: a device change waits for the move's end", vm->name,
					(int) vm_change_process_target(vm));
	/* a GetDeviceFds before any GetFds hands a file out too */
	if (!vm->fds_handed_out && vm_device_n_handed(d) == 0)
		return 0;
	r = handed_let_go(vm, d, error);
	if (r < 0)
		return r;
	/*
	 * The helper counts every open file of a PCI function, and says how
	 * many. Files went out that vfiod has no copy of (a restart without
	 * the fd store), or the kernel has no group nodes (a bound cdev then
	 * blocks nothing vfiod can open): only the helper sees every one.
	 */
	if ((vm->manager->mm && !d->is_mdev) || !d->handed_known || d->iommu_group < 0)
		return vm_backend_prove_closed_by_helper(vm, d, error);
	r = vfd_vfio_group_open_exclusive(vm->manager->ctx, (unsigned) d->iommu_group, &node);
	if (r == -ENODEV)
		return vm_backend_prove_closed_by_helper(vm, d, error);
	close(TAKE_FD(node));

	/* vfiod's own open, unbound, would count as a holder of the cdev */
	vm_device_close(d);
	if (had_cdev) {
		vm_backend_cdev_kind(d, kind);
		vm_backend_unstore(vm, kind, true);
	}
	r = vm_backend_prove_unheld(vm, d, error);
	if (r < 0 && had_cdev) {
		vfd_op_error ignored = {};

		if (iommufd_prepare(vm, d, &ignored) < 0)
			log_warning("VM %s: cannot open %s again after a refused remove: %s", vm->name,
				    d->name, ignored.message);
	}
	return r;
}

static int iommufd_let_go_of_handed(VM *vm, VMDevice *d, vfd_op_error *error)
{
	return handed_let_go(vm, d, error);
}

/*
 * The copies of the files handed to the VMM, from the fd store: known
 * again only when exactly the slots the journal names came back (and
 * what came back is a file of this device).
 */
static void adopt_handed(VM *vm, VMDevice *d)
{
	vfd_context *ctx = vm->manager->ctx;
	unsigned mask = 0;

	for (unsigned slot = 0; slot < VM_HANDED_MAX; slot++) {
		char kind[VM_STORE_KIND_MAX];
		int fd, r;

		vm_backend_handed_kind(d, slot, kind);
		fd = vm_backend_take(vm, kind);
		if (fd == -ENOENT)
			continue;
		r = fd < 0 ? fd : vfd_vfio_cdev_check_fd(ctx, d->is_mdev ? "mdev" : "pci", d->name, fd);
		if (r < 0 || d->handed[slot] >= 0) {
			vm_backend_refuse_taken(vm, kind, fd, r < 0 ? r : -EEXIST, -1);
			continue;
		}
		d->handed[slot] = fd;
		mask |= 1u << slot;
	}
	if (d->handed_known && mask != d->handed_journaled) {
		log_warning("VM %s: the copies of the files of %s handed to the VMM that came back "
			    "from the fd store (slots 0x%x) are not those the journal names (0x%x); "
			    "a hot-remove needs the vfiod_mm helper's proof.", vm->name, d->name, mask,
			    d->handed_journaled);
		d->handed_known = false;
	}
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

	for (size_t i = 0; i < vm->n_devices; i++)
		adopt_handed(vm, &vm->devices[i]);
}

/* before GetFds the VMM gets them from this process: opened again, unless taken back */
static void iommufd_reopen(VM *vm)
{
	for (size_t i = 0; !vm->fds_handed_out && i < vm->n_devices; i++) {
		vfd_op_error ignored = {};

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
	.confirm_attached = iommufd_confirm_attached,
	.prove_detached = iommufd_prove_detached,
	.let_go_of_handed = iommufd_let_go_of_handed,
	.adopt = iommufd_adopt,
	.reopen = iommufd_reopen,
};

int vm_backend_iommufd_dup(VM *vm)
{
	int fd;

	if (vm->be.iommufd < 0)
		return -EBADF;
	fd = fcntl(vm->be.iommufd, F_DUPFD_CLOEXEC, 3);
	return fd < 0 ? negative_errno() : fd;
}
