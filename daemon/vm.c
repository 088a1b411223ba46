/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <unistd.h>

#include "log.h"
#include "manager.h"
#include "vm-dbus.h"
#include "vm-internal.h"
#include "vm-journal.h"
#include "vm-memlock.h"
#include "vm.h"

static const char *const vm_state_names[_VM_STATE_MAX] = {
	[VM_STATE_REGISTERED] = "registered",
	[VM_STATE_ACTIVE]     = "active",
	[VM_STATE_RELEASING]  = "releasing",
	[VM_STATE_RELEASED]   = "released",
	[VM_STATE_FAILED]     = "failed",
	[VM_STATE_PREPARED]   = "prepared",
};

static const char *const vm_backend_names[_VM_BACKEND_MAX] = {
	[VM_BACKEND_IOMMUFD] = "iommufd",
	[VM_BACKEND_TYPE1]   = "type1",
};

const char *vm_state_to_string(VMState s)
{
	return s >= 0 && s < _VM_STATE_MAX ? vm_state_names[s] : NULL;
}

const char *vm_backend_to_string(VMBackend b)
{
	return b >= 0 && b < _VM_BACKEND_MAX ? vm_backend_names[b] : NULL;
}

int vm_backend_from_string(const char *s, VMBackend *ret)
{
	for (int i = 0; i < _VM_BACKEND_MAX; i++)
		if (s && strcmp(s, vm_backend_names[i]) == 0) {
			*ret = (VMBackend) i;
			return 0;
		}
	return -EINVAL;
}

void vm_set_state(VM *vm, VMState s)
{
	if (vm->state == s)
		return;
	log_info("VM %s: %s -> %s.", vm->name, vm_state_to_string(vm->state), vm_state_to_string(s));
	vm->state = s;
	vm_send_state_changed(vm);
	/* released: the manager drops the VM and its journal */
	if (s != VM_STATE_RELEASED)
		(void) vm_journal_save(vm);
}

static bool vm_accepts_devices(const VM *vm)
{
	return vm->state == VM_STATE_REGISTERED || vm->state == VM_STATE_ACTIVE ||
	       vm->state == VM_STATE_PREPARED;
}

bool vm_has_vmm(const VM *vm)
{
	return vm->vmm.pidfd >= 0;
}

/* ---- the VMM's exit ---- */

static int on_vmm_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	VM *vm = userdata;
	vfd_op_error error;
	int r;

	vm->vmm_exited = true;
	vm->vmm_exit = sd_event_source_disable_unref(vm->vmm_exit);
	vm_send_memory_changed(vm);
	if (!vm->release_on_exit) {
		uint64_t locked = 0, pinned = 0;
		const char *source = vm_observed_memory(vm, &locked, &pinned);

		/* post-mortem: vfiod keeps its references (and the pins) until Release */
		log_info("VM %s: VMM (pid %d) exited; kept until Release (release_on_exit off): "
			 "%" PRIu64 " bytes locked, %" PRIu64 " bytes pinned (%s).", vm->name,
			 (int) vm->vmm.pid, locked, pinned, source);
		return 0;
	}
	log_info("VM %s: VMM (pid %d) exited; releasing.", vm->name, (int) vm->vmm.pid);

	vfd_op_error_clear(&error);
	r = vm_release(vm, NULL, NULL, &error);
	if (r == VM_STATE_FAILED)
		log_error("VM %s: release after the VMM's exit failed: %s%s%s", vm->name,
			  error.subject, *error.subject ? ": " : "", error.message);
	if (r == VM_STATE_RELEASED)
		manager_vm_gone(vm->manager, vm);
	return 0;
}

/* ---- object ---- */

int vm_new(Manager *m, unsigned id, const VMConfig *config, VMMProcess *vmm, VM **ret)
{
	_cleanup_(vm_freep) VM *vm = NULL;
	int r;

	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->manager = m;
	vm->id = id;
	vm->iommufd = -1;
	vm->vmm = (VMMProcess) VMM_PROCESS_NULL;
	vm->state = vmm ? VM_STATE_REGISTERED : VM_STATE_PREPARED;
	vm->memory_bytes = config->memory_bytes;
	vm->viommu = config->viommu;
	vm->backend = config->backend;
	vm->vmm_opens_groups = config->vmm_opens_groups;
	vm->grant_group_nodes = config->grant_group_nodes;
	vm->release_on_exit = config->release_on_exit;
	vm->apply_memlock = config->apply_memlock;
	vm->memlock_policy = config->memlock_policy;
	vm->memlock_cap = config->memlock_cap;
	vm->extra_charge_bytes = config->extra_charge_bytes;
	vm->charge_matches = true;
	vm->owner_uid = config->owner_uid;
	r = vm_secret_generate(vm->vmm_secret);
	if (r < 0)
		return r;

	vm->name = strdup(config->name);
	if (!vm->name)
		return -ENOMEM;
	if (asprintf(&vm->path, VFD_VM_PATH_PREFIX "/%u", id) < 0) {
		vm->path = NULL;
		return -ENOMEM;
	}
	snprintf(vm->uuid, sizeof(vm->uuid), "%s", config->uuid);
	for (char *p = vm->uuid; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char) (*p - 'A' + 'a');

	switch (vm->backend) {
	case VM_BACKEND_IOMMUFD:
		/* per-process accounting is set here, before any object exists */
		r = vfd_iommufd_open(m->ctx, &vm->iommufd);
		if (r == -ENODEV)
			return -EPROTONOSUPPORT;
		if (r < 0)
			return r;
		break;
	case VM_BACKEND_TYPE1:
		if (!vm->vmm_opens_groups) {
			r = vfd_type1_new(m->ctx, &vm->type1);
			if (r == -ENOENT || r == -ENODEV)
				return -EPROTONOSUPPORT;
			if (r < 0)
				return r;
		}
		break;
	default:
		return -EINVAL;
	}

	if (vmm) {
		r = pidfd_watch_add(m->event, vmm, on_vmm_exit, vm, &vm->vmm_exit);
		if (r < 0)
			return r;
		vm->vmm = *vmm;
		*vmm = (VMMProcess) VMM_PROCESS_NULL;
	}

	*ret = TAKE_PTR(vm);
	return 0;
}

void vm_device_close(VMDevice *d)
{
	if (d->cdev_fd >= 0)
		close(d->cdev_fd);
	d->cdev_fd = -1;
}

VM *vm_free(VM *vm)
{
	if (!vm)
		return NULL;

	vm_release_done_free(vm);
	for (size_t i = 0; i < vm->n_devices; i++) {
		vm_device_close(&vm->devices[i]);
		vfd_bind_record_free(vm->devices[i].bind);
	}
	free(vm->devices);
	vfd_bind_record_free(vm->txn.planned);
	vfd_type1_free(vm->type1);
	if (vm->iommufd >= 0)
		close(vm->iommufd);
	sd_event_source_disable_unref(vm->vmm_exit);
	vmm_process_done(&vm->vmm);
	free(vm->vmm_sender);
	free(vm->name);
	free(vm->path);
	free(vm);
	return NULL;
}

/* ---- devices ---- */

VMDevice *vm_find_device(const VM *vm, const char *name)
{
	for (size_t i = 0; i < vm->n_devices; i++)
		if (strcmp(vm->devices[i].name, name) == 0)
			return &vm->devices[i];
	return NULL;
}

bool vm_holds(const VM *vm, const char *name)
{
	if (vm_find_device(vm, name))
		return true;
	for (size_t i = 0; i < vm->n_devices; i++) {
		const vfd_bind_record *b = vm->devices[i].bind;

		for (size_t j = 0; b && j < b->n_members; j++)
			if (strcmp(b->members[j].name, name) == 0)
				return true;
	}
	return false;
}

/* another device of this VM in group (already prepared for the backend) */
static bool vm_has_group(const VM *vm, int group, const VMDevice *except)
{
	for (size_t i = 0; i < vm->n_devices; i++)
		if (&vm->devices[i] != except && vm->devices[i].iommu_group == group)
			return true;
	return false;
}

/*
 * type1 behind a vIOMMU: each group is an address space of its own (QEMU
 * gives every device behind the vIOMMU its own container), so vfiod's
 * container takes only one group; true when another group is in it
 * already. Before GetFds only vfiod attaches: a device it prepared
 * without vmm_attaches has its group in vfiod's container.
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

/*
 * Opens what the backend needs for device d, whose group is bound to VFIO
 * now. Undone by backend_unprepare().
 */
static int backend_prepare(VM *vm, VMDevice *d, vfd_op_error *error)
{
	vfd_context *ctx = vm->manager->ctx;
	int r;

	switch (vm->backend) {
	case VM_BACKEND_IOMMUFD:
		r = vfd_vfio_cdev_open(ctx, d->is_mdev ? "mdev" : "pci", d->name, &d->cdev_fd);
		if (r < 0)
			return vfd_op_error_set(error, r, d->name, "cannot open the device's VFIO cdev");
		return 0;

	case VM_BACKEND_TYPE1:
		if (d->iommu_group < 0)
			return vfd_op_error_set(error, -ENOTBLK, d->name, "the device has no IOMMU group");
		if (vm->vmm_opens_groups) {
			/* prepared: vm_attach_vmm() grants once the VMM's uid is known */
			if (!vm->grant_group_nodes || !vm_has_vmm(vm) ||
			    vm_has_group(vm, d->iommu_group, d))
				return 0;
			r = vfd_type1_group_grant(ctx, (unsigned) d->iommu_group, vm->vmm.uid,
						  vm->vmm.gid, &d->previous_owner);
			if (r < 0)
				return vfd_op_error_set(error, r, d->name,
							"cannot give group %d to uid %u", d->iommu_group,
							(unsigned) vm->vmm.uid);
			d->granted = true;
			return 0;
		}
		if ((vfd_type1_is_sealed(vm->type1) || viommu_container_taken(vm, d)) &&
		    vfd_type1_group_fd(vm->type1, (unsigned) d->iommu_group) < 0) {
			/*
			 * the attach rule: the VMM attaches a group joining a
			 * container in use; behind a vIOMMU it attaches every
			 * group but the first to a container of its own
			 */
			r = vfd_type1_add_group_detached(vm->type1, (unsigned) d->iommu_group);
			if (r < 0)
				return vfd_op_error_set(error, r, d->name, "cannot open group %d",
							d->iommu_group);
			d->vmm_attaches = true;
			return 0;
		}
		r = vfd_type1_add_group(vm->type1, (unsigned) d->iommu_group);
		if (r < 0)
			return vfd_op_error_set(error, r, d->name,
						"cannot attach group %d to the VM's container", d->iommu_group);
		return 0;

	default:
		return -EINVAL;
	}
}

int backend_unprepare(VM *vm, VMDevice *d)
{
	int r = 0;

	vm_device_close(d);
	if (d->granted) {
		r = vfd_type1_group_revoke(vm->manager->ctx, (unsigned) d->iommu_group, &d->previous_owner);
		if (r >= 0)
			d->granted = false;
	}
	/*
	 * The group leaves the VM's container with its last device (the VMM
	 * does not have the container yet, is gone, or detached the group
	 * itself: vm_remove_device() checks): a descriptor kept across the
	 * unbind of its last device would name a dead vfio_group, and adding
	 * the device again would fail.
	 */
	if (vm->type1 && d->iommu_group >= 0 && !vm_has_group(vm, d->iommu_group, d))
		(void) vfd_type1_remove_group(vm->type1, (unsigned) d->iommu_group);
	return r;
}

static int vm_append_device(VM *vm, const VMDevice *d)
{
	VMDevice *n;

	n = realloc(vm->devices, (vm->n_devices + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	vm->devices = n;
	vm->devices[vm->n_devices++] = *d;
	return 0;
}

/* ---- transactions (journaled, see vm-journal.h) ---- */

static void txn_begin(VM *vm, VMTxnOp op, const char *device)
{
	vm->txn.planned = vfd_bind_record_free(vm->txn.planned);
	vm->txn = (VMTxn) { .op = op };
	snprintf(vm->txn.device, sizeof(vm->txn.device), "%s", device);
}

static void txn_end(VM *vm)
{
	vfd_bind_record_free(vm->txn.planned);
	vm->txn = (VMTxn) {};
}

static int copy_record(const vfd_bind_record *rec, vfd_bind_record **ret)
{
	struct json_object *j = NULL;
	int r;

	/* the record's own state-file form is its deep copy */
	r = vfd_bind_record_to_json(rec, &j);
	if (r < 0)
		return r;
	r = vfd_bind_record_from_json(j, ret);
	json_object_put(j);
	return r;
}

/* the claim's plan, journaled before its first change (vfd_bind_options.planned) */
static int journal_plan(const vfd_bind_record *plan, void *userdata)
{
	VM *vm = userdata;
	int r;

	vm->txn.planned = vfd_bind_record_free(vm->txn.planned);
	r = copy_record(plan, &vm->txn.planned);
	if (r < 0)
		return r;
	return vm_journal_save(vm);
}

static int check_can_add(VM *vm, const char *name, vfd_op_error *error)
{
	if (!vm_accepts_devices(vm))
		return vfd_op_error_set(error, -ESHUTDOWN, name, "VM %s is %s", vm->name,
					vm_state_to_string(vm->state));
	if (vm_find_device(vm, name))
		return vfd_op_error_set(error, -EISCONN, name, "already a device of VM %s", vm->name);
	/* one device change at a time: a remove's give-back still runs */
	if (vm->giveback)
		return vfd_op_error_set(error, -EBUSY, name, "a device of VM %s is being given back; "
					"try again", vm->name);
	return 0;
}

static int owned_elsewhere(const char *name, void *userdata)
{
	VM *vm = userdata;

	return manager_device_owned_elsewhere(vm->manager, name, vm);
}

int vm_add_pci(VM *vm, const vfd_pci_address *addr, vfd_op_error *error)
{
	_cleanup_(vfd_pci_device_freep) vfd_pci_device *dev = NULL;
	_cleanup_(vfd_bind_record_freep) vfd_bind_record *rec = NULL;
	vfd_context *ctx = vm->manager->ctx;
	VMDevice d = { .cdev_fd = -1, .iommu_group = -1 };
	vfd_bind_options opts = { .owned_elsewhere = owned_elsewhere, .planned = journal_plan,
				  .userdata = vm };
	int r;

	vfd_pci_address_format(addr, d.name);

	r = vfd_pci_device_load(ctx, addr, &dev);
	if (r < 0)
		return vfd_op_error_set(error, r, d.name, r == -ENODEV ? "no such PCI function" :
					"cannot read the PCI function");
	d.iommu_group = dev->iommu_group;

	r = check_can_add(vm, d.name, error);
	if (r < 0)
		return r;

	/* a cap refuses before anything changes */
	r = vm_memlock_before_add(vm, &d, error);
	if (r < 0)
		return r;

	txn_begin(vm, VM_TXN_ADD, d.name);
	r = manager_claim(vm->manager, addr, &opts, error, &rec);
	if (r < 0) {
		txn_end(vm);
		(void) vm_journal_save(vm);
		return r;
	}
	vm_journal_crash_point("add-claimed");

	d.bind = rec;
	r = backend_prepare(vm, &d, error);
	if (r < 0)
		goto rollback;

	r = vm_append_device(vm, &d);
	if (r < 0)
		goto rollback;
	/* journaled with what backend_prepare() did (a grant), still as a transaction */
	(void) vm_journal_save(vm);

	TAKE_PTR(rec);
	log_info("VM %s: added PCI function %s (group %d).", vm->name, d.name, d.iommu_group);
	vm_send_devices_changed(vm);
	/* raised before the VMM can have the device's descriptor */
	vm_memlock_after_add(vm);
	vm_journal_crash_point("add-raised");
	txn_end(vm);
	(void) vm_journal_save(vm);
	return 0;

rollback:
	(void) backend_unprepare(vm, &d);
	if (vfd_bind_release(ctx, rec, NULL) < 0)
		log_error("VM %s: could not give %s back after a failed add; see the kernel log.",
			  vm->name, d.name);
	txn_end(vm);
	(void) vm_journal_save(vm);
	return r;
}

static int add_mdev(VM *vm, const char *uuid, bool created, vfd_op_error *error)
{
	_cleanup_(vfd_mdev_freep) vfd_mdev *mdev = NULL;
	VMDevice d = { .cdev_fd = -1, .is_mdev = true, .created = created };
	int r;

	r = vfd_mdev_load(vm->manager->ctx, uuid, &mdev);
	if (r < 0)
		return vfd_op_error_set(error, r, uuid, r == -ENODEV ? "no such mdev" : "cannot read the mdev");
	snprintf(d.name, sizeof(d.name), "%s", mdev->uuid);
	d.iommu_group = mdev->iommu_group;

	if (manager_mdev_owner(vm->manager, d.name))
		return vfd_op_error_set(error, -EALREADY, d.name, "the mdev belongs to VM %s already",
					manager_mdev_owner(vm->manager, d.name)->name);

	r = check_can_add(vm, d.name, error);
	if (r < 0)
		return r;

	r = vm_memlock_before_add(vm, &d, error);
	if (r < 0)
		return r;

	r = backend_prepare(vm, &d, error);
	if (r >= 0)
		r = vm_append_device(vm, &d);
	if (r < 0) {
		(void) backend_unprepare(vm, &d);
		return r;
	}

	log_info("VM %s: added mdev %s (group %d%s).", vm->name, d.name, d.iommu_group,
		 created ? ", created" : "");
	vm_send_devices_changed(vm);
	vm_memlock_after_add(vm);
	(void) vm_journal_save(vm);
	return 0;
}

int vm_add_mdev(VM *vm, const char *uuid, vfd_op_error *error)
{
	return add_mdev(vm, uuid, false, error);
}

int vm_create_mdev(VM *vm, const char *parent, const char *type_id, const char *uuid,
		   const vfd_mdev_attr *attrs, size_t n_attrs, vfd_op_error *error,
		   char ret_uuid[VFD_UUID_STRLEN])
{
	char created[VFD_UUID_STRLEN], chosen[VFD_UUID_STRLEN];
	int r;

	if (!vm_accepts_devices(vm))
		return vfd_op_error_set(error, -ESHUTDOWN, vm->name, "VM %s is %s", vm->name,
					vm_state_to_string(vm->state));
	if (vm->giveback)
		return vfd_op_error_set(error, -EBUSY, vm->name, "a device of VM %s is being given "
					"back; try again", vm->name);

	/* the UUID is chosen first, so that the journal names the mdev before it exists */
	if (uuid && *uuid)
		snprintf(chosen, sizeof(chosen), "%s", uuid);
	else if ((r = vfd_mdev_uuid_generate(chosen)) < 0)
		return vfd_op_error_set(error, r, parent, "cannot generate a UUID");
	for (char *p = chosen; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char) (*p - 'A' + 'a');
	if (vfd_uuid_validate(chosen) < 0)
		return vfd_op_error_set(error, -EINVAL, chosen, "not a UUID");
	txn_begin(vm, VM_TXN_ADD, chosen);
	vm->txn.creates_mdev = true;
	r = vm_journal_save(vm);
	if (r < 0) {
		txn_end(vm);
		return vfd_op_error_set(error, r, chosen, "cannot journal the mdev; nothing changed");
	}

	r = manager_create_mdev(vm->manager, parent, type_id, chosen, attrs, n_attrs, error, created);
	if (r < 0)
		goto done;
	vm_journal_crash_point("add-claimed");

	r = add_mdev(vm, created, true, error);
	if (r < 0) {
		if (vfd_mdev_remove(vm->manager->ctx, created, NULL) < 0)
			log_error("VM %s: could not remove mdev %s after a failed add.", vm->name, created);
		goto done;
	}
	vm_journal_crash_point("add-raised");
	memcpy(ret_uuid, created, VFD_UUID_STRLEN);
done:
	txn_end(vm);
	(void) vm_journal_save(vm);
	return r;
}

/* gives device d back: its group's drivers, the mdev vfiod created */
static int device_give_back(VM *vm, VMDevice *d, vfd_op_error *error)
{
	vfd_context *ctx = vm->manager->ctx;
	int r, first = 0, guard;

	r = backend_unprepare(vm, d);
	if (r < 0 && first == 0)
		first = vfd_op_error_set(error, r, d->name, "cannot give the group node back");

	/* nobody may hold it: the unbind would wait in the kernel, vfiod's loop with it */
	r = vm_device_prove_free(vm, d, error, &guard);
	if (r < 0) {
		vfd_op_error ignored;

		/* vfiod's own descriptors back, where the holder lets it have them */
		if (!vm->vmm_exited && backend_prepare(vm, d, &ignored) < 0)
			log_warning("VM %s: cannot open %s again after a refused give-back: %s",
				    vm->name, d->name, ignored.message);
		return r;
	}

	if (d->bind) {
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

void vm_drop_device(VM *vm, VMDevice *d)
{
	size_t i = (size_t) (d - vm->devices);

	vfd_bind_record_free(d->bind);
	memmove(&vm->devices[i], &vm->devices[i + 1], (vm->n_devices - i - 1) * sizeof(*d));
	vm->n_devices--;
}

/*
 * iommufd hot-remove with a live VMM: the unbind waits in the kernel (and
 * vfiod with it, uninterruptibly after a signal) until every open file of
 * the device is released, and nothing user space can see proves that the
 * VMM closed its cdev. vfiod closes its own file and asks the vfiod_mm
 * helper who else holds the struct vfio_device; only its registration
 * left is the proof. Anything else: vfiod opens its own file again and
 * nothing changed. The VMM cannot reopen the cdev by itself (the node is
 * root's): between the proof and the unbind only a root process could.
 * Also type1 when vfiod holds no group of the device (a VM adopted after
 * a restart): no open device file is what an unbind needs.
 */
static int prove_closed_by_helper(VM *vm, VMDevice *d, vfd_op_error *error)
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

/* device name of vm, while the VM takes device changes: -ENODEV, -ESHUTDOWN otherwise */
static int find_changeable_device(VM *vm, const char *name, vfd_op_error *error, VMDevice **ret)
{
	VMDevice *d = vm_find_device(vm, name);

	if (!d)
		return vfd_op_error_set(error, -ENODEV, name, "not a device of VM %s", vm->name);
	if (!vm_accepts_devices(vm))
		return vfd_op_error_set(error, -ESHUTDOWN, name, "VM %s is %s", vm->name,
					vm_state_to_string(vm->state));
	*ret = d;
	return 0;
}

int vm_remove_device(VM *vm, const char *name, VMRemoveDone done, void *userdata,
		     vfd_op_error *error)
{
	VMDevice *d;
	int r, guard = -1;

	r = find_changeable_device(vm, name, error, &d);
	if (r < 0)
		return r;
	/* one give-back at a time per VM: a Release or another remove runs */
	if (vm->giveback)
		return vfd_op_error_set(error, -EBUSY, name, "a device of VM %s is being given "
					"back already; try again", vm->name);
	/*
	 * The kernel would block the unbind (and vfiod with it) until the VMM
	 * closes the device. A type1 group that is in no container proves it
	 * did: VFIO_GROUP_UNSET_CONTAINER fails while a device is open.
	 * iommufd: prove_closed_by_helper(), last.
	 */
	if (vm->fds_handed_out && !vm->vmm_exited && vm->backend != VM_BACKEND_IOMMUFD) {
		int fd = vm->type1 && d->iommu_group >= 0 ?
			vfd_type1_group_fd(vm->type1, (unsigned) d->iommu_group) : -1;

		if (fd < 0) {
			/* vfiod holds no group of it (adopted after a restart): the helper proves */
			r = prove_closed_by_helper(vm, d, error);
			if (r < 0)
				return r;
		} else if (vfd_type1_group_in_container(fd) != 0)
			return vfd_op_error_set(error, -EBUSY, name,
						"the VMM still has group %d attached; it closes the device "
						"and detaches the group (VFIO_GROUP_UNSET_CONTAINER) first",
						d->iommu_group);
	}
	/* the other device still needs the group on vfio-pci */
	if (d->bind && vm_has_group(vm, d->iommu_group, d))
		return vfd_op_error_set(error, -EBUSY, name,
					"another device of VM %s shares group %d", vm->name, d->iommu_group);
	/*
	 * A VMM that opens its groups itself (QEMU): a vfio group is open
	 * once at a time (EBUSY while QEMU holds it), so vfiod's own open
	 * proves QEMU let go of it, and with it of the group's devices.
	 */
	if (vm->vmm_opens_groups && vm_has_vmm(vm) && !vm->vmm_exited && d->iommu_group >= 0) {
		int fd = -1;

		r = vfd_type1_group_open(vm->manager->ctx, (unsigned) d->iommu_group, &fd);
		if (r == -EBUSY)
			return vfd_op_error_set(error, -EBUSY, name, "group %d is still open (by the "
						"VMM); it closes the device and the group first",
						d->iommu_group);
		if (fd >= 0)
			close(fd);
	}
	/* after every other check: it closes vfiod's own cdev file */
	if (vm->fds_handed_out && !vm->vmm_exited && vm->backend == VM_BACKEND_IOMMUFD) {
		r = prove_closed_by_helper(vm, d, error);
		if (r < 0)
			return r;
	}

	/* proven free: journaled, a vfiod that dies from here on finishes the remove */
	txn_begin(vm, VM_TXN_REMOVE, name);
	r = vm_journal_save(vm);
	if (r < 0) {
		txn_end(vm);
		return vfd_op_error_set(error, r, name, "cannot journal the remove; nothing changed");
	}
	vm_journal_crash_point("remove-proved");

	/* vfiod's own descriptors first, then nobody may hold it (device_give_back()'s order) */
	r = backend_unprepare(vm, d);
	if (r >= 0)
		r = vm_device_prove_free(vm, d, error, &guard);
	else
		vfd_op_error_set(error, r, d->name, "cannot give the group node back");
	if (r >= 0)
		r = vm_remove_give_back_start(vm, d, guard, done, userdata, error);
	if (r < 0) {
		vfd_op_error ignored;

		/* the device stays with the VM, vfiod's descriptors too where the holder lets it */
		if (!vm->vmm_exited && backend_prepare(vm, d, &ignored) < 0)
			log_warning("VM %s: cannot open %s again after a refused remove: %s", vm->name,
				    d->name, ignored.message);
		txn_end(vm);
		(void) vm_journal_save(vm);
		return r;
	}
	return 0;
}

int vm_remove_given_back(VM *vm, VMDevice *d, int r, const vfd_op_error *error,
			 vfd_op_error *ret_error)
{
	const char *name = vm->txn.device;

	if (r < 0) {
		/* the device stays with the VM; RemoveDevice or Release retries the rest */
		log_error("VM %s: removing %s failed: %s", vm->name, name,
			  error->message[0] ? error->message : "see the kernel log");
		*ret_error = *error;
		txn_end(vm);
		(void) vm_journal_save(vm);
		return r;
	}
	vm_journal_crash_point("remove-given-back");

	log_info("VM %s: removed device %s.", vm->name, name);
	if (d) {
		vm_drop_device(vm, d);
		vm_send_devices_changed(vm);
	}
	/* lowered only now that the device is gone, never below what is charged */
	vm_memlock_after_change(vm, "remove");
	txn_end(vm);
	(void) vm_journal_save(vm);
	return 0;
}

/* ---- descriptors ---- */

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

static int dup_fd(int fd)
{
	int n = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	return n < 0 ? negative_errno() : n;
}

/*
 * iommufd: the VMM's own open of the device's cdev, a file separate from
 * vfiod's (d->cdev_fd). A duplicate would share vfiod's file, and the
 * VMM's close would then release nothing: the device would stay bound to
 * the VMM's iommufd, and a hot-remove could never see it closed.
 */
static int vmm_cdev_open(VM *vm, const VMDevice *d, int *ret_fd)
{
	return vfd_vfio_cdev_open(vm->manager->ctx, d->is_mdev ? "mdev" : "pci", d->name, ret_fd);
}

int vm_get_fds(VM *vm, VMFds *ret)
{
	VMFds f = { .iommu_fd = -1 };
	int r;

	if (!vm_accepts_devices(vm))
		return -ESHUTDOWN;
	if (vm->vmm_opens_groups)
		return -EMEDIUMTYPE;
	/* a give-back runs: a descriptor opened now would make its unbind wait */
	if (vm->giveback)
		return -EBUSY;

	f.devices = calloc(vm->n_devices ? vm->n_devices : 1, sizeof(*f.devices));
	f.groups = calloc(vm->n_devices ? vm->n_devices : 1, sizeof(*f.groups));
	if (!f.devices || !f.groups) {
		vm_fds_done(&f);
		return -ENOMEM;
	}

	r = dup_fd(vm->backend == VM_BACKEND_IOMMUFD ? vm->iommufd : vfd_type1_container_fd(vm->type1));
	if (r < 0)
		goto fail;
	f.iommu_fd = r;

	for (size_t i = 0; i < vm->n_devices; i++) {
		const VMDevice *d = &vm->devices[i];
		VMFd *out = &f.devices[f.n_devices];

		snprintf(out->name, sizeof(out->name), "%s", d->name);
		out->group = (unsigned) d->iommu_group;

		if (vm->backend == VM_BACKEND_IOMMUFD) {
			r = vmm_cdev_open(vm, d, &out->fd);
			if (r < 0)
				goto fail;
			f.n_devices++;
			continue;
		}

		/* type1: the group once, and a device descriptor opened from it */
		int group_fd = vfd_type1_group_fd(vm->type1, (unsigned) d->iommu_group);
		bool attached = group_fd >= 0 && vfd_type1_group_in_container(group_fd) > 0;
		if (group_fd < 0) {
			r = group_fd;
			goto fail;
		}
		bool have_group = false;
		for (size_t j = 0; j < f.n_groups; j++)
			have_group = have_group || f.groups[j].group == (unsigned) d->iommu_group;
		if (!have_group) {
			r = dup_fd(group_fd);
			if (r < 0)
				goto fail;
			f.groups[f.n_groups] = (VMFd) { .group = (unsigned) d->iommu_group, .fd = r };
			snprintf(f.groups[f.n_groups].name, sizeof(f.groups[0].name), "%d", d->iommu_group);
			f.n_groups++;
		}
		if (!attached)
			continue; /* hot-added: the VMM attaches the group, then opens the device */
		r = vfd_type1_group_get_device_fd(group_fd, d->name, &out->fd);
		if (r < 0)
			goto fail;
		f.n_devices++;
	}
	for (size_t i = 0; i < vm->n_devices; i++)
		if (!vm->devices[i].vmm_attaches)
			vm->devices[i].in_use = true;

	if (vm->type1)
		vfd_type1_seal(vm->type1);
	vm->fds_handed_out = true;
	vm_set_state(vm, VM_STATE_ACTIVE);

	*ret = f;
	return 0;
fail:
	vm_fds_done(&f);
	return r;
}

int vm_get_device_fds(VM *vm, const char *name, VMFds *ret)
{
	VMFds f = { .iommu_fd = -1 };
	VMDevice *d;
	int r, group_fd;

	d = vm_find_device(vm, name);
	if (!d)
		return -ENODEV;
	if (!vm_accepts_devices(vm))
		return -ESHUTDOWN;
	if (vm->vmm_opens_groups)
		return -EMEDIUMTYPE;
	/* a give-back runs: a cdev opened now would make its unbind wait */
	if (vm->giveback)
		return -EBUSY;

	f.devices = calloc(1, sizeof(*f.devices));
	f.groups = calloc(1, sizeof(*f.groups));
	if (!f.devices || !f.groups) {
		vm_fds_done(&f);
		return -ENOMEM;
	}
	snprintf(f.devices[0].name, sizeof(f.devices[0].name), "%s", d->name);
	f.devices[0].group = (unsigned) d->iommu_group;

	if (vm->backend == VM_BACKEND_IOMMUFD) {
		r = vmm_cdev_open(vm, d, &f.devices[0].fd);
		if (r < 0)
			goto fail;
		f.n_devices = 1;
		*ret = f;
		return 0;
	}

	group_fd = vfd_type1_group_fd(vm->type1, (unsigned) d->iommu_group);
	if (group_fd < 0) {
		r = group_fd;
		goto fail;
	}
	r = dup_fd(group_fd);
	if (r < 0)
		goto fail;
	f.groups[0] = (VMFd) { .group = (unsigned) d->iommu_group, .fd = r };
	snprintf(f.groups[0].name, sizeof(f.groups[0].name), "%d", d->iommu_group);
	f.n_groups = 1;
	/* attached by vfiod before GetFds: the device too; else the VMM opens it after attaching */
	if (vfd_type1_group_in_container(group_fd) > 0) {
		r = vfd_type1_group_get_device_fd(group_fd, d->name, &f.devices[0].fd);
		if (r < 0)
			goto fail;
		f.n_devices = 1;
	}
	*ret = f;
	return 0;
fail:
	vm_fds_done(&f);
	return r;
}

int vm_confirm_attached(VM *vm, const char *name, vfd_op_error *error)
{
	VMDevice *d;
	int r;

	r = find_changeable_device(vm, name, error, &d);
	if (r < 0)
		return r;
	if (vm->giveback)
		return vfd_op_error_set(error, -EBUSY, name, "a device of VM %s is being given back; "
					"try again", vm->name);
	if (vm->type1 && d->iommu_group >= 0) {
		r = vfd_type1_group_in_container(vfd_type1_group_fd(vm->type1, (unsigned) d->iommu_group));
		if (r < 0)
			return vfd_op_error_set(error, r, name, "cannot read the status of group %d",
						d->iommu_group);
		if (r == 0)
			return vfd_op_error_set(error, -ENOTCONN, name,
						"group %d is in no container: not attached", d->iommu_group);
	}
	d->in_use = true;
	(void) vm_journal_save(vm);
	log_info("VM %s: the VMM attached %s.", vm->name, name);
	(void) vm_memlock_check(vm, "attach");
	return 0;
}

int vm_attach_vmm(VM *vm, VMMProcess *vmm, vfd_op_error *error)
{
	int r;

	if (vm->state != VM_STATE_PREPARED)
		return vfd_op_error_set(error, -EBADFD, vm->name, "VM %s is %s: its VMM is named already",
					vm->name, vm_state_to_string(vm->state));

	r = pidfd_watch_add(vm->manager->event, vmm, on_vmm_exit, vm, &vm->vmm_exit);
	if (r < 0)
		return vfd_op_error_set(error, r, vm->name, "cannot watch the VMM's exit");
	vm->vmm = *vmm;
	*vmm = (VMMProcess) VMM_PROCESS_NULL;

	/* the group nodes the VMM will open, once per group */
	for (size_t i = 0; vm->vmm_opens_groups && vm->grant_group_nodes && i < vm->n_devices; i++) {
		VMDevice *d = &vm->devices[i];
		bool done = false;

		for (size_t j = 0; j < i; j++)
			done = done || vm->devices[j].iommu_group == d->iommu_group;
		if (done || d->iommu_group < 0)
			continue;
		r = vfd_type1_group_grant(vm->manager->ctx, (unsigned) d->iommu_group, vm->vmm.uid,
					  vm->vmm.gid, &d->previous_owner);
		if (r < 0) {
			/* back to prepared: the grants so far are taken back */
			for (size_t j = 0; j < i; j++)
				if (vm->devices[j].granted &&
				    vfd_type1_group_revoke(vm->manager->ctx,
							   (unsigned) vm->devices[j].iommu_group,
							   &vm->devices[j].previous_owner) >= 0)
					vm->devices[j].granted = false;
			vm->vmm_exit = sd_event_source_disable_unref(vm->vmm_exit);
			*vmm = vm->vmm;
			vm->vmm = (VMMProcess) VMM_PROCESS_NULL;
			return vfd_op_error_set(error, r, d->name, "cannot give group %d to uid %u",
						d->iommu_group, (unsigned) vmm->uid);
		}
		d->granted = true;
	}

	log_info("VM %s: VMM attached (pid %d, uid %u).", vm->name, (int) vm->vmm.pid,
		 (unsigned) vm->vmm.uid);
	vm_set_state(vm, VM_STATE_REGISTERED);
	vm_send_memory_changed(vm);
	return 0;
}

/* ---- release ---- */

/* vm_release(): vm-release.c */

int vm_recover(VM *vm, bool vmm_alive, vfd_op_error *error)
{
	vfd_context *ctx = vm->manager->ctx;
	VMDevice *d;
	int r = 0;

	/* 1. the transaction the old process did not finish: an add undone, a remove finished */
	d = vm->txn.op != VM_TXN_NONE ? vm_find_device(vm, vm->txn.device) : NULL;
	if (d) {
		r = device_give_back(vm, d, error);
		if (r >= 0)
			vm_drop_device(vm, d);
	} else if (vm->txn.op == VM_TXN_ADD) {
		if (vm->txn.planned)
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
		vm->state = VM_STATE_FAILED;
		return VM_STATE_FAILED;
	}
	txn_end(vm);

	/* 2. the VMM is gone: so are its descriptors and pins; everything goes back */
	if (vm->vmm_exited)
		return vm_release(vm, NULL, NULL, error);

	/*
	 * 3. what vfiod held open died with the old process. Before GetFds it
	 * is opened again (the VMM gets it from this process); after, the
	 * VMM has its own: a type1 container is sealed (a later group is
	 * attached by the VMM), nothing else is reopened.
	 */
	for (size_t i = 0; !vm->fds_handed_out && !vm->vmm_opens_groups && i < vm->n_devices; i++) {
		vfd_op_error ignored;

		if (vm->devices[i].vmm_attaches)
			continue;
		if (backend_prepare(vm, &vm->devices[i], &ignored) < 0)
			log_warning("VM %s: cannot open %s again: %s", vm->name, vm->devices[i].name,
				    ignored.message);
	}
	if (vm->fds_handed_out && vm->type1)
		vfd_type1_seal(vm->type1);

	/*
	 * 4. the limit for the devices there are now (lowered after an undone
	 * add). A raise the old process made but did not journal shows in the
	 * VMM's limit: that is the one vfiod set last.
	 */
	if (vm_has_vmm(vm) && vm->apply_memlock) {
		uint64_t now = vm_memlock_limit(vm);
		uint64_t journaled = vm->memlock_applied ? vm->memlock_applied : vm->memlock_original;

		if (now != UINT64_MAX && now != journaled)
			vm->memlock_applied = now;
	}
	if (vm_has_vmm(vm))
		vm_memlock_after_change(vm, "recover");
	return vm->state;
}

const char *vm_observed_memory(const VM *vm, uint64_t *ret_locked, uint64_t *ret_pinned)
{
	vfd_mm_info info;

	if (manager_mm_get(vm->manager, vm, &info) >= 0) {
		*ret_locked = info.locked_bytes;
		*ret_pinned = info.pinned_bytes;
		return "vfiod_mm";
	}
	if (vm->have_exit_counters) {
		/* the helper lost the handle (unloaded): the last counters it reported */
		*ret_locked = vm->exit_locked_bytes;
		*ret_pinned = vm->exit_pinned_bytes;
		return "vfiod_mm at exit";
	}
	if (vm_has_vmm(vm) && !vm->vmm_exited &&
	    vmm_process_read_memory(&vm->vmm, ret_locked, ret_pinned) >= 0)
		return "proc";
	*ret_locked = 0;
	*ret_pinned = 0;
	return "none";
}

const char *vm_vmm_state(const VM *vm)
{
	if (!vm_has_vmm(vm))
		return "none";
	if (vm->mm_handle != 0 && vm->mm_state == VFD_MM_STATE_RELEASED)
		return "released";
	if (vm->vmm_exited || (vm->mm_handle != 0 && vm->mm_state == VFD_MM_STATE_EXITED))
		return "exited";
	return "alive";
}

void vm_mm_update(VM *vm, vfd_mm_event_type type, const vfd_mm_info *info)
{
	vfd_mm_state old = vm->mm_state;

	vm->mm_state = info->state;
	if (info->state != VFD_MM_STATE_ALIVE && !vm->have_exit_counters) {
		/* an EXITED event carries the counters of the exit; a resync those of now */
		vm->have_exit_counters = true;
		vm->exit_locked_bytes = info->locked_bytes;
		vm->exit_pinned_bytes = info->pinned_bytes;
		log_info("VM %s: the VMM's address space is gone; %" PRIu64 " bytes locked, %" PRIu64
			 " bytes pinned at its exit (vfiod_mm handle %u, %u reference(s) held).",
			 vm->name, info->locked_bytes, info->pinned_bytes, info->handle, info->mm_refs);
	}
	if (type == VFD_MM_EVENT_ZERO)
		log_info("VM %s: the dead VMM's locked and pinned counters reached 0.", vm->name);
	if (info->state == VFD_MM_STATE_RELEASED && old != VFD_MM_STATE_RELEASED)
		log_info("VM %s: vfiod_mm reports RELEASED: no pin holder of the VMM's memory is left "
			 "(locked %" PRIu64 ", pinned %" PRIu64 " bytes stay charged to the dead mm: stale).",
			 vm->name, info->locked_bytes, info->pinned_bytes);
	vm_send_memory_changed(vm);
}

uint64_t vm_memlock_limit(const VM *vm)
{
	uint64_t limit;

	if (!vm_has_vmm(vm) || vm->vmm_exited || vmm_process_memlock_limit(&vm->vmm, &limit) < 0)
		return UINT64_MAX;
	return limit;
}
