/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.vfiod1.VM. Handlers follow the manager's spine: read the
 * arguments, validate them (InvalidArgs with a precise message),
 * authorize (root, or polkit asked asynchronously; the VMM itself for
 * its own descriptors and release), call vm.c, reply. The work runs from
 * a request holding the VM's id, not a pointer: the VM may be gone by
 * the time polkit answers.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-errors.h"
#include "bus-op-error.h"
#include "bus-peer.h"
#include "vfiod/inventory.h"
#include "log.h"
#include "config-apply.h"
#include "polkit.h"
#include "bus-mdev-request.h"
#include "vm-dbus.h"
#include "vgpu.h"
#include "vm-memlock.h"

/* ---- requests that wait for authorization ---- */

typedef struct VMRequest {
	Manager *manager;
	unsigned vm_id;
	char *device; /* AddDevice, RemoveDevice: a PCI address or an mdev UUID */
	char *parent; /* CreateMdev */
	char *type_id;
	char *uuid;
	vfd_mdev_attr *attrs;
	size_t n_attrs;
	VMMProcess vmm; /* AttachVMM; ChangeProcess: the process the VM moves to */
	uint64_t timeout_usec; /* ChangeProcess */
	unsigned vgpu_type; /* CreateVgpu (with parent) */
	uid_t caller;       /* who asked (authorize_vm()) */
} VMRequest;

static void vm_request_free(void *p)
{
	VMRequest *q = p;

	if (!q)
		return;
	free(q->device);
	free(q->parent);
	free(q->type_id);
	free(q->uuid);
	vfd_mdev_attrs_free(q->attrs, q->n_attrs);
	vmm_process_done(&q->vmm);
	free(q);
}

static VMRequest *vm_request_new(VM *vm)
{
	VMRequest *q = calloc(1, sizeof(*q));

	if (q) {
		q->manager = vm_get_manager(vm);
		q->vm_id = vm_get_id(vm);
		q->vmm = (VMMProcess) VMM_PROCESS_NULL;
	}
	return q;
}

/* the VM of a request, or NoSuchVM when it went away meanwhile */
static VM *request_vm(VMRequest *q, sd_bus_error *error)
{
	VM *vm = manager_find_vm_by_id(q->manager, q->vm_id);

	if (!vm)
		bus_error_domain(error, -ENOMEDIUM, "VM %u is gone", q->vm_id);
	return vm;
}

/*
 * Asks for the right to change vm (takes q): root at once; the VM's owner
 * through polkit's manage-vms; anyone else through manage-other-vms,
 * admin-only by default (vm-identity.h).
 */
static int authorize_vm(sd_bus_message *message, const VM *vm, authorized_fn run, VMRequest *q,
			sd_bus_error *error)
{
	uid_t caller;
	int r;

	r = bus_sender_identity(message, NULL, &caller);
	if (r < 0) {
		vm_request_free(q);
		return sd_bus_error_set_errnof(error, r, "Cannot read the caller's credentials: %m");
	}
	q->caller = caller;
	return polkit_authorize(message,
				caller == vm_get_owner_uid(vm) ? POLKIT_ACTION_MANAGE_VMS :
							  POLKIT_ACTION_MANAGE_OTHER_VMS,
				run, q, vm_request_free, error);
}

/* ---- object lookup ---- */

static int vm_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
			  void **found, sd_bus_error *error)
{
	Manager *m = userdata;
	const char *p;
	unsigned id;
	char *end;
	VM *vm;

	p = strncmp(path, VFD_VM_PATH_PREFIX "/", strlen(VFD_VM_PATH_PREFIX "/")) == 0 ?
		    path + strlen(VFD_VM_PATH_PREFIX "/") : NULL;
	if (!p || *p < '1' || *p > '9')
		return 0;
	errno = 0;
	id = (unsigned) strtoul(p, &end, 10);
	if (errno || *end)
		return 0;

	vm = manager_find_vm_by_id(m, id);
	if (!vm)
		return 0;
	*found = vm;
	return 1;
}

static int vm_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
			      sd_bus_error *error)
{
	Manager *m = userdata;
	char **l;

	l = calloc(m->n_vms + 1, sizeof(char *));
	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_vms; i++) {
		l[i] = strdup(vm_get_path(m->vms[i]));
		if (!l[i]) {
			vfd_strv_free(l);
			return -ENOMEM;
		}
	}
	*nodes = l;
	return 1;
}

/* ---- properties ---- */

static int property_get_state(sd_bus *bus, const char *path, const char *interface,
			      const char *property, sd_bus_message *reply, void *userdata,
			      sd_bus_error *error)
{
	VM *vm = userdata;

	return sd_bus_message_append(reply, "s", vm_state_to_string(vm_get_state(vm)));
}

static int property_get_busy_device(sd_bus *bus, const char *path, const char *interface,
				    const char *property, sd_bus_message *reply, void *userdata,
				    sd_bus_error *error)
{
	const char *device, *status, *detail;

	vm_get_busy(userdata, &device, &status, &detail);
	return sd_bus_message_append(reply, "(sss)", device, status, detail);
}

static int property_get_backend(sd_bus *bus, const char *path, const char *interface,
				const char *property, sd_bus_message *reply, void *userdata,
				sd_bus_error *error)
{
	VM *vm = userdata;

	return sd_bus_message_append(reply, "s", vm_backend_to_string(vm_get_backend(vm)));
}

static int property_get_name(sd_bus *bus, const char *path, const char *interface,
			     const char *property, sd_bus_message *reply, void *userdata,
			     sd_bus_error *error)
{
	VM *vm = userdata;

	return sd_bus_message_append(reply, "s", vm_get_name(vm));
}

static int property_get_viommu(sd_bus *bus, const char *path, const char *interface,
			       const char *property, sd_bus_message *reply, void *userdata,
			       sd_bus_error *error)
{
	VM *vm = userdata;

	/* D-Bus booleans are ints on the wire side of sd-bus */
	return sd_bus_message_append(reply, "b", (int) vm_get_viommu(vm));
}

static int property_get_uuid(sd_bus *bus, const char *path, const char *interface,
			     const char *property, sd_bus_message *reply, void *userdata,
			     sd_bus_error *error)
{
	VM *vm = userdata;

	return sd_bus_message_append(reply, "s", vm_get_uuid(vm));
}

static int property_get_vmm_pid(sd_bus *bus, const char *path, const char *interface,
				const char *property, sd_bus_message *reply, void *userdata,
				sd_bus_error *error)
{
	VM *vm = userdata;

	return sd_bus_message_append(reply, "u", (uint32_t) vm_get_vmm(vm)->pid);
}

static int property_get_process_change_pid(sd_bus *bus, const char *path, const char *interface,
					   const char *property, sd_bus_message *reply, void *userdata,
					   sd_bus_error *error)
{
	return sd_bus_message_append(reply, "u", (uint32_t) vm_change_process_target(userdata));
}

static int property_get_devices(sd_bus *bus, const char *path, const char *interface,
				const char *property, sd_bus_message *reply, void *userdata,
				sd_bus_error *error)
{
	VM *vm = userdata;
	int r;

	r = sd_bus_message_open_container(reply, SD_BUS_TYPE_ARRAY, "(ssib)");
	if (r < 0)
		return r;
	for (size_t i = 0; i < vm_get_n_devices(vm); i++) {
		const VMDevice *d = vm_get_device(vm, i);

		r = sd_bus_message_append(reply, "(ssib)", d->name, d->is_mdev ? "mdev" : "pci",
					  (int32_t) d->iommu_group, (int) d->created);
		if (r < 0)
			return r;
	}
	return sd_bus_message_close_container(reply);
}

static int property_get_memory(sd_bus *bus, const char *path, const char *interface,
			       const char *property, sd_bus_message *reply, void *userdata,
			       sd_bus_error *error)
{
	VM *vm = userdata;
	uint64_t locked, pinned;

	vm_observed_memory(vm, &locked, &pinned);
	return sd_bus_message_append(reply, "t", strcmp(property, "LockedBytes") == 0 ? locked : pinned);
}

static int property_get_vmm_state(sd_bus *bus, const char *path, const char *interface,
				  const char *property, sd_bus_message *reply, void *userdata,
				  sd_bus_error *error)
{
	VM *vm = userdata;

	return sd_bus_message_append(reply, "s", vm_vmm_state(vm));
}

static int property_get_exit_memory(sd_bus *bus, const char *path, const char *interface,
				    const char *property, sd_bus_message *reply, void *userdata,
				    sd_bus_error *error)
{
	uint64_t locked, pinned;

	vm_get_exit_memory(userdata, &locked, &pinned);
	return sd_bus_message_append(reply, "t", strcmp(property, "ExitLockedBytes") == 0 ? locked : pinned);
}

static int property_get_id(sd_bus *bus, const char *path, const char *interface,
			   const char *property, sd_bus_message *reply, void *userdata,
			   sd_bus_error *error)
{
	return sd_bus_message_append(reply, "u", (uint32_t) vm_get_id(userdata));
}

static int property_get_memory_bytes(sd_bus *bus, const char *path, const char *interface,
				     const char *property, sd_bus_message *reply, void *userdata,
				     sd_bus_error *error)
{
	return sd_bus_message_append(reply, "t", vm_get_memory_bytes(userdata));
}

static int property_get_charge(sd_bus *bus, const char *path, const char *interface,
			       const char *property, sd_bus_message *reply, void *userdata,
			       sd_bus_error *error)
{
	return sd_bus_message_append(reply, "t", strcmp(property, "ExpectedChargeBytes") == 0 ?
				     vm_memlock_expected(userdata) : vm_memlock_observed(userdata));
}

static int property_get_charge_matches(sd_bus *bus, const char *path, const char *interface,
				       const char *property, sd_bus_message *reply, void *userdata,
				       sd_bus_error *error)
{
	VM *vm = userdata;

	return sd_bus_message_append(reply, "b", (int) vm_memlock_matches(vm));
}

static int property_get_memlock_limit(sd_bus *bus, const char *path, const char *interface,
				      const char *property, sd_bus_message *reply, void *userdata,
				      sd_bus_error *error)
{
	VM *vm = userdata;

	return sd_bus_message_append(reply, "t", vm_memlock_limit(vm));
}

/* ---- methods ---- */

/* "0000:00:02.0" or an mdev UUID; InvalidArgs for anything else */
static int validate_device(const char *device, sd_bus_error *error)
{
	vfd_pci_address addr;

	if (vfd_pci_address_parse(device, &addr) == 0 || vfd_uuid_validate(device) == 0)
		return 0;
	return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
				 "Invalid device '%.64s': expected a PCI address DDDD:BB:SS.F in "
				 "hexadecimal or an mdev UUID", device);
}

static int run_add_device(sd_bus_message *message, void *request, sd_bus_error *error)
{
	VMRequest *q = request;
	vfd_pci_address addr;
	vfd_op_error op;
	VM *vm;
	int r;

	vm = request_vm(q, error);
	if (!vm)
		return -ENOMEDIUM;

	vfd_op_error_clear(&op);
	/* root may take what it likes (the libvirt hook re-adopts a running domain's devices) */
	if (vfd_pci_address_parse(q->device, &addr) == 0)
		r = q->caller == 0 ? vm_add_pci(vm, &addr, &op) : vm_add_pci_checked(vm, &addr, &op);
	else
		r = vm_add_mdev(vm, q->device, &op);
	if (r < 0)
		return bus_error_from_op(error, r, &op, "Cannot add the device");

	return sd_bus_reply_method_return(message, NULL);
}

static int method_add_device(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	VM *vm = userdata;
	VMRequest *q;
	const char *device;
	int r;

	r = sd_bus_message_read(message, "s", &device);
	if (r < 0)
		return r;
	r = validate_device(device, error);
	if (r < 0)
		return r;

	q = vm_request_new(vm);
	if (!q || !(q->device = strdup(device))) {
		vm_request_free(q);
		return -ENOMEM;
	}
	return authorize_vm(message, vm, run_add_device, q, error);
}

static int run_create_mdev(sd_bus_message *message, void *request, sd_bus_error *error)
{
	VMRequest *q = request;
	char uuid[VFD_UUID_STRLEN];
	vfd_op_error op;
	VM *vm;
	int r;

	vm = request_vm(q, error);
	if (!vm)
		return -ENOMEDIUM;

	vfd_op_error_clear(&op);
	if (!*q->parent) {
		/* parent and type "": the definition of that UUID in vfiod's configuration */
		const vfd_config_mdev *def = config_apply_find_mdev(q->manager->config, q->uuid);

		if (!def)
			return bus_error_domain(error, -ENODEV, "Cannot create the mdev: %s: vfiod's "
						"configuration defines no mdev with this UUID", q->uuid);
		r = vm_create_mdev(vm, def->parent, def->type, def->uuid, def->attrs, def->n_attrs,
				   &op, uuid);
	} else
		r = vm_create_mdev(vm, q->parent, q->type_id, *q->uuid ? q->uuid : NULL, q->attrs,
				   q->n_attrs, &op, uuid);
	if (r == -EINVAL)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Cannot create the mdev: %s%s%s",
					 op.subject, *op.subject ? ": " : "", op.message);
	if (r < 0)
		return bus_error_from_op(error, r, &op, "Cannot create the mdev");

	return sd_bus_reply_method_return(message, "s", uuid);
}

static int method_create_mdev(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	VM *vm = userdata;
	VMRequest *q;
	int r;

	q = vm_request_new(vm);
	if (!q)
		return -ENOMEM;
	r = bus_read_mdev_request(message, true, &q->parent, &q->type_id, &q->uuid, &q->attrs,
				  &q->n_attrs, error);
	if (r < 0) {
		vm_request_free(q);
		return r;
	}
	return authorize_vm(message, vm, run_create_mdev, q, error);
}

static int run_create_vgpu(sd_bus_message *message, void *request, sd_bus_error *error)
{
	VMRequest *q = request;
	char vf[VFD_PCI_ADDRESS_STRLEN] = "";
	vfd_op_error op;
	VM *vm;
	int r;

	vm = request_vm(q, error);
	if (!vm)
		return -ENOMEDIUM;

	vfd_op_error_clear(&op);
	r = vm_create_vgpu(vm, q->parent, q->vgpu_type, &op, vf);
	if (r < 0)
		return bus_error_from_op(error, r, &op, "Cannot create the vGPU");
	return sd_bus_reply_method_return(message, "s", vf);
}

static int method_create_vgpu(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	VM *vm = userdata;
	const char *parent;
	vfd_pci_address addr;
	char canonical[VFD_PCI_ADDRESS_STRLEN] = "";
	uint32_t type;
	VMRequest *q;
	int r;

	r = sd_bus_message_read(message, "su", &parent, &type);
	if (r < 0)
		return r;
	if (*parent) {
		if (vfd_pci_address_parse(parent, &addr) < 0)
			return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
						 "Invalid parent '%.64s': expected a PCI address "
						 "DDDD:BB:SS.F in hexadecimal, or \"\" for any", parent);
		vfd_pci_address_format(&addr, canonical);
	}
	if (type == 0)
		return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
					"Invalid vGPU type 0: 0 is no type");

	q = vm_request_new(vm);
	if (!q || !(q->parent = strdup(canonical))) {
		vm_request_free(q);
		return -ENOMEM;
	}
	q->vgpu_type = type;
	return authorize_vm(message, vm, run_create_vgpu, q, error);
}

/* RemoveDevice answers when its give-back ends on the unbind worker (or passed its deadline) */
static void on_device_removed(VM *vm, int r, const vfd_op_error *op, void *userdata)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *message = userdata;
	int q;

	if (r < 0) {
		(void) bus_error_from_op(&error, r, op, "Cannot remove the device");
		q = sd_bus_reply_method_error(message, &error);
	} else
		q = sd_bus_reply_method_return(message, NULL);
	if (q < 0 && sd_bus_reply_method_errno(message, q, NULL) < 0)
		log_warning_errno(q, "Failed to reply to RemoveDevice: %m");
	sd_bus_message_unref(message);
}

static int run_remove_device(sd_bus_message *message, void *request, sd_bus_error *error)
{
	VMRequest *q = request;
	vfd_op_error op;
	VM *vm;
	int r;

	vm = request_vm(q, error);
	if (!vm)
		return -ENOMEDIUM;

	vfd_op_error_clear(&op);
	r = vm_remove_device(vm, q->device, on_device_removed, sd_bus_message_ref(message), &op);
	if (r < 0) {
		sd_bus_message_unref(message);
		return bus_error_from_op(error, r, &op, "Cannot remove the device");
	}
	return 1; /* on_device_removed() replies */
}

static int method_remove_device(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	VM *vm = userdata;
	vfd_pci_address addr;
	char canonical[VFD_UUID_STRLEN];
	const char *device;
	VMRequest *q;
	int r;

	r = sd_bus_message_read(message, "s", &device);
	if (r < 0)
		return r;
	r = validate_device(device, error);
	if (r < 0)
		return r;

	/* devices are kept by canonical name: lower-case address or UUID */
	if (vfd_pci_address_parse(device, &addr) == 0)
		vfd_pci_address_format(&addr, canonical);
	else {
		snprintf(canonical, sizeof(canonical), "%s", device);
		for (char *p = canonical; *p; p++)
			if (*p >= 'A' && *p <= 'F')
				*p = (char) (*p - 'A' + 'a');
	}

	q = vm_request_new(vm);
	if (!q || !(q->device = strdup(canonical))) {
		vm_request_free(q);
		return -ENOMEM;
	}
	return authorize_vm(message, vm, run_remove_device, q, error);
}

/*
 * 1 when the sender is the VM's authenticated VMM (vm-identity.h), or root
 * when allow_root; 0 when not; negative errno with error set.
 */
static int check_vmm(sd_bus_message *message, VM *vm, bool allow_root, sd_bus_error *error)
{
	pid_t pid;
	uid_t uid;
	int r;

	r = bus_sender_identity(message, &pid, &uid);
	if (r < 0)
		return sd_bus_error_set_errnof(error, r, "Cannot read the caller's credentials: %m");
	if (allow_root && uid == 0)
		return 1;
	return vm_is_vmm(vm, pid, uid, sd_bus_message_get_sender(message));
}

static int append_fds(sd_bus_message *reply, const VMFds *f)
{
	int r;

	r = sd_bus_message_append(reply, "h", f->iommu_fd);
	if (r < 0)
		return r;

	r = sd_bus_message_open_container(reply, SD_BUS_TYPE_ARRAY, "(uh)");
	for (size_t i = 0; r >= 0 && i < f->n_groups; i++)
		r = sd_bus_message_append(reply, "(uh)", (uint32_t) f->groups[i].group, f->groups[i].fd);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r < 0)
		return r;

	r = sd_bus_message_open_container(reply, SD_BUS_TYPE_ARRAY, "(sih)");
	for (size_t i = 0; r >= 0 && i < f->n_devices; i++)
		r = sd_bus_message_append(reply, "(sih)", f->devices[i].name,
					  (int32_t) f->devices[i].group, f->devices[i].fd);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	return r;
}

static int method_get_fds(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	VMFds f = { .iommu_fd = -1 };
	VM *vm = userdata;
	pid_t pid;
	uid_t uid;
	int r;

	/* no arguments to validate; only the VMM (or root) may have the descriptors */
	r = check_vmm(message, vm, true, error);
	if (r < 0)
		return r;
	if (r == 0)
		return bus_error_domain(error, -EPERM,
					"Only the authenticated VMM of VM %s (pid %d) or root may have its "
					"descriptors (AuthenticateVMM first)", vm_get_name(vm), (int) vm_get_vmm(vm)->pid);
	if (bus_sender_identity(message, &pid, &uid) >= 0)
		log_info("VM %s: descriptors to pid %d (uid %u).", vm_get_name(vm), (int) pid, (unsigned) uid);

	r = vm_get_fds(vm, &f);
	if (r == -EBUSY)
		return bus_error_domain(error, r, "VM %s: a device is being given back; try again",
					vm_get_name(vm));
	if (r == -ESHUTDOWN)
		return bus_error_domain(error, r, "VM %s is %s", vm_get_name(vm), vm_state_to_string(vm_get_state(vm)));
	if (r == -EMEDIUMTYPE)
		return bus_error_domain(error, r, "VM %s: the VMM opens its groups itself "
					"(vmm_opens_groups); vfiod holds no descriptors", vm_get_name(vm));
	if (r < 0)
		return sd_bus_error_set_errnof(error, r, "Cannot open the descriptors of VM %s: %m", vm_get_name(vm));

	/* sd-bus duplicates each descriptor it appends; ours close below */
	r = sd_bus_message_new_method_return(message, &reply);
	if (r >= 0)
		r = append_fds(reply, &f);
	vm_fds_done(&f);
	if (r < 0)
		return r;

	return sd_bus_send(NULL, reply, NULL);
}

/* GetDeviceFds and ConfirmAttached: the device argument, canonical; 0 or InvalidArgs */
static int read_device(sd_bus_message *message, char canonical[VFD_UUID_STRLEN], sd_bus_error *error)
{
	vfd_pci_address addr;
	const char *device;
	int r;

	r = sd_bus_message_read(message, "s", &device);
	if (r < 0)
		return r;
	r = validate_device(device, error);
	if (r < 0)
		return r;
	if (vfd_pci_address_parse(device, &addr) == 0)
		vfd_pci_address_format(&addr, canonical);
	else {
		snprintf(canonical, VFD_UUID_STRLEN, "%s", device);
		for (char *p = canonical; *p; p++)
			if (*p >= 'A' && *p <= 'F')
				*p = (char) (*p - 'A' + 'a');
	}
	return 0;
}

static int method_get_device_fds(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	char device[VFD_UUID_STRLEN];
	VMFds f = { .iommu_fd = -1 };
	VM *vm = userdata;
	int r;

	r = read_device(message, device, error);
	if (r < 0)
		return r;
	r = check_vmm(message, vm, true, error);
	if (r < 0)
		return r;
	if (r == 0)
		return bus_error_domain(error, -EPERM,
					"Only the authenticated VMM of VM %s (pid %d) or root may have its "
					"descriptors (AuthenticateVMM first)", vm_get_name(vm), (int) vm_get_vmm(vm)->pid);

	r = vm_get_device_fds(vm, device, &f);
	/* a VMM that asks in a loop: vfiod keeps (and journals) a copy of each file until it is bound */
	if (r == -EXFULL)
		return bus_error_domain(error, -ETOOMANYREFS, "VM %s: %d files of %s are handed out and "
					"not bound yet: bind one first", vm_get_name(vm),
					VM_HANDED_MAX, device);
	if (r == -EBUSY)
		return bus_error_domain(error, r, "VM %s: a device is being given back; try again",
					vm_get_name(vm));
	if (r == -ENODEV)
		return bus_error_domain(error, r, "%s is not a device of VM %s", device, vm_get_name(vm));
	if (r == -ESHUTDOWN)
		return bus_error_domain(error, r, "VM %s is %s", vm_get_name(vm), vm_state_to_string(vm_get_state(vm)));
	if (r == -EMEDIUMTYPE)
		return bus_error_domain(error, r, "VM %s: the VMM opens its groups itself "
					"(vmm_opens_groups); vfiod holds no descriptors", vm_get_name(vm));
	if (r < 0)
		return sd_bus_error_set_errnof(error, r, "Cannot open the descriptors of %s: %m", device);
	log_info("VM %s: descriptors of %s to its VMM.", vm_get_name(vm), device);

	r = sd_bus_message_new_method_return(message, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, SD_BUS_TYPE_ARRAY, "(uh)");
	for (size_t i = 0; r >= 0 && i < f.n_groups; i++)
		r = sd_bus_message_append(reply, "(uh)", (uint32_t) f.groups[i].group, f.groups[i].fd);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, SD_BUS_TYPE_ARRAY, "(sih)");
	for (size_t i = 0; r >= 0 && i < f.n_devices; i++)
		r = sd_bus_message_append(reply, "(sih)", f.devices[i].name, (int32_t) f.devices[i].group,
					  f.devices[i].fd);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	vm_fds_done(&f);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

static int method_confirm_attached(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	char device[VFD_UUID_STRLEN];
	vfd_op_error op;
	VM *vm = userdata;
	int r;

	r = read_device(message, device, error);
	if (r < 0)
		return r;
	r = check_vmm(message, vm, true, error);
	if (r < 0)
		return r;
	if (r == 0)
		return bus_error_domain(error, -EPERM, "Only the authenticated VMM of VM %s (pid %d) or "
					"root may confirm an attach", vm_get_name(vm), (int) vm_get_vmm(vm)->pid);

	vfd_op_error_clear(&op);
	r = vm_confirm_attached(vm, device, &op);
	if (r < 0)
		return bus_error_from_op(error, r, &op, "Cannot confirm the attach");
	return sd_bus_reply_method_return(message, NULL);
}

static int method_check_charge(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	VM *vm = userdata;
	int match;

	/* reads counters only: anyone who may read the properties may ask */
	match = vm_memlock_check(vm, "check");
	return sd_bus_reply_method_return(message, "tttb", vm_memlock_expected(vm), vm_memlock_observed(vm),
					  vm_memlock_limit(vm), match > 0);
}

/*
 * The request's VM, and the process the request names (q->vmm) checked
 * again against the caller: it may have become someone else (a setuid
 * exec) while polkit thought.
 */
static int request_vm_rechecked(sd_bus_message *message, VMRequest *q, VM **ret,
				sd_bus_error *error)
{
	uid_t caller;
	VM *vm;
	int r;

	vm = request_vm(q, error);
	if (!vm)
		return -ENOMEDIUM;
	r = bus_sender_identity(message, NULL, &caller);
	if (r < 0)
		return sd_bus_error_set_errnof(error, r, "Cannot read the caller's credentials: %m");
	r = bus_check_vmm_runs_as(error, &q->vmm, caller);
	if (r < 0)
		return r;
	*ret = vm;
	return 0;
}

static int run_attach_vmm(sd_bus_message *message, void *request, sd_bus_error *error)
{
	VMRequest *q = request;
	vfd_op_error op;
	VM *vm;
	int r;

	r = request_vm_rechecked(message, q, &vm, error);
	if (r < 0)
		return r;

	vfd_op_error_clear(&op);
	r = manager_attach_vmm(q->manager, vm, &q->vmm, &op);
	if (r < 0)
		return bus_error_from_op(error, r, &op, "Cannot attach the VMM");
	return sd_bus_reply_method_return(message, NULL);
}

static int method_attach_vmm(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	VM *vm = userdata;
	VMRequest *q;
	uid_t caller;
	int fd, r;

	r = sd_bus_message_read(message, "h", &fd);
	if (r < 0)
		return r;
	r = bus_sender_identity(message, NULL, &caller);
	if (r < 0)
		return sd_bus_error_set_errnof(error, r, "Cannot read the caller's credentials: %m");

	q = vm_request_new(vm);
	if (!q)
		return -ENOMEM;
	r = vmm_process_from_pidfd(fd, &q->vmm);
	if (r < 0) {
		vm_request_free(q);
		return bus_error_vmm_process(error, r);
	}
	/* as RegisterVM: a user may only name a VMM running as themselves */
	if (caller != 0 && q->vmm.uid != caller) {
		r = sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
				      "The VMM (pid %d) runs as uid %u, not as the caller",
				      (int) q->vmm.pid, (unsigned) q->vmm.uid);
		vm_request_free(q);
		return r;
	}
	return authorize_vm(message, vm, run_attach_vmm, q, error);
}

/* ---- moving the VM to another VMM process (vm.h, vm_change_process_begin()) ---- */

/*
 * The VM's authenticated VMM acts at once; anyone else is asked as for
 * any change of the VM: root, the owner through polkit (manage-vms),
 * others through manage-other-vms.
 */
static int vmm_or_authorize(sd_bus_message *message, VM *vm, authorized_fn run, VMRequest *q,
			    sd_bus_error *error)
{
	int r;

	r = check_vmm(message, vm, false, error);
	if (r != 0) {
		if (r > 0)
			r = run(message, q, error);
		vm_request_free(q);
		return r < 0 ? r : 1;
	}
	return authorize_vm(message, vm, run, q, error);
}

static int run_change_process(sd_bus_message *message, void *request, sd_bus_error *error)
{
	VMRequest *q = request;
	vfd_op_error op;
	VM *vm;
	int r;

	r = request_vm_rechecked(message, q, &vm, error);
	if (r < 0)
		return r;

	vfd_op_error_clear(&op);
	r = vm_change_process_begin(vm, &q->vmm, -1, q->timeout_usec, &op);
	if (r < 0)
		return bus_error_from_op(error, r, &op, "Cannot move the VM to the process");
	return sd_bus_reply_method_return(message, NULL);
}

static int method_change_process(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	VM *vm = userdata;
	VMRequest *q;
	uint64_t timeout_usec;
	uid_t caller, target_uid;
	int fd, r;

	r = sd_bus_message_read(message, "ht", &fd, &timeout_usec);
	if (r < 0)
		return r;
	r = bus_sender_identity(message, NULL, &caller);
	if (r < 0)
		return sd_bus_error_set_errnof(error, r, "Cannot read the caller's credentials: %m");

	q = vm_request_new(vm);
	if (!q)
		return -ENOMEM;
	q->timeout_usec = timeout_usec;
	r = vmm_process_from_pidfd(fd, &q->vmm);
	if (r < 0) {
		vm_request_free(q);
		return bus_error_vmm_process(error, r);
	}
	/*
	 * A user may only name a process running as themselves: its effective
	 * uid from /proc/PID/status (the owner of /proc/PID is root once a
	 * process dropped privileges: it is not dumpable then)
	 */
	if (caller != 0) {
		r = vmm_process_current_uid(&q->vmm, &target_uid);
		if (r < 0) {
			vm_request_free(q);
			return bus_error_vmm_process(error, r);
		}
		if (target_uid != caller) {
			r = sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
					      "The process (pid %d) runs as uid %u, not as the caller",
					      (int) q->vmm.pid, (unsigned) target_uid);
			vm_request_free(q);
			return r;
		}
	}
	return vmm_or_authorize(message, vm, run_change_process, q, error);
}

/*
 * ChangeProcessToCaller: the new VMM process asks for the VM's charge
 * itself, and sends its descriptor of the VM's iommufd with the call.
 * The target is the caller: the process that opened the connection, as
 * the bus pinned it (its pidfd, ProcessFD, on dbus 1.16 and dbus-broker:
 * refused once that process has exited, whoever has its pid now), or,
 * from an older bus, the pid it took from SO_PEERCRED, of which vfiod
 * opens its own pidfd (bus-peer.h); running as the connection's uid now. The descriptor is the authority: only
 * vfiod and the VMM hold the VM's iommufd, and the VMM hands it to its
 * successor; vm_change_process_begin() proves it is the very open file
 * (not another open of /dev/iommu) and that the caller runs as the VMM's
 * uid. No polkit: holding the VM's iommufd proves more than ownership.
 * The connection's opener need not be the sender of the descriptor (an
 * inherited or passed-on bus socket): then the opener's limit is raised
 * for the move, but no charge moves into it without the iommufd
 * (docs/security.md).
 */
static int method_change_process_to_caller(sd_bus_message *message, void *userdata,
					   sd_bus_error *error)
{
	_cleanup_(vmm_process_done) VMMProcess target = VMM_PROCESS_NULL;
	VM *vm = userdata;
	uint64_t timeout_usec;
	vfd_op_error op;
	bool pinned;
	uid_t caller;
	int fd, r;

	r = sd_bus_message_read(message, "ht", &fd, &timeout_usec);
	if (r < 0)
		return r;
	r = bus_sender_process(message, &target, &caller, &pinned);
	if (r == -ESRCH)
		return bus_error_domain(error, r, "The process that opened this bus connection has exited "
					"(or is outside vfiod's pid namespace): the connection names no "
					"process to move VM %s to", vm_get_name(vm));
	if (r < 0)
		return sd_bus_error_set_errnof(error, r, "Cannot tell the caller's process from the bus: %m");
	log_info("VM %s: ChangeProcessToCaller from pid %d, named by %s.", vm_get_name(vm), (int) target.pid,
		 pinned ? "the bus's pidfd of the connection's opener" : "the bus's pid of the connection");
	/* the pid names the connection's opener only while it runs as the connection's uid */
	r = bus_check_vmm_runs_as(error, &target, caller);
	if (r < 0)
		return r;

	vfd_op_error_clear(&op);
	r = vm_change_process_begin(vm, &target, fd, timeout_usec, &op);
	if (r < 0)
		return bus_error_from_op(error, r, &op, "Cannot move the VM to the caller");
	return sd_bus_reply_method_return(message, NULL);
}

static int run_commit_process_change(sd_bus_message *message, void *request, sd_bus_error *error)
{
	VMRequest *q = request;
	vfd_op_error op;
	uint64_t moved = 0;
	VM *vm;
	int r;

	vm = request_vm(q, error);
	if (!vm)
		return -ENOMEDIUM;
	vfd_op_error_clear(&op);
	r = vm_change_process_commit(vm, &op, &moved);
	if (r < 0)
		return bus_error_from_op(error, r, &op, "The VM stays with its VMM");
	return sd_bus_reply_method_return(message, "t", moved);
}

static int method_commit_process_change(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	VMRequest *q = vm_request_new(userdata);

	if (!q)
		return -ENOMEM;
	return vmm_or_authorize(message, userdata, run_commit_process_change, q, error);
}

static int run_abort_process_change(sd_bus_message *message, void *request, sd_bus_error *error)
{
	VM *vm;

	vm = request_vm(request, error);
	if (!vm)
		return -ENOMEDIUM;
	if (vm_change_process_target(vm) == 0)
		return bus_error_domain(error, -ENOMSG, "No move of VM %s's charge is under way",
					vm_get_name(vm));
	/* committed instead when the kernel moved the charge already: VMMPid tells */
	(void) vm_change_process_abort(vm, "aborted");
	return sd_bus_reply_method_return(message, NULL);
}

static int method_abort_process_change(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	VMRequest *q = vm_request_new(userdata);

	if (!q)
		return -ENOMEM;
	return vmm_or_authorize(message, userdata, run_abort_process_change, q, error);
}

/* the answer to a Release whose give-back ran on the unbind worker */
static void release_answered(VM *vm, VMState s, const vfd_op_error *op, void *userdata)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *message = userdata;
	int r;

	if (op && op->error) {
		(void) bus_error_from_op(&e, op->error, op, op->error == -EBUSY ?
					 "The VM is releasing; a device is still in use" :
					 "Release failed; call Release again to retry");
		r = sd_bus_reply_method_error(message, &e);
	} else
		r = sd_bus_reply_method_return(message, "s", vm_state_to_string(s));
	if (r < 0)
		log_warning_errno(r, "Failed to answer the Release of VM %s: %m", vm_get_name(vm));
	sd_bus_message_unref(message);
}

static int run_release(sd_bus_message *message, void *request, sd_bus_error *error)
{
	VMRequest *q = request;
	vfd_op_error op;
	int s;
	VM *vm;

	vm = request_vm(q, error);
	if (!vm)
		return -ENOMEDIUM;

	vfd_op_error_clear(&op);
	s = vm_release(vm, release_answered, sd_bus_message_ref(message), &op);
	if (s == -EINPROGRESS)
		return 1; /* release_answered() has the message */
	sd_bus_message_unref(message);
	if (s == VM_STATE_FAILED)
		return bus_error_from_op(error, op.error ? op.error : -EIO, &op, "Release failed; "
					 "call Release again to retry");
	/* held: the VM stays releasing and vfiod finishes once the holder lets go */
	if (op.error == -EBUSY)
		return bus_error_from_op(error, -EBUSY, &op, "The VM is releasing; a device is "
					 "still in use");
	if (s == VM_STATE_RELEASED)
		manager_vm_gone(q->manager, vm);

	return sd_bus_reply_method_return(message, "s", vm_state_to_string((VMState) s));
}

static int method_release(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	VM *vm = userdata;
	VMRequest *q;

	q = vm_request_new(vm);
	if (!q)
		return -ENOMEM;

	/* the VMM may give its own VM back without asking polkit */
	return vmm_or_authorize(message, vm, run_release, q, error);
}

static int run_get_vmm_secret(sd_bus_message *message, void *request, sd_bus_error *error)
{
	VM *vm;

	vm = request_vm(request, error);
	if (!vm)
		return -ENOMEDIUM;
	return sd_bus_reply_method_return(message, "s", vm_get_vmm_secret(vm));
}

static int method_get_vmm_secret(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	VM *vm = userdata;
	VMRequest *q;

	/* no arguments; the owner or root, who passes it on to the VMM */
	q = vm_request_new(vm);
	if (!q)
		return -ENOMEM;
	return authorize_vm(message, vm, run_get_vmm_secret, q, error);
}

static int method_authenticate_vmm(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	const char *secret, *sender;
	VM *vm = userdata;
	pid_t pid;
	uid_t uid;
	int r;

	r = sd_bus_message_read(message, "s", &secret);
	if (r < 0)
		return r;
	if (!vm_secret_is_valid(secret))
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Invalid secret: expected 32 lower-case hexadecimal digits");
	r = bus_sender_identity(message, &pid, &uid);
	if (r < 0)
		return sd_bus_error_set_errnof(error, r, "Cannot read the caller's credentials: %m");
	sender = sd_bus_message_get_sender(message);
	if (!sender)
		return -EBADMSG;

	/* the proof itself, no polkit: the secret is the authorization */
	r = vm_authenticate_vmm(vm, pid, uid, sender, secret);
	if (r == -ESRCH)
		return bus_error_domain(error, r, "VM %s has no running VMM", vm_get_name(vm));
	if (r == -EPERM) {
		/* any local user can try: rate-limited */
		log_ratelimited(LOG_INFO, 0, "VM %s: pid %d (uid %u) failed to authenticate as its VMM.",
				vm_get_name(vm), (int) pid, (unsigned) uid);
		return bus_error_domain(error, r, "Not the VMM of VM %s: the caller's process, uid "
					"or secret does not match", vm_get_name(vm));
	}
	if (r < 0)
		return r;
	log_info("VM %s: pid %d (uid %u, %s) authenticated as its VMM.", vm_get_name(vm), (int) pid,
		 (unsigned) uid, sender);
	return sd_bus_reply_method_return(message, NULL);
}

/* in the order of docs/org.vfiod1.VM.xml, which introspection reproduces */
const sd_bus_vtable vm_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Id", "u", property_get_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Name", "s", property_get_name, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("UUID", "s", property_get_uuid, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Backend", "s", property_get_backend, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("VIOMMU", "b", property_get_viommu, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("VMMPid", "u", property_get_vmm_pid, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("Devices", "a(ssib)", property_get_devices, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("BusyDevice", "(sss)", property_get_busy_device, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("MemoryBytes", "t", property_get_memory_bytes, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("MemlockLimit", "t", property_get_memlock_limit, 0, 0),
	SD_BUS_PROPERTY("LockedBytes", "t", property_get_memory, 0, 0),
	SD_BUS_PROPERTY("PinnedBytes", "t", property_get_memory, 0, 0),
	SD_BUS_PROPERTY("VMMState", "s", property_get_vmm_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("ExitLockedBytes", "t", property_get_exit_memory, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("ExitPinnedBytes", "t", property_get_exit_memory, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("ExpectedChargeBytes", "t", property_get_charge, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("ObservedChargeBytes", "t", property_get_charge, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("ChargeMatches", "b", property_get_charge_matches, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("ProcessChangePid", "u", property_get_process_change_pid, 0, 0),
	SD_BUS_METHOD_WITH_ARGS("AddDevice",
				SD_BUS_ARGS("s", device),
				SD_BUS_NO_RESULT,
				method_add_device, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("CreateMdev",
				SD_BUS_ARGS("s", parent, "s", type, "s", uuid, "a(ss)", attributes),
				SD_BUS_RESULT("s", mdev),
				method_create_mdev, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("CreateVgpu",
				SD_BUS_ARGS("s", parent, "u", type),
				SD_BUS_RESULT("s", device),
				method_create_vgpu, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("RemoveDevice",
				SD_BUS_ARGS("s", device),
				SD_BUS_NO_RESULT,
				method_remove_device, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetFds",
				SD_BUS_NO_ARGS,
				SD_BUS_RESULT("h", iommu, "a(uh)", groups, "a(sih)", devices),
				method_get_fds, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Release",
				SD_BUS_NO_ARGS,
				SD_BUS_RESULT("s", state),
				method_release, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetDeviceFds",
				SD_BUS_ARGS("s", device),
				SD_BUS_RESULT("a(uh)", groups, "a(sih)", devices),
				method_get_device_fds, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ConfirmAttached",
				SD_BUS_ARGS("s", device),
				SD_BUS_NO_RESULT,
				method_confirm_attached, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("CheckCharge",
				SD_BUS_NO_ARGS,
				SD_BUS_RESULT("t", expected, "t", observed, "t", limit, "b", matches),
				method_check_charge, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("AttachVMM",
				SD_BUS_ARGS("h", vmm_pidfd),
				SD_BUS_NO_RESULT,
				method_attach_vmm, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetVMMSecret",
				SD_BUS_NO_ARGS,
				SD_BUS_RESULT("s", secret),
				method_get_vmm_secret, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("AuthenticateVMM",
				SD_BUS_ARGS("s", secret),
				SD_BUS_NO_RESULT,
				method_authenticate_vmm, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ChangeProcess",
				SD_BUS_ARGS("h", new_vmm_pidfd, "t", timeout_usec),
				SD_BUS_NO_RESULT,
				method_change_process, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ChangeProcessToCaller",
				SD_BUS_ARGS("h", iommufd, "t", timeout_usec),
				SD_BUS_NO_RESULT,
				method_change_process_to_caller, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("CommitProcessChange",
				SD_BUS_NO_ARGS,
				SD_BUS_RESULT("t", moved_bytes),
				method_commit_process_change, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("AbortProcessChange",
				SD_BUS_NO_ARGS,
				SD_BUS_NO_RESULT,
				method_abort_process_change, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_SIGNAL_WITH_ARGS("StateChanged",
				SD_BUS_ARGS("s", state),
				0),
	SD_BUS_SIGNAL_WITH_ARGS("ChargeChecked",
				SD_BUS_ARGS("s", step, "t", expected, "t", observed, "t", limit, "b", matches),
				0),
	SD_BUS_VTABLE_END
};

int vm_dbus_register(sd_bus *bus, Manager *m)
{
	int r;

	r = sd_bus_add_fallback_vtable(bus, NULL, VFD_VM_PATH_PREFIX, VFD_VM_INTERFACE, vm_vtable,
				       vm_object_find, m);
	if (r < 0)
		return r;

	return sd_bus_add_node_enumerator(bus, NULL, VFD_VM_PATH_PREFIX, vm_node_enumerator, m);
}

void vm_send_state_changed(VM *vm)
{
	sd_bus *bus = vm_get_manager(vm)->bus;
	int r;

	if (!bus)
		return;

	r = sd_bus_emit_signal(bus, vm_get_path(vm), VFD_VM_INTERFACE, "StateChanged", "s",
			       vm_state_to_string(vm_get_state(vm)));
	if (r >= 0)
		r = sd_bus_emit_properties_changed(bus, vm_get_path(vm), VFD_VM_INTERFACE, "State", NULL);
	if (r < 0)
		log_warning_errno(r, "Failed to signal the state of VM %s: %m", vm_get_name(vm));
}

void vm_send_busy_changed(VM *vm)
{
	sd_bus *bus = vm_get_manager(vm)->bus;
	int r;

	if (!bus)
		return;
	r = sd_bus_emit_properties_changed(bus, vm_get_path(vm), VFD_VM_INTERFACE, "BusyDevice", NULL);
	if (r < 0)
		log_warning_errno(r, "Failed to signal the busy device of VM %s: %m", vm_get_name(vm));
}

void vm_send_devices_changed(VM *vm)
{
	sd_bus *bus = vm_get_manager(vm)->bus;
	int r;

	if (!bus)
		return;

	r = sd_bus_emit_properties_changed(bus, vm_get_path(vm), VFD_VM_INTERFACE, "Devices", NULL);
	if (r < 0)
		log_warning_errno(r, "Failed to signal the devices of VM %s: %m", vm_get_name(vm));
}

void vm_send_memory_changed(VM *vm)
{
	sd_bus *bus = vm_get_manager(vm)->bus;
	int r;

	if (!bus)
		return;

	r = sd_bus_emit_properties_changed(bus, vm_get_path(vm), VFD_VM_INTERFACE, "VMMPid", "VMMState",
					   "ExitLockedBytes", "ExitPinnedBytes", NULL);
	if (r < 0)
		log_warning_errno(r, "Failed to signal the VMM state of VM %s: %m", vm_get_name(vm));
}

void vm_send_charge_checked(VM *vm, const char *step)
{
	sd_bus *bus = vm_get_manager(vm)->bus;
	int r;

	if (!bus)
		return;

	r = sd_bus_emit_signal(bus, vm_get_path(vm), VFD_VM_INTERFACE, "ChargeChecked", "stttb", step,
			       vm_memlock_expected(vm), vm_memlock_observed(vm), vm_memlock_limit(vm),
			       (int) vm_memlock_matches(vm));
	if (r >= 0)
		r = sd_bus_emit_properties_changed(bus, vm_get_path(vm), VFD_VM_INTERFACE,
						   "ExpectedChargeBytes", "ObservedChargeBytes",
						   "ChargeMatches", NULL);
	if (r < 0)
		log_warning_errno(r, "Failed to signal the charge check of VM %s: %m", vm_get_name(vm));
}
