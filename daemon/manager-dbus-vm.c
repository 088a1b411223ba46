/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Manager methods that change the host: registering VMs, binding
 * outside VMs, creating and removing mdevs (docs/org.vfiod1.Manager.xml).
 * Same spine as the inventory methods, plus authorization: root at once,
 * anyone else through polkit (polkit.c), failing closed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "bus-args.h"
#include "bus-dict.h"
#include "bus-errors.h"
#include "bus-mdev-request.h"
#include "bus-op-error.h"
#include "bus-record.h"
#include "log.h"
#include "manager-dbus.h"
#include "manager-dbus-host.h"
#include "pidfd-watch.h"
#include "polkit.h"
#include "vm-dbus.h"
#include "vm-dma-budget.h"
#include "vm.h"
#include "vfiod/vfio-variant.h"

/* ---- RegisterVM, RegisterVMWithPid, PrepareVM ---- */

/* how the VMM is named: a pidfd, a pid (root only), or not yet (PrepareVM) */
typedef enum VMMArg {
	VMM_ARG_PIDFD,
	VMM_ARG_PID,
	VMM_ARG_NONE,
} VMMArg;

typedef struct RegisterRequest {
	Manager *manager;
	char *name;
	char *uuid;
	VMConfig config;
	VMMProcess vmm;
} RegisterRequest;

static void register_request_free(void *p)
{
	RegisterRequest *q = p;

	if (!q)
		return;
	free(q->name);
	free(q->uuid);
	vmm_process_done(&q->vmm);
	free(q);
}

static int run_register_vm(sd_bus_message *message, void *request, sd_bus_error *error)
{
	RegisterRequest *q = request;
	_cleanup_free_ char *budget_message = NULL;
	VM *vm;
	int r;

	q->config.name = q->name;
	q->config.uuid = q->uuid;

	/* the VMM may have become someone else (a setuid exec) while polkit thought */
	if (q->vmm.pidfd >= 0) {
		r = bus_check_vmm_runs_as(error, &q->vmm, q->config.owner_uid);
		if (r < 0)
			return r;
	}

	/* type1's dma_entry_limit: refused before anything is claimed or opened */
	r = vm_dma_budget_check(q->manager, &q->config, &budget_message);
	if (r < 0)
		return bus_error_domain(error, r, "%s", budget_message ? budget_message : "out of memory");

	r = manager_register_vm(q->manager, &q->config, q->vmm.pidfd >= 0 ? &q->vmm : NULL, &vm);
	if (r == -ENOTUNIQ)
		return bus_error_domain(error, r, "A VM named %s or with UUID %s is registered already",
					q->name, q->uuid);
	if (r == -EINPROGRESS)
		return bus_error_domain(error, r, "pid %d is where another VM's charge is moving: it "
					"cannot be the VMM of VM %s too", (int) q->vmm.pid, q->name);
	if (r == -EPROTONOSUPPORT)
		return bus_error_domain(error, r, "The %s backend is not available on this host%s",
					vm_backend_to_string(q->config.backend),
					q->config.backend == VM_BACKEND_IOMMUFD ? " (no /dev/iommu)" :
					" (no /dev/vfio/vfio)");
	if (r < 0)
		return sd_bus_error_set_errnof(error, r, "Cannot register VM %s: %m", q->name);

	return sd_bus_reply_method_return(message, "o", vm_get_path(vm));
}

/* the variant of an option as a boolean; InvalidArgs naming the option otherwise */
static int read_bool_option(sd_bus_message *message, const char *key, bool *ret, sd_bus_error *error)
{
	int b;

	if (sd_bus_message_read(message, "v", "b", &b) < 0)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Option %s must be a boolean", key);
	*ret = b;
	return 0;
}

/*
 * The host's memory in bytes: no VM can pin more guest memory than this,
 * so no size a caller gives may exceed it (a larger one would only lift
 * the VMM's RLIMIT_MEMLOCK beyond anything real).
 */
static uint64_t host_memory_bytes(void)
{
	struct sysinfo si;

	if (sysinfo(&si) < 0 || si.totalram == 0)
		return UINT64_C(1) << 40; /* cannot tell: 1 TiB */
	return (uint64_t) si.totalram * (si.mem_unit ? si.mem_unit : 1);
}

/* the same for a uint64 of at least min and at most the host's memory */
static int read_u64_option(sd_bus_message *message, const char *key, uint64_t min, uint64_t *ret,
			   sd_bus_error *error)
{
	uint64_t v, max = host_memory_bytes();

	if (sd_bus_message_read(message, "v", "t", &v) < 0)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Option %s must be a uint64 (t)",
					 key);
	if (v < min)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Option %s must not be 0", key);
	if (v > max)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Option %s (%" PRIu64 " bytes) is above the host's memory (%" PRIu64
					 " bytes)", key, v, max);
	*ret = v;
	return 0;
}

/* a count (t) of at least 1: no host size bounds it */
static int read_count_option(sd_bus_message *message, const char *key, uint64_t *ret, sd_bus_error *error)
{
	uint64_t v;

	if (sd_bus_message_read(message, "v", "t", &v) < 0)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Option %s must be a uint64 (t)", key);
	if (v == 0)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Option %s must not be 0", key);
	*ret = v;
	return 0;
}

static int read_policy_option(sd_bus_message *message, VMConfig *config, sd_bus_error *error)
{
	const char *policy;
	int p;

	if (sd_bus_message_read(message, "v", "s", &policy) < 0)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Option memlock_policy must be a string");
	if (strcmp(policy, "none") == 0)
		config->apply_memlock = false;
	else if ((p = vfd_memlock_policy_from_string(policy)) >= 0) {
		config->apply_memlock = true;
		config->memlock_policy = (vfd_memlock_policy) p;
	} else
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Invalid memlock_policy '%.64s': expected precise, libvirt or none",
					 policy);
	return 0;
}

typedef struct OptionsRead {
	VMConfig *config;
	sd_bus_error *error;
	unsigned seen;
} OptionsRead;

static const char *const register_options[] = {
	"vmm_opens_groups", "grant_group_nodes", "release_on_exit", "memlock_policy",
	"extra_charge_bytes", "memlock_headroom_bytes", "memlock_cap_bytes", "dma_mappings",
};

/* one option: only keys vfiod knows, with their types, each once */
static int read_register_option(sd_bus_message *message, const char *key, void *userdata)
{
	OptionsRead *o = userdata;
	VMConfig *config = o->config;
	sd_bus_error *error = o->error;
	int r;

	if (!vfd_bus_dict_key_once(&o->seen, register_options, ELEMENTSOF(register_options), key))
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Option %s given twice", key);
	if (strcmp(key, "vmm_opens_groups") == 0)
		r = read_bool_option(message, key, &config->vmm_opens_groups, error);
	else if (strcmp(key, "grant_group_nodes") == 0)
		r = read_bool_option(message, key, &config->grant_group_nodes, error);
	else if (strcmp(key, "release_on_exit") == 0)
		r = read_bool_option(message, key, &config->release_on_exit, error);
	else if (strcmp(key, "memlock_policy") == 0)
		r = read_policy_option(message, config, error);
	else if (strcmp(key, "extra_charge_bytes") == 0)
		r = read_u64_option(message, key, 0, &config->extra_charge_bytes, error);
	else if (strcmp(key, "memlock_headroom_bytes") == 0) {
		r = read_u64_option(message, key, 0, &config->memlock_headroom_bytes, error);
		config->memlock_headroom_set = r >= 0;
	} else if (strcmp(key, "memlock_cap_bytes") == 0)
		r = read_u64_option(message, key, 1, &config->memlock_cap, error);
	else if (strcmp(key, "dma_mappings") == 0)
		r = read_count_option(message, key, &config->dma_mappings, error);
	else
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Unknown option '%.64s' (known: vmm_opens_groups, "
					 "grant_group_nodes, release_on_exit, memlock_policy, "
					 "memlock_cap_bytes, memlock_headroom_bytes, extra_charge_bytes, "
					 "dma_mappings)", key);
	return r < 0 ? r : 1;
}

/* reads the options dictionary */
static int read_register_options(sd_bus_message *message, VMConfig *config, sd_bus_error *error)
{
	OptionsRead o = { .config = config, .error = error };

	return vfd_bus_read_dict(message, read_register_option, &o);
}

/* everything but the VMM argument (pidfd or pid), which the callers read between */
static int read_register_args(sd_bus_message *message, RegisterRequest *q, VMMArg how,
			      uint32_t *ret_pid, int *ret_fd, sd_bus_error *error)
{
	const char *name, *uuid, *backend;
	uint64_t memory;
	int viommu, r;

	r = sd_bus_message_read(message, "ss", &name, &uuid);
	if (r < 0)
		return r;
	r = 0;
	if (how == VMM_ARG_PID)
		r = sd_bus_message_read(message, "u", ret_pid);
	else if (how == VMM_ARG_PIDFD)
		r = sd_bus_message_read(message, "h", ret_fd);
	if (r < 0)
		return r;
	r = sd_bus_message_read(message, "tbs", &memory, &viommu, &backend);
	if (r < 0)
		return r;

	if (!vfd_vm_name_is_valid(name))
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Invalid VM name '%.64s': 1-64 letters, digits, '_', '.' or '-', "
					 "starting with a letter or digit", name);
	if (vfd_uuid_validate(uuid) < 0)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Invalid UUID '%.64s': expected 8-4-4-4-12 hex digits", uuid);
	/* "auto": what the kernel offers decides (Manager.DefaultBackend) */
	if (strcmp(backend, "auto") == 0 && manager_default_backend(q->manager, &backend) < 0)
		backend = "type1";
	if (vm_backend_from_string(backend, &q->config.backend) < 0)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Invalid backend '%.64s': expected iommufd, type1 or auto", backend);
	if (memory == 0)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Invalid memory size 0: the VM's guest memory in bytes");
	if (memory > host_memory_bytes())
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Invalid memory size %" PRIu64 ": above the host's memory (%" PRIu64
					 " bytes)", memory, host_memory_bytes());
	q->config.memory_bytes = memory;
	q->config.viommu = viommu;

	r = read_register_options(message, &q->config, error);
	if (r < 0)
		return r;
	/* a limit below the charge the VMM itself declares would fail its own mappings */
	if (q->config.memlock_headroom_set && q->config.memlock_headroom_bytes < q->config.extra_charge_bytes)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Option memlock_headroom_bytes (%" PRIu64 ") is below extra_charge_bytes (%"
					 PRIu64 "): the limit would not cover what the VMM maps",
					 q->config.memlock_headroom_bytes, q->config.extra_charge_bytes);
	if (q->config.vmm_opens_groups && q->config.backend != VM_BACKEND_TYPE1)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Option vmm_opens_groups needs the type1 backend");

	q->name = strdup(name);
	q->uuid = strdup(uuid);
	if (!q->name || !q->uuid)
		return -ENOMEM;
	return 0;
}

static int register_common(sd_bus_message *message, Manager *m, VMMArg how, sd_bus_error *error)
{
	RegisterRequest *q;
	uint32_t pid = 0;
	uid_t caller;
	int fd = -1, r;

	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->manager = m;
	q->vmm = (VMMProcess) VMM_PROCESS_NULL;
	q->config.release_on_exit = true;
	q->config.grant_group_nodes = true;
	q->config.apply_memlock = true;
	q->config.memlock_policy = VFD_MEMLOCK_POLICY_PRECISE;
	q->config.memlock_cap = VFD_MEMLOCK_UNLIMITED;

	r = read_register_args(message, q, how, &pid, &fd, error);
	if (r < 0)
		goto fail;

	r = bus_sender_identity(message, NULL, &caller);
	if (r < 0) {
		r = sd_bus_error_set_errnof(error, r, "Cannot read the caller's credentials: %m");
		goto fail;
	}
	q->config.owner_uid = caller;
	/* a plain pid can name a recycled process: only root may take that risk */
	if (how == VMM_ARG_PID && caller != 0) {
		r = sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
				      "Only root may name the VMM by pid; pass a pidfd to RegisterVM");
		goto fail;
	}

	if (how == VMM_ARG_NONE)
		/* the VMM comes later (VM.AttachVMM), checked then */
		return polkit_authorize(message, POLKIT_ACTION_MANAGE_VMS, run_register_vm, q,
					register_request_free, error);

	r = how == VMM_ARG_PID ? vmm_process_from_pid((pid_t) pid, &q->vmm) :
				 vmm_process_from_pidfd(fd, &q->vmm);
	if (r < 0) {
		r = bus_error_vmm_process(error, r);
		goto fail;
	}
	/* a user may only register a VMM running as themselves */
	if (caller != 0 && q->vmm.uid != caller) {
		r = sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
				      "The VMM (pid %d) runs as uid %u, not as the caller",
				      (int) q->vmm.pid, (unsigned) q->vmm.uid);
		goto fail;
	}

	return polkit_authorize(message, POLKIT_ACTION_MANAGE_VMS, run_register_vm, q,
				register_request_free, error);
fail:
	register_request_free(q);
	return r;
}

int method_register_vm(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	return register_common(message, userdata, VMM_ARG_PIDFD, error);
}

int method_register_vm_with_pid(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	return register_common(message, userdata, VMM_ARG_PID, error);
}

int method_prepare_vm(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	return register_common(message, userdata, VMM_ARG_NONE, error);
}

/* ---- ListVMs, GetVM ---- */

static int append_vm_record(sd_bus_message *reply, const VM *vm)
{
	int r;

	r = sd_bus_message_open_container(reply, SD_BUS_TYPE_ARRAY, "{sv}");
	if (r < 0)
		return r;

	r = bus_record_append_u32(reply, "id", vm_get_id(vm));
	if (r >= 0)
		r = bus_record_append_string(reply, "name", vm_get_name(vm));
	if (r >= 0)
		r = bus_record_append_string(reply, "uuid", vm_get_uuid(vm));
	if (r >= 0)
		r = bus_record_append_string(reply, "path", vm_get_path(vm));
	if (r >= 0)
		r = bus_record_append_string(reply, "backend", vm_backend_to_string(vm_get_backend(vm)));
	if (r >= 0)
		r = bus_record_append_string(reply, "state", vm_state_to_string(vm_get_state(vm)));
	if (r >= 0)
		r = bus_record_append_u32(reply, "vmm_pid", (uint32_t) vm_get_vmm(vm)->pid);
	if (r >= 0)
		r = bus_record_append_string(reply, "vmm_state", vm_vmm_state(vm));
	if (r >= 0) {
		uint64_t locked, pinned;
		const char *source = vm_observed_memory(vm, &locked, &pinned);

		r = bus_record_open_entry(reply, "locked_bytes", "t");
		if (r >= 0)
			r = sd_bus_message_append(reply, "t", locked);
		if (r >= 0)
			r = bus_record_close_entry(reply);
		if (r >= 0)
			r = bus_record_open_entry(reply, "pinned_bytes", "t");
		if (r >= 0)
			r = sd_bus_message_append(reply, "t", pinned);
		if (r >= 0)
			r = bus_record_close_entry(reply);
		if (r >= 0)
			r = bus_record_append_string(reply, "memory_source", source);
	}
	if (r >= 0)
		r = bus_record_open_entry(reply, "memory_bytes", "t");
	if (r >= 0)
		r = sd_bus_message_append(reply, "t", vm_get_memory_bytes(vm));
	if (r >= 0)
		r = bus_record_close_entry(reply);
	if (r >= 0)
		r = bus_record_open_entry(reply, "devices", "as");
	if (r >= 0)
		r = sd_bus_message_open_container(reply, SD_BUS_TYPE_ARRAY, "s");
	for (size_t i = 0; r >= 0 && i < vm_get_n_devices(vm); i++)
		r = sd_bus_message_append(reply, "s", vm_get_device(vm, i)->name);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = bus_record_close_entry(reply);
	if (r < 0)
		return r;

	return sd_bus_message_close_container(reply);
}

int method_list_vms(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	Manager *m = userdata;
	int r;

	r = sd_bus_message_new_method_return(message, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, SD_BUS_TYPE_ARRAY, "a{sv}");
	for (size_t i = 0; r >= 0 && i < m->n_vms; i++)
		r = append_vm_record(reply, m->vms[i]);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

int method_get_vm(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	Manager *m = userdata;
	const char *name;
	VM *vm;
	int r;

	r = sd_bus_message_read(message, "s", &name);
	if (r < 0)
		return r;
	if (!vfd_vm_name_is_valid(name))
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid VM name '%.64s'", name);

	vm = manager_find_vm(m, name);
	if (!vm)
		return bus_error_domain(error, -ENOMEDIUM, "No VM %s", name);

	return sd_bus_reply_method_return(message, "o", vm_get_path(vm));
}

/* ---- Bind, Unbind ---- */

typedef struct HostRequest {
	Manager *manager;
	vfd_pci_address addr;
	bool unbind_host_members;
	char *driver; /* Bind: the VFIO driver named by the caller, NULL: by alias */
	char *parent, *type_id, *uuid;
	vfd_mdev_attr *attrs;
	size_t n_attrs;
} HostRequest;

static void host_request_free(void *p)
{
	HostRequest *q = p;

	if (!q)
		return;
	free(q->driver);
	free(q->parent);
	free(q->type_id);
	free(q->uuid);
	vfd_mdev_attrs_free(q->attrs, q->n_attrs);
	free(q);
}

static int append_member_records(sd_bus_message *reply, const vfd_bind_record *rec)
{
	int r;

	r = sd_bus_message_open_container(reply, SD_BUS_TYPE_ARRAY, "a{sv}");
	for (size_t i = 0; r >= 0 && i < rec->n_members; i++) {
		const vfd_bind_member *mb = &rec->members[i];

		r = sd_bus_message_open_container(reply, SD_BUS_TYPE_ARRAY, "{sv}");
		if (r >= 0)
			r = bus_record_append_string(reply, "name", mb->name);
		if (r >= 0)
			r = bus_record_append_u32(reply, "group", mb->group);
		if (r >= 0)
			r = bus_record_append_bool(reply, "requested", mb->requested);
		if (r >= 0)
			r = bus_record_append_string_optional(reply, "original_driver", mb->original_driver);
		if (r >= 0)
			r = bus_record_append_string_optional(reply, "original_driver_override",
							      mb->original_override);
		if (r >= 0)
			r = bus_record_append_bool(reply, "changed", mb->changed);
		if (r >= 0 && mb->changed)
			r = bus_record_append_string(reply, "vfio_driver",
						     mb->vfio_driver ? mb->vfio_driver : "vfio-pci");
		if (r >= 0)
			r = sd_bus_message_close_container(reply);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	return r;
}

static int reply_members(sd_bus_message *message, const vfd_bind_record *rec)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_message_new_method_return(message, &reply);
	if (r >= 0)
		r = append_member_records(reply, rec);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

static int run_bind(sd_bus_message *message, void *request, sd_bus_error *error)
{
	HostRequest *q = request;
	const vfd_bind_record *rec;
	vfd_op_error op;
	int r;

	vfd_op_error_clear(&op);
	r = manager_bind(q->manager, &q->addr, q->unbind_host_members, q->driver, &op, &rec);
	if (r < 0)
		return bus_error_from_op(error, r, &op, "Cannot bind");
	return reply_members(message, rec);
}

typedef struct BindOptionsRead {
	HostRequest *q;
	sd_bus_error *error;
	unsigned seen;
} BindOptionsRead;

static const char *const bind_options[] = { "driver", "unbind_host_members" };

static int read_bind_option(sd_bus_message *message, const char *key, void *userdata)
{
	BindOptionsRead *o = userdata;
	const char *s;
	int b;

	if (!vfd_bus_dict_key_once(&o->seen, bind_options, ELEMENTSOF(bind_options), key))
		return sd_bus_error_setf(o->error, SD_BUS_ERROR_INVALID_ARGS, "Option %s given twice", key);
	if (strcmp(key, "driver") == 0) {
		if (sd_bus_message_read(message, "v", "s", &s) < 0 || !vfd_module_name_is_valid(s))
			return sd_bus_error_setf(o->error, SD_BUS_ERROR_INVALID_ARGS,
						 "Option driver must be a driver name (letters, "
						 "digits, '_' and '-', at most %d)",
						 VFD_MODULE_NAME_MAX);
		free(o->q->driver);
		o->q->driver = strdup(s);
		return o->q->driver ? 1 : -ENOMEM;
	}
	if (strcmp(key, "unbind_host_members") != 0)
		return sd_bus_error_setf(o->error, SD_BUS_ERROR_INVALID_ARGS,
					 "Unknown option '%.64s' (known: unbind_host_members, "
					 "driver)", key);
	if (sd_bus_message_read(message, "v", "b", &b) < 0)
		return sd_bus_error_setf(o->error, SD_BUS_ERROR_INVALID_ARGS,
					 "Option unbind_host_members must be a boolean");
	o->q->unbind_host_members = b;
	return 1;
}

int method_bind(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	HostRequest *q;
	int r;

	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->manager = userdata;

	r = bus_read_pci_address(message, &q->addr, error);
	if (r < 0)
		goto fail;

	r = vfd_bus_read_dict(message, read_bind_option, &(BindOptionsRead) { .q = q, .error = error });
	if (r < 0)
		goto fail;

	return polkit_authorize(message, POLKIT_ACTION_BIND, run_bind, q, host_request_free, error);
fail:
	host_request_free(q);
	return r;
}

/*
 * Unbind and RemoveMdev answer when the give-back ends on the unbind worker
 * (or when it passed its deadline): the call's message waits meanwhile.
 */
static void reply_give_back(sd_bus_message *message, int r, const vfd_op_error *op,
			    vfd_bind_record *rec, const char *what)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	int q;

	if (r < 0) {
		(void) bus_error_from_op(&error, r, op, what);
		q = sd_bus_reply_method_error(message, &error);
	} else if (rec)
		q = reply_members(message, rec);
	else
		q = sd_bus_reply_method_return(message, NULL);
	if (q < 0 && sd_bus_reply_method_errno(message, q, NULL) < 0)
		log_warning_errno(q, "Failed to reply to %s: %m", sd_bus_message_get_member(message));
	vfd_bind_record_free(rec);
	sd_bus_message_unref(message);
}

static void on_unbound(void *userdata, int r, const vfd_op_error *op, vfd_bind_record *rec)
{
	reply_give_back(userdata, r, op, rec, "Cannot unbind");
}

static int run_unbind(sd_bus_message *message, void *request, sd_bus_error *error)
{
	HostRequest *q = request;
	vfd_op_error op;
	int r;

	vfd_op_error_clear(&op);
	r = manager_unbind_start(q->manager, &q->addr, on_unbound, sd_bus_message_ref(message), &op);
	if (r < 0) {
		sd_bus_message_unref(message);
		return bus_error_from_op(error, r, &op, "Cannot unbind");
	}
	return 1; /* on_unbound() replies */
}

int method_unbind(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	HostRequest *q;
	int r;

	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->manager = userdata;

	r = bus_read_pci_address(message, &q->addr, error);
	if (r < 0) {
		host_request_free(q);
		return r;
	}
	return polkit_authorize(message, POLKIT_ACTION_BIND, run_unbind, q, host_request_free, error);
}

/* ---- CreateMdev, RemoveMdev ---- */

static int run_create_mdev(sd_bus_message *message, void *request, sd_bus_error *error)
{
	HostRequest *q = request;
	char uuid[VFD_UUID_STRLEN];
	vfd_op_error op;
	int r;

	vfd_op_error_clear(&op);
	r = manager_create_mdev(q->manager, q->parent, q->type_id, *q->uuid ? q->uuid : NULL,
				q->attrs, q->n_attrs, &op, uuid);
	if (r == -EINVAL)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Cannot create the mdev: %s%s%s",
					 op.subject, *op.subject ? ": " : "", op.message);
	if (r < 0)
		return bus_error_from_op(error, r, &op, "Cannot create the mdev");
	return sd_bus_reply_method_return(message, "s", uuid);
}

int method_create_mdev(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	HostRequest *q;
	int r;

	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->manager = userdata;

	r = bus_read_mdev_request(message, false, &q->parent, &q->type_id, &q->uuid, &q->attrs,
				  &q->n_attrs, error);
	if (r < 0) {
		host_request_free(q);
		return r;
	}
	return polkit_authorize(message, POLKIT_ACTION_MANAGE_MDEV, run_create_mdev, q,
				host_request_free, error);
}

static void on_mdev_removed(void *userdata, int r, const vfd_op_error *op, vfd_bind_record *rec)
{
	reply_give_back(userdata, r, op, rec, "Cannot remove the mdev");
}

static int run_remove_mdev(sd_bus_message *message, void *request, sd_bus_error *error)
{
	HostRequest *q = request;
	vfd_op_error op;
	int r;

	vfd_op_error_clear(&op);
	r = manager_remove_mdev_start(q->manager, q->uuid, on_mdev_removed, sd_bus_message_ref(message),
				      &op);
	if (r < 0) {
		sd_bus_message_unref(message);
		return bus_error_from_op(error, r, &op, "Cannot remove the mdev");
	}
	return 1; /* on_mdev_removed() replies */
}

int method_remove_mdev(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	HostRequest *q;
	const char *uuid;
	int r;

	r = sd_bus_message_read(message, "s", &uuid);
	if (r < 0)
		return r;
	if (vfd_uuid_validate(uuid) < 0)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Invalid UUID '%.64s': expected 8-4-4-4-12 hex digits", uuid);

	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->manager = userdata;
	q->uuid = strdup(uuid);
	if (!q->uuid) {
		host_request_free(q);
		return -ENOMEM;
	}
	for (char *p = q->uuid; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char) (*p - 'A' + 'a');

	return polkit_authorize(message, POLKIT_ACTION_MANAGE_MDEV, run_remove_mdev, q,
				host_request_free, error);
}
