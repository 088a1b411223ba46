/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * type1 where the VMM opens the groups itself (vm-backend.h), as QEMU
 * does under libvirt: vfiod claims the devices, gives the group nodes to
 * the VMM's uid (grant_group_nodes; otherwise libvirt's DAC driver does)
 * and holds nothing open. It hands out no descriptors (no get_fds:
 * GetFds answers -EMEDIUMTYPE).
 */
#include <errno.h>
#include <unistd.h>

#include "log.h"
#include "manager.h"
#include "vm-backend.h"

static int group_grant(VM *vm, VMDevice *d, vfd_op_error *error)
{
	int r;

	r = vfd_type1_group_grant(vm->manager->ctx, (unsigned) d->iommu_group, vm->vmm.uid,
				  vm->vmm.gid, &d->previous_owner);
	if (r < 0)
		return vfd_op_error_set(error, r, d->name, "cannot give group %d to uid %u",
					d->iommu_group, (unsigned) vm->vmm.uid);
	d->granted = true;
	return 0;
}

static int group_revoke(VM *vm, VMDevice *d)
{
	int r;

	if (!d->granted)
		return 0;
	r = vfd_type1_group_revoke(vm->manager->ctx, (unsigned) d->iommu_group, &d->previous_owner);
	if (r >= 0)
		d->granted = false;
	return r;
}

/* the group nodes the VMM will open, once per group */
static int groups_attach_vmm(VM *vm, vfd_op_error *error)
{
	int r;

	for (size_t i = 0; vm->grant_group_nodes && i < vm->n_devices; i++) {
		VMDevice *d = &vm->devices[i];
		bool done = false;

		for (size_t j = 0; j < i; j++)
			done = done || vm->devices[j].iommu_group == d->iommu_group;
		if (done || d->iommu_group < 0)
			continue;
		r = group_grant(vm, d, error);
		if (r < 0) {
			/* the grants so far are taken back */
			for (size_t j = 0; j < i; j++)
				(void) group_revoke(vm, &vm->devices[j]);
			return r;
		}
	}
	return 0;
}

static int groups_prepare(VM *vm, VMDevice *d, vfd_op_error *error)
{
	if (d->iommu_group < 0)
		return vfd_op_error_set(error, -ENOTBLK, d->name, "the device has no IOMMU group");
	/* prepared: groups_attach_vmm() grants once the VMM's uid is known */
	if (!vm->grant_group_nodes || !vm_has_vmm(vm) || vm_has_group(vm, d->iommu_group, d))
		return 0;
	return group_grant(vm, d, error);
}

static int groups_unprepare(VM *vm, VMDevice *d)
{
	return group_revoke(vm, d);
}

/*
 * A vfio group is open once at a time (EBUSY while the VMM holds it), so
 * vfiod's own open proves the VMM let go of it, and with it of the
 * group's devices.
 */
static int groups_vmm_let_go(VM *vm, VMDevice *d)
{
	int fd = -1, r;

	if (d->iommu_group < 0)
		return 1;
	r = vfd_type1_group_open(vm->manager->ctx, (unsigned) d->iommu_group, &fd);
	if (r >= 0) {
		close(fd);
		return 1;
	}
	if (r == -EBUSY)
		return 0;
	/* no node (the group is no longer on VFIO): nothing can hold it */
	log_debug_errno(r, "VM %s: probing group %d: %m", vm->name, d->iommu_group);
	return 1;
}

static int groups_prove_detached(VM *vm, VMDevice *d, vfd_op_error *error)
{
	if (!vm_has_vmm(vm) || groups_vmm_let_go(vm, d) > 0)
		return 0;
	return vfd_op_error_set_held(error, d->name, "group %d is still open (by the VMM); "
				"it closes the device and the group first", d->iommu_group);
}

const VMBackendOps vm_backend_vmm_groups = {
	.name = "type1, groups opened by the VMM",
	.attach_vmm = groups_attach_vmm,
	.prepare = groups_prepare,
	.unprepare = groups_unprepare,
	.prove_detached = groups_prove_detached,
	.vmm_let_go = groups_vmm_let_go,
};
