/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The type1 backend held by vfiod (vm-backend.h): vfiod opens the
 * container and each group, attaches them and sets the IOMMU type; the
 * VMM gets container, groups and device descriptors. The attach rule and
 * the vIOMMU case are described in vm.h ("Backends").
 */
#include <errno.h>
#include <stdio.h>

#include "log.h"
#include "manager.h"
#include "vm-backend.h"

static int type1_open(VM *vm)
{
	int r;

	r = vfd_type1_new(vm->manager->ctx, &vm->be.type1);
	if (r < 0)
		return r == -ENOENT || r == -ENODEV ? -EPROTONOSUPPORT : r;
	vm_backend_store(vm, "container", vfd_type1_container_fd(vm->be.type1));
	return 0;
}

static void type1_close(VM *vm)
{
	vm->be.type1 = vfd_type1_free(vm->be.type1);
}

/*
 * Behind a vIOMMU each group is an address space of its own (QEMU gives
 * every device behind the vIOMMU its own container), so vfiod's container
 * takes only one group; true when another group is in it already. Before
 * GetFds only vfiod attaches: a device it prepared without vmm_attaches
 * has its group in vfiod's container.
 */
static bool viommu_container_taken(const VM *vm, const VMDevice *d)
{
	if (!vm->viommu)
		return false;
	for (size_t i = 0; i < vm->n_devices; i++)
		if (vm->devices[i].iommu_group != d->iommu_group && !vm->devices[i].vmm_attaches)
			return true;
	return false;
}

static void store_group(VM *vm, int group)
{
	char kind[VM_STORE_KIND_MAX];

	vm_backend_group_kind(group, kind);
	vm_backend_store(vm, kind, vfd_type1_group_fd(vm->be.type1, (unsigned) group));
}

static int type1_prepare(VM *vm, VMDevice *d, vfd_op_error *error)
{
	bool held = d->iommu_group >= 0 &&
		vfd_type1_group_fd(vm->be.type1, (unsigned) d->iommu_group) >= 0;
	int r;

	if (d->iommu_group < 0)
		return vfd_op_error_set(error, -ENOTBLK, d->name, "the device has no IOMMU group");
	if ((vfd_type1_is_sealed(vm->be.type1) || viommu_container_taken(vm, d)) &&
	    vfd_type1_group_fd(vm->be.type1, (unsigned) d->iommu_group) < 0) {
		/*
		 * the attach rule: the VMM attaches a group joining a container
		 * in use; behind a vIOMMU it attaches every group but the first
		 * to a container of its own
		 */
		r = vfd_type1_add_group_detached(vm->be.type1, (unsigned) d->iommu_group);
		if (r < 0)
			return vfd_op_error_set(error, r, d->name, "cannot open group %d", d->iommu_group);
		d->vmm_attaches = true;
		store_group(vm, d->iommu_group);
		return 0;
	}
	r = vfd_type1_add_group(vm->be.type1, (unsigned) d->iommu_group);
	if (r < 0)
		return vfd_op_error_set(error, r, d->name, "cannot attach group %d to the VM's container",
					d->iommu_group);
	if (!held)
		store_group(vm, d->iommu_group);
	return 0;
}

static int type1_unprepare(VM *vm, VMDevice *d)
{
	/*
	 * The group leaves the VM's container with its last device (the VMM
	 * does not have the container yet, is gone, or detached the group
	 * itself: prove_detached checks): a descriptor kept across the unbind
	 * of its last device would name a dead vfio_group, and adding the
	 * device again would fail.
	 */
	if (vm->be.type1 && d->iommu_group >= 0 && !vm_has_group(vm, d->iommu_group, d) &&
	    vfd_type1_remove_group(vm->be.type1, (unsigned) d->iommu_group) >= 0) {
		char kind[VM_STORE_KIND_MAX];

		/* the store's copy would keep the group open: the proof comes next */
		vm_backend_group_kind(d->iommu_group, kind);
		vm_backend_unstore(vm, kind, true);
	}
	return 0;
}

static bool have_group(const VMFds *f, unsigned group)
{
	for (size_t j = 0; j < f->n_groups; j++)
		if (f->groups[j].group == group)
			return true;
	return false;
}

static int add_group(VMFds *f, int group_fd, unsigned group)
{
	int r = vm_backend_dup_fd(group_fd);

	if (r < 0)
		return r;
	f->groups[f->n_groups] = (VMFd) { .group = group, .fd = r };
	snprintf(f->groups[f->n_groups].name, sizeof(f->groups[0].name), "%u", group);
	f->n_groups++;
	return 0;
}

/*
 * d's group (once) and, when attached, a device descriptor opened from it;
 * hot-added and unattached: the VMM attaches the group, then opens the
 * device itself.
 */
static int add_device(VM *vm, const VMDevice *d, VMFds *f)
{
	int group_fd = vfd_type1_group_fd(vm->be.type1, (unsigned) d->iommu_group);
	VMFd *out = &f->devices[f->n_devices];
	int r;

	if (group_fd < 0)
		return group_fd;
	snprintf(out->name, sizeof(out->name), "%s", d->name);
	out->group = (unsigned) d->iommu_group;
	if (!have_group(f, (unsigned) d->iommu_group)) {
		r = add_group(f, group_fd, (unsigned) d->iommu_group);
		if (r < 0)
			return r;
	}
	if (vfd_type1_group_in_container(group_fd) <= 0)
		return 0;
	r = vfd_type1_group_get_device_fd(group_fd, d->name, &out->fd);
	if (r < 0)
		return r;
	f->n_devices++;
	return 0;
}

static int type1_get_fds(VM *vm, VMFds *f)
{
	int r;

	r = vm_backend_dup_fd(vfd_type1_container_fd(vm->be.type1));
	if (r < 0)
		return r;
	f->iommu_fd = r;
	for (size_t i = 0; i < vm->n_devices; i++) {
		r = add_device(vm, &vm->devices[i], f);
		if (r < 0)
			return r;
	}
	/* a group vfiod attached later would have the VMM's mappings replayed with vfiod's mm */
	vfd_type1_seal(vm->be.type1);
	return 0;
}

static int type1_get_device_fds(VM *vm, VMDevice *d, VMFds *f)
{
	return add_device(vm, d, f);
}

static int type1_confirm_attached(VM *vm, VMDevice *d, vfd_op_error *error)
{
	int r;

	if (!vm->be.type1 || d->iommu_group < 0)
		return 0;
	r = vfd_type1_group_in_container(vfd_type1_group_fd(vm->be.type1, (unsigned) d->iommu_group));
	if (r < 0)
		return vfd_op_error_set(error, r, d->name, "cannot read the status of group %d",
					d->iommu_group);
	if (r == 0)
		return vfd_op_error_set(error, -ENOTCONN, d->name,
					"group %d is in no container: not attached", d->iommu_group);
	return 0;
}

/*
 * The kernel would block the unbind (and vfiod with it) until the VMM
 * closes the device. A group in no container proves it did:
 * VFIO_GROUP_UNSET_CONTAINER fails while a device of the group is open.
 */
static int type1_prove_detached(VM *vm, VMDevice *d, vfd_op_error *error)
{
	int fd;

	if (!vm->fds_handed_out)
		return 0;
	fd = vm->be.type1 && d->iommu_group >= 0 ?
		vfd_type1_group_fd(vm->be.type1, (unsigned) d->iommu_group) : -1;
	/* vfiod holds no group of it (adopted after a restart): the helper proves */
	if (fd < 0)
		return vm_backend_prove_closed_by_helper(vm, d, error);
	if (vfd_type1_group_in_container(fd) != 0)
		return vfd_op_error_set_held(error, d->name,
					"the VMM still has group %d attached; it closes the device "
					"and detaches the group (VFIO_GROUP_UNSET_CONTAINER) first",
					d->iommu_group);
	return 0;
}

/*
 * The container and groups of the previous process, from the fd store:
 * the container with its mappings and the VMM's view of it, each group
 * as it was (attached, or held for the VMM to attach), so that a
 * hot-remove proves the detach exactly as before the restart. Nothing
 * stored (no service manager, or a vfiod before the store): the journal
 * alone, as reopen() does it.
 */
static void type1_adopt(VM *vm)
{
	_cleanup_(vfd_type1_freep) vfd_type1 *t = NULL;
	size_t n_groups = 0;
	int fd, r;

	fd = vm_backend_take(vm, "container");
	if (fd == -ENOENT)
		return;
	r = fd < 0 ? fd : vfd_type1_adopt(vm->manager->ctx, fd, &t);
	if (r < 0) {
		vm_backend_refuse_taken(vm, "container", fd, r,
					vfd_type1_container_fd(vm->be.type1));
		return;
	}
	for (size_t i = 0; i < vm->n_devices; i++) {
		const VMDevice *d = &vm->devices[i];
		char kind[VM_STORE_KIND_MAX];
		int gfd;

		if (d->iommu_group < 0 || vfd_type1_group_fd(t, (unsigned) d->iommu_group) >= 0)
			continue;
		vm_backend_group_kind(d->iommu_group, kind);
		gfd = vm_backend_take(vm, kind);
		if (gfd == -ENOENT) {
			log_warning("VM %s: group %d of %s was not stored; the journal alone knows it.",
				    vm->name, d->iommu_group, d->name);
			continue;
		}
		r = gfd < 0 ? gfd : vfd_type1_adopt_group(t, (unsigned) d->iommu_group, gfd);
		if (r < 0) {
			vm_backend_refuse_taken(vm, kind, gfd, r, -1);
			continue;
		}
		n_groups++;
	}
	if (vm->fds_handed_out)
		vfd_type1_seal(t);
	/* the container vm_new() opened was never stored (the old one was): closed */
	vfd_type1_free(vm->be.type1);
	vm->be.type1 = TAKE_PTR(t);
	log_info("VM %s: took back its container and %zu group(s) from the fd store.", vm->name,
		 n_groups);
}

/*
 * Before GetFds the groups are opened and attached again (the VMM gets
 * them from this process); after, the VMM has its own, and the container
 * is sealed: a later group is attached by the VMM.
 */
static void type1_reopen(VM *vm)
{
	for (size_t i = 0; !vm->fds_handed_out && i < vm->n_devices; i++) {
		vfd_op_error ignored = {};

		if (vm->devices[i].vmm_attaches)
			continue;
		if (type1_prepare(vm, &vm->devices[i], &ignored) < 0)
			log_warning("VM %s: cannot open %s again: %s", vm->name, vm->devices[i].name,
				    ignored.message);
	}
	if (vm->fds_handed_out && vm->be.type1)
		vfd_type1_seal(vm->be.type1);
}

const VMBackendOps vm_backend_type1 = {
	.name = "type1",
	.open = type1_open,
	.close = type1_close,
	.prepare = type1_prepare,
	.unprepare = type1_unprepare,
	.get_fds = type1_get_fds,
	.get_device_fds = type1_get_device_fds,
	.confirm_attached = type1_confirm_attached,
	.prove_detached = type1_prove_detached,
	.adopt = type1_adopt,
	.reopen = type1_reopen,
};
