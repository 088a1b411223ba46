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
#include "vm-backend.h"
#include "vm-dbus.h"
#include "vm-private.h"
#include "vm-journal.h"
#include "vm-memlock.h"
#include "vm.h"
#include "quarantine.h"
#include "vgpu.h"

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

bool vm_accepts_devices(const VM *vm)
{
	return vm->state == VM_STATE_REGISTERED || vm->state == VM_STATE_ACTIVE ||
	       vm->state == VM_STATE_PREPARED;
}

bool vm_has_vmm(const VM *vm)
{
	return vm->vmm.pidfd >= 0;
}

/* ---- reading ---- */

Manager *vm_get_manager(const VM *vm)
{
	return vm->manager;
}

unsigned vm_get_id(const VM *vm)
{
	return vm->id;
}

const char *vm_get_name(const VM *vm)
{
	return vm->name;
}

const char *vm_get_path(const VM *vm)
{
	return vm->path;
}

const char *vm_get_uuid(const VM *vm)
{
	return vm->uuid;
}

VMState vm_get_state(const VM *vm)
{
	return vm->state;
}

VMBackend vm_get_backend(const VM *vm)
{
	return vm->backend;
}

bool vm_get_viommu(const VM *vm)
{
	return vm->viommu;
}

uint64_t vm_get_memory_bytes(const VM *vm)
{
	return vm->memory_bytes;
}

const VMMProcess *vm_get_vmm(const VM *vm)
{
	return &vm->vmm;
}

bool vm_get_vmm_exited(const VM *vm)
{
	return vm->vmm_exited;
}

size_t vm_get_n_devices(const VM *vm)
{
	return vm->n_devices;
}

const VMDevice *vm_get_device(const VM *vm, size_t i)
{
	return i < vm->n_devices ? &vm->devices[i] : NULL;
}

const VMDevice *vm_lookup_device(const VM *vm, const char *name)
{
	return vm_find_device(vm, name);
}

int vm_vmm_let_go(VM *vm, const char *name)
{
	VMDevice *d = vm_find_device(vm, name);

	if (!d || !vm->ops->vmm_let_go)
		return 1;
	return vm->ops->vmm_let_go(vm, d);
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
	vm_backend_init(vm);
	vm->vmm = (VMMProcess) VMM_PROCESS_NULL;
	vm->state = vmm ? VM_STATE_REGISTERED : VM_STATE_PREPARED;
	vm->memory_bytes = config->memory_bytes;
	vm->viommu = config->viommu;
	vm->backend = config->backend;
	vm->vmm_opens_groups = config->vmm_opens_groups;
	vm->grant_group_nodes = config->grant_group_nodes;
	vm->release_on_exit = config->release_on_exit;
	vm_memlock_init(vm, config);
	r = vm_identity_init(vm, config);
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

	vm->ops = vm_backend_ops(vm->backend, vm->vmm_opens_groups);
	if (!vm->ops)
		return -EINVAL;
	if (vm->ops->open) {
		r = vm->ops->open(vm);
		if (r < 0)
			return r;
	}

	if (vmm) {
		r = pidfd_watch_add(m->event, vmm, vm_on_vmm_exit, vm, &vm->vmm_exit);
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
	vm_journal_done(vm);
	vm_memlock_done(vm);
	vm_backend_free(vm);
	for (size_t i = 0; i < vm->n_devices; i++)
		vfd_bind_record_free(vm->devices[i].bind);
	free(vm->devices);
	vfd_bind_record_free(vm->txn.planned);
	sd_event_source_disable_unref(vm->vmm_exit);
	vmm_process_done(&vm->vmm);
	vm_identity_done(vm);
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

static int vm_append_device(VM *vm, const VMDevice *d)
{
	VMDevice *n;

	n = realloc(vm->devices, (vm->n_devices + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	vm->devices = n;
	vm->devices[vm->n_devices] = *d;
	vm->devices[vm->n_devices++].serial = ++vm->manager->next_device_serial;
	return 0;
}

/* ---- transactions (journaled, see vm-journal.h) ---- */

static void txn_begin(VM *vm, VMTxnOp op, const char *device)
{
	vm->txn.planned = vfd_bind_record_free(vm->txn.planned);
	vm->txn = (VMTxn) { .op = op };
	snprintf(vm->txn.device, sizeof(vm->txn.device), "%s", device);
}

void vm_txn_end(VM *vm)
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
	if (vm_is_giving_back(vm))
		return vfd_op_error_set(error, -EBUSY, name, "a device of VM %s is being given back; "
					"try again", vm->name);
	return 0;
}

static int owned_elsewhere(const char *name, void *userdata)
{
	VM *vm = userdata;

	return manager_device_owned_elsewhere(vm->manager, name, vm);
}

int vm_add_pci_full(VM *vm, const vfd_pci_address *addr, unsigned vgpu_type, bool prove_unused,
		    vfd_op_error *error)
{
	_cleanup_(vfd_pci_device_freep) vfd_pci_device *dev = NULL;
	_cleanup_(vfd_bind_record_freep) vfd_bind_record *rec = NULL;
	vfd_context *ctx = vm->manager->ctx;
	VMDevice d = { .cdev_fd = -1, .iommu_group = -1, .handed = VM_HANDED_NONE, .handed_known = true };
	vfd_bind_options opts = { .owned_elsewhere = owned_elsewhere, .planned = journal_plan,
				  .userdata = vm };
	int r, k;

	vfd_pci_address_format(addr, d.name);

	r = vfd_pci_device_load(ctx, addr, &dev);
	if (r < 0)
		return vfd_op_error_set(error, r, d.name, r == -ENODEV ? "no such PCI function" :
					"cannot read the PCI function");
	d.iommu_group = dev->iommu_group;

	r = check_can_add(vm, d.name, error);
	if (r < 0)
		return r;
	if (prove_unused) {
		r = manager_prove_unused(vm->manager, vm, d.iommu_group, d.name, error);
		if (r < 0)
			return r;
	}

	/* a cap refuses before anything changes */
	r = vm_memlock_before_add(vm, &d, error);
	if (r < 0)
		return r;

	txn_begin(vm, VM_TXN_ADD, d.name);
	vm->txn.vgpu_type = vgpu_type;
	r = manager_claim(vm->manager, addr, &opts, error, &rec);
	if (r < 0) {
		vm_txn_end(vm);
		(void) vm_journal_save(vm);
		return r;
	}
	vm_journal_crash_point("add-claimed");

	d.bind = rec;
	if (vgpu_type && (r = vgpu_take(vm->manager, d.name, vgpu_type, error)) < 0)
		goto rollback;
	d.vgpu_type = vgpu_type;
	r = vm_backend_prepare(vm, &d, error);
	if (r < 0)
		goto rollback;

	r = vm_append_device(vm, &d);
	if (r < 0)
		goto rollback;
	/* journaled with what vm_backend_prepare() did (a grant), still as a transaction */
	(void) vm_journal_save(vm);

	/* raised before the VMM can have the device's descriptor; no raise, no device */
	r = vm_memlock_after_add(vm, d.name, error);
	if (r < 0) {
		VMDevice *added = vm_find_device(vm, d.name);

		added->bind = NULL; /* rec's still */
		vm_drop_device(vm, added);
		goto rollback;
	}
	TAKE_PTR(rec);
	log_info("VM %s: added PCI function %s (group %d).", vm->name, d.name, d.iommu_group);
	vm_send_devices_changed(vm);
	vm_journal_crash_point("add-raised");
	vm_txn_end(vm);
	(void) vm_journal_save(vm);
	return 0;

rollback:
	(void) vm_backend_unprepare(vm, &d);
	/* a VF that keeps its type holds a vGPU of its PF: no VM gets it until an admin looks */
	k = vgpu_reset_device(vm->manager, &d);
	if (k < 0) {
		char why[QUARANTINE_REASON_MAX];

		snprintf(why, sizeof(why), "its vGPU type %u could not be set back to 0 after a failed add: %s",
			 d.vgpu_type, strerror(-k));
		manager_quarantine_device(vm->manager, d.name, vm->name, why);
	}
	if (vfd_bind_release(ctx, rec, NULL) < 0)
		log_error("VM %s: could not give %s back after a failed add; see the kernel log.",
			  vm->name, d.name);
	vm_txn_end(vm);
	(void) vm_journal_save(vm);
	return r;
}

static int add_mdev(VM *vm, const char *uuid, bool created, vfd_op_error *error)
{
	_cleanup_(vfd_mdev_freep) vfd_mdev *mdev = NULL;
	VMDevice d = { .cdev_fd = -1, .is_mdev = true, .created = created, .handed = VM_HANDED_NONE,
			.handed_known = true };
	int r;

	r = vfd_mdev_load(vm->manager->ctx, uuid, &mdev);
	if (r < 0)
		return vfd_op_error_set(error, r, uuid, r == -ENODEV ? "no such mdev" : "cannot read the mdev");
	snprintf(d.name, sizeof(d.name), "%s", mdev->uuid);
	d.iommu_group = mdev->iommu_group;

	/* a slice of a quarantined function (its reset failed) is that function's state */
	if (mdev->parent) {
		r = manager_quarantine_check(vm->manager, mdev->parent, error);
		if (r < 0)
			return r;
	}

	if (manager_mdev_owner(vm->manager, d.name))
		return vfd_op_error_set(error, -EALREADY, d.name, "the mdev belongs to VM %s already",
					manager_mdev_owner(vm->manager, d.name)->name);

	r = check_can_add(vm, d.name, error);
	if (r < 0)
		return r;

	r = vm_memlock_before_add(vm, &d, error);
	if (r < 0)
		return r;

	r = vm_backend_prepare(vm, &d, error);
	if (r >= 0)
		r = vm_append_device(vm, &d);
	/* raised before the VMM can have the device's descriptor; no raise, no device */
	if (r >= 0) {
		r = vm_memlock_after_add(vm, d.name, error);
		if (r < 0)
			vm_drop_device(vm, vm_find_device(vm, d.name));
	}
	if (r < 0) {
		(void) vm_backend_unprepare(vm, &d);
		return r;
	}

	log_info("VM %s: added mdev %s (group %d%s).", vm->name, d.name, d.iommu_group,
		 created ? ", created" : "");
	vm_send_devices_changed(vm);
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
	if (vm_is_giving_back(vm))
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
		vm_txn_end(vm);
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
	vm_txn_end(vm);
	(void) vm_journal_save(vm);
	return r;
}

void vm_drop_device(VM *vm, VMDevice *d)
{
	size_t i = (size_t) (d - vm->devices);

	vfd_bind_record_free(d->bind);
	memmove(&vm->devices[i], &vm->devices[i + 1], (vm->n_devices - i - 1) * sizeof(*d));
	vm->n_devices--;
}

int vm_find_changeable_device(VM *vm, const char *name, vfd_op_error *error, VMDevice **ret)
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

	r = vm_find_changeable_device(vm, name, error, &d);
	if (r < 0)
		return r;
	/* one give-back at a time per VM: a Release or another remove runs */
	if (vm_is_giving_back(vm))
		return vfd_op_error_set(error, -EBUSY, name, "a device of VM %s is being given "
					"back already; try again", vm->name);
	/* the other device still needs the group on vfio-pci */
	if (d->bind && vm_has_group(vm, d->iommu_group, d))
		return vfd_op_error_set(error, -EBUSY, name,
					"another device of VM %s shares group %d", vm->name, d->iommu_group);
	/*
	 * The kernel would block the unbind (and vfiod with it) until the VMM
	 * closes the device: the backend proves it did, last (iommufd closes
	 * vfiod's own cdev file for it).
	 */
	if (!vm->vmm_exited && vm->ops->prove_detached) {
		r = vm->ops->prove_detached(vm, d, error);
		if (r < 0)
			return r;
	}

	/* proven free: journaled, a vfiod that dies from here on finishes the remove */
	txn_begin(vm, VM_TXN_REMOVE, name);
	r = vm_journal_save(vm);
	if (r < 0) {
		vm_txn_end(vm);
		return vfd_op_error_set(error, r, name, "cannot journal the remove; nothing changed");
	}
	vm_journal_crash_point("remove-proved");

	/* vfiod's own descriptors first, then nobody may hold it (device_give_back()'s order) */
	r = vm_backend_unprepare(vm, d);
	if (r >= 0)
		r = vm_device_prove_free(vm, d, error, &guard);
	else
		vfd_op_error_set(error, r, d->name, "cannot give the group node back");
	if (r >= 0)
		r = vm_remove_give_back_start(vm, d, guard, done, userdata, error);
	if (r < 0) {
		vfd_op_error ignored = {};

		/* the device stays with the VM, vfiod's descriptors too where the holder lets it */
		if (!vm->vmm_exited && vm_backend_prepare(vm, d, &ignored) < 0)
			log_warning("VM %s: cannot open %s again after a refused remove: %s", vm->name,
				    d->name, ignored.message);
		vm_txn_end(vm);
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
		vm_txn_end(vm);
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
	vm_txn_end(vm);
	(void) vm_journal_save(vm);
	return 0;
}

int vm_attach_vmm(VM *vm, VMMProcess *vmm, vfd_op_error *error)
{
	int r;

	if (vm->state != VM_STATE_PREPARED)
		return vfd_op_error_set(error, -EBADFD, vm->name, "VM %s is %s: its VMM is named already",
					vm->name, vm_state_to_string(vm->state));
	r = vm_refuse_move_target(vm, vmm, error);
	if (r < 0)
		return r;

	r = pidfd_watch_add(vm->manager->event, vmm, vm_on_vmm_exit, vm, &vm->vmm_exit);
	if (r < 0)
		return vfd_op_error_set(error, r, vm->name, "cannot watch the VMM's exit");
	vm->vmm = *vmm;
	*vmm = (VMMProcess) VMM_PROCESS_NULL;

	/* what the backend gives the VMM (the group nodes it will open) */
	r = vm->ops->attach_vmm ? vm->ops->attach_vmm(vm, error) : 0;
	if (r < 0) {
		/* back to prepared */
		vm->vmm_exit = sd_event_source_disable_unref(vm->vmm_exit);
		*vmm = vm->vmm;
		vm->vmm = (VMMProcess) VMM_PROCESS_NULL;
		return r;
	}

	log_info("VM %s: VMM attached (pid %d, uid %u).", vm->name, (int) vm->vmm.pid,
		 (unsigned) vm->vmm.uid);
	vm_set_state(vm, VM_STATE_REGISTERED);
	vm_send_memory_changed(vm);
	return 0;
}
