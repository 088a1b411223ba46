/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the backends (vm-backend.h) share, and vm.c's way into them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "device-proof.h"
#include "fdstore.h"
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

bool vm_device_shares_group(const VM *vm, const char *name)
{
	const VMDevice *d = vm_lookup_device(vm, name);

	return d && d->bind && vm_has_group(vm, d->iommu_group, d);
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
static bool function_unbound(VM *vm, const VMDevice *d)
{
	_cleanup_(vfd_pci_device_freep) vfd_pci_device *dev = NULL;
	vfd_pci_address a;

	return vfd_pci_address_parse(d->name, &a) >= 0 &&
	       vfd_pci_device_load(vm->manager->ctx, &a, &dev) >= 0 && !dev->driver;
}

int vm_backend_prove_unheld(VM *vm, VMDevice *d, vfd_op_error *error)
{
	DeviceProofTarget t = { .name = d->name, .is_mdev = d->is_mdev };
	int guard = -1, r;

	r = device_prove_free(vm->manager->ctx, vm->manager->mm, d->iommu_group, &t, 1, error, &guard);
	if (guard >= 0)
		close(guard);
	return r;
}

int vm_backend_let_go_of_handed(VM *vm, VMDevice *d, vfd_op_error *error)
{
	return vm->ops->let_go_of_handed ? vm->ops->let_go_of_handed(vm, d, error) : 0;
}

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
	/*
	 * A function bound to no driver has no VFIO device any more, so
	 * nothing can hold one: a give-back that stopped half-way (unbound
	 * from vfio-pci, the rest failed) goes on from there.
	 */
	if (function_unbound(vm, d))
		return 0;
	if (!vm->manager->mm)
		return vfd_op_error_set(error, -EBUSY, d->name,
					"vfiod cannot prove that the VMM closed the device's cdev: that "
					"needs the vfiod_mm helper module, which is not loaded");

	vm_device_close(d);
	if (had_cdev) {
		char kind[VM_STORE_KIND_MAX];

		/* the store's copy is an open file of the device too */
		vm_backend_cdev_kind(d, kind);
		vm_backend_unstore(vm, kind, true);
	}
	r = vfd_mm_device_users_get(vm->manager->mm, d->name, &u);
	if (r >= 0 && vfd_mm_device_users_none(&u))
		return 0;

	k = had_cdev ? vfd_vfio_cdev_open(ctx, "pci", d->name, &d->cdev_fd) : 0;
	if (k < 0)
		log_error_errno(k, "VM %s: cannot reopen the cdev of %s after a refused remove: %m",
				vm->name, d->name);
	else if (had_cdev) {
		char kind[VM_STORE_KIND_MAX];

		vm_backend_cdev_kind(d, kind);
		vm_backend_store(vm, kind, d->cdev_fd);
	}
	if (r < 0) {
		const char *kmsg = vfd_mm_client_last_error(vm->manager->mm);

		return vfd_op_error_set(error, -EBUSY, d->name,
					"the vfiod_mm helper cannot tell who holds the device (%s%s%s)",
					strerror(-r), kmsg ? ": " : "", kmsg ? kmsg : "");
	}
	return vfd_op_error_set_held(error, d->name,
				"the VMM still has the device open: %u open file(s) of %s, open count %u; "
				"it closes the device's cdev first", u.registrations - 1, u.vfio_dev,
				u.open_count);
}

void vm_backend_init(VM *vm)
{
	vm->be = (VMBackendState) { .iommufd = -1 };
}

/* ---- the fd store (fdstore.h) ---- */

/* "vm-<id>-<kind>": the VM's id is journaled, so the next vfiod finds its VM by it */
static void store_name(const VM *vm, const char *kind, char *buf, size_t size)
{
	snprintf(buf, size, "vm-%u-%s", vm->id, kind);
}

void vm_backend_group_kind(int group, char buf[VM_STORE_KIND_MAX])
{
	snprintf(buf, VM_STORE_KIND_MAX, "group-%d", group);
}

void vm_backend_cdev_kind(const VMDevice *d, char buf[VM_STORE_KIND_MAX])
{
	/* an FDNAME has no ':', a PCI address has two */
	snprintf(buf, VM_STORE_KIND_MAX, "cdev-%s", d->name);
	for (char *c = buf; *c; c++)
		if (*c == ':')
			*c = '_';
}

unsigned vm_device_handed_slots(const VMDevice *d)
{
	unsigned mask = 0;

	for (unsigned i = 0; i < VM_HANDED_MAX; i++)
		if (d->handed[i] >= 0)
			mask |= 1u << i;
	return mask;
}

unsigned vm_device_n_handed(const VMDevice *d)
{
	return (unsigned) __builtin_popcount(vm_device_handed_slots(d));
}

void vm_backend_free(VM *vm)
{
	if (vm->ops && vm->ops->close)
		vm->ops->close(vm);
	/* the store keeps its copies of them for the next vfiod */
	for (size_t i = 0; i < vm->n_devices; i++)
		for (unsigned k = 0; k < VM_HANDED_MAX; k++)
			if (vm->devices[i].handed[k] >= 0) {
				close(vm->devices[i].handed[k]);
				vm->devices[i].handed[k] = -1;
			}
}

void vm_backend_handed_kind(const VMDevice *d, unsigned slot, char buf[VM_STORE_KIND_MAX])
{
	char cdev[VM_STORE_KIND_MAX];

	/* one digit: VM_HANDED_MAX <= 10 */
	vm_backend_cdev_kind(d, cdev);
	snprintf(buf, VM_STORE_KIND_MAX, "cdevh-%.36s-%c", cdev + strlen("cdev-"), (char) ('0' + slot % 10));
}

int vm_backend_store(VM *vm, const char *kind, int fd)
{
	char name[64];

	store_name(vm, kind, name, sizeof(name));
	return fdstore_put(vm->manager->fdstore, name, fd);
}

void vm_backend_unstore(VM *vm, const char *kind, bool sync)
{
	char name[64];

	store_name(vm, kind, name, sizeof(name));
	fdstore_remove(vm->manager->fdstore, name);
	if (sync)
		fdstore_sync(vm->manager->fdstore);
}

void vm_backend_store_sync(VM *vm)
{
	fdstore_sync(vm->manager->fdstore);
}

int vm_backend_take(VM *vm, const char *kind)
{
	char name[64];

	store_name(vm, kind, name, sizeof(name));
	return fdstore_take(vm->manager->fdstore, name);
}

void vm_backend_refuse_taken(VM *vm, const char *kind, int fd, int r, int fresh)
{
	log_warning_errno(r, "VM %s: the stored %s is not what it should be (%m); closed, vfiod "
			  "uses what it opened now.", vm->name, kind);
	if (fd >= 0)
		close(fd);
	vm_backend_unstore(vm, kind, true);
	if (fresh >= 0)
		vm_backend_store(vm, kind, fresh);
}

void vm_backend_close(VM *vm)
{
	/* the store lets go first: the release proves each device free next */
	if (vm->ops->adopt) {
		char kind[VM_STORE_KIND_MAX];

		vm_backend_unstore(vm, "container", false);
		vm_backend_unstore(vm, "iommufd", false);
		for (size_t i = 0; i < vm->n_devices; i++) {
			vm_backend_group_kind(vm->devices[i].iommu_group, kind);
			vm_backend_unstore(vm, kind, false);
			vm_backend_cdev_kind(&vm->devices[i], kind);
			vm_backend_unstore(vm, kind, false);
		}
		fdstore_sync(vm->manager->fdstore);
	}
	if (vm->ops->close)
		vm->ops->close(vm);
}

void vm_backend_adopt(VM *vm)
{
	char prefix[32];

	if (vm->ops->adopt)
		vm->ops->adopt(vm);
	/* what the VM did not take (a device it does not have, a second copy): closed */
	snprintf(prefix, sizeof(prefix), "vm-%u-", vm->id);
	fdstore_settle(vm->manager->fdstore, prefix);
}
