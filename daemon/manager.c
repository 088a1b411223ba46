/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bind-journal.h"
#include "sriov.h"
#include "config-apply.h" /* systemd/config */
#include "fdstore.h"
#include "libvirt/libvirt-events.h"
#include "log.h"
#include "manager-dbus.h"
#include "manager.h"
#include "quarantine.h"
#include "manager-recover.h"
#include "memlock-settings.h"
#include "bus-module-load.h"
#include "polkit.h"
#include "unbind-worker.h"
#include "vm-journal.h"
#include "vfiod/fault.h"
#include "vfiod/vfio-variant.h"
#include "vm-dbus.h"
#include "vm-memlock.h"
#include "vm.h"

const vfd_memlock_config *manager_memlock_config(const Manager *m)
{
	return m->memlock_config;
}

Manager *manager_free(Manager *m)
{
	bool stuck;

	if (!m)
		return NULL;

	libvirt_events_free(m->libvirt); /* libvirt-events: before the VMs its callbacks name */

	/*
	 * VMs still registered keep their devices bound: their VMMs may
	 * run on. Only vfiod's own descriptors close with it.
	 */
	if (m->n_vms > 0)
		log_warning("Exiting with %zu VM(s) registered; their devices stay assigned.", m->n_vms);
	for (size_t i = 0; i < m->n_vms; i++)
		vm_free(m->vms[i]);
	free(m->vms);
	/* a thread stuck in an unbind keeps using the context until the process exits */
	stuck = unbind_worker_busy(m->unbind);
	manager_adhoc_jobs_abandon(m);
	unbind_worker_free(m->unbind); /* after the VMs: they abandon their jobs */
	manager_unbind_pending_free(m);
	manager_mm_stop(m);
	fdstore_free(m->fdstore); /* the VMs' descriptors stay stored for the next vfiod */
	for (size_t i = 0; i < m->n_adhoc; i++)
		vfd_bind_record_free(m->adhoc[i]);
	free(m->adhoc);

	config_apply_free(m->config); /* systemd/config */
	vfd_memlock_config_free(m->memlock_config);
	for (size_t i = 0; i < m->n_modules_to_load; i++)
		free(m->modules_to_load[i]);
	free(m->modules_to_load);
	inventory_monitor_free(m->monitor);
	inventory_monitor_free(m->uevents);
	inventory_free(m->inventory);
	polkit_drop_pending();
	sd_bus_flush_close_unref(m->bus);
	if (!stuck)
		vfd_context_free(m->ctx);
	sd_event_unref(m->event);
	free(m->root);
	free(m->bus_address);
	free(m->journal_dir);
	free(m->bindings_dir);
	quarantine_free(m->quarantine);
	free(m);
	return NULL;
}

int manager_new(const char *root, const char *bus_address, Manager **ret)
{
	_cleanup_(manager_freep) Manager *m = NULL;
	int r;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;

	if (root) {
		m->root = strdup(root);
		if (!m->root)
			return -ENOMEM;
	}

	if (bus_address) {
		m->bus_address = strdup(bus_address);
		if (!m->bus_address)
			return -ENOMEM;
	}

	r = vfd_context_new(m->root, &m->ctx);
	if (r < 0)
		return r;
	journal_set_fault_context(m->ctx); /* test-only steps (vfiod/fault.h) */

	r = sd_event_default(&m->event);
	if (r < 0)
		return r;

	r = unbind_worker_new(m->event, m->ctx, &m->unbind);
	if (r < 0)
		return r;

	m->next_vm_id = 1;

	/* below the fixture root in tests, so that they never touch the host's */
	if (asprintf(&m->journal_dir, "%s/run/vfiod/vms", m->root ? m->root : "") < 0) {
		m->journal_dir = NULL;
		return -ENOMEM;
	}
	if (asprintf(&m->bindings_dir, "%s/run/vfiod/bindings", m->root ? m->root : "") < 0) {
		m->bindings_dir = NULL;
		return -ENOMEM;
	}
	r = manager_quarantine_load(m);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(m);
	return 0;
}

static void on_inventory_changed(const char *kind, const char *action,
				  const char *name, void *userdata)
{
	Manager *m = userdata;

	manager_send_inventory_changed(m, kind, action, name);
}

/* a kernel uevent: what it names is re-read at the next query (inventory.h) */
static void on_uevent(const char *kind, const char *action, const char *name, void *userdata)
{
	Manager *m = userdata;

	if (strcmp(kind, "pci") == 0)
		inventory_note_pci(m->inventory, name);
	else if (strcmp(kind, "mdev") == 0)
		inventory_note_mdev(m->inventory, name);
	else if (strcmp(kind, "group") == 0)
		inventory_note_group(m->inventory, name);
	else
		inventory_note_other(m->inventory, name);
}

static void on_uevents_lost(void *userdata)
{
	Manager *m = userdata;

	inventory_note_all(m->inventory);
}

int manager_inventory(Manager *m, Inventory **ret)
{
	int r;

	/* a change whose uevent is queued already is seen by this query */
	inventory_monitor_drain(m->uevents);
	r = inventory_refresh(m->inventory);
	if (r < 0)
		return r;
	*ret = m->inventory;
	return 0;
}

static int start_inventory(Manager *m)
{
	int r;

	r = inventory_new(m->ctx, m->inventory_only, &m->inventory);
	if (r < 0)
		return log_error_errno(r, "Failed to set up the inventory: %m");

	/* the reference reads afresh per call, and keeps nothing */
	if (m->inventory_only)
		return 0;

	/* a fixture root changes only by vfiod's own writes (inventory.h) */
	if (!m->root) {
		/* before the first read: a change during that read is re-read after it */
		r = inventory_monitor_new(m->event, INVENTORY_MONITOR_KERNEL, on_uevent, on_uevents_lost, m,
					  &m->uevents);
		if (r < 0)
			return log_error_errno(r, "Failed to watch the kernel's uevents: %m");

		r = inventory_watch_overrides(m->inventory);
		if (r < 0)
			return log_error_errno(r, "Failed to watch driver_override writes: %m");
	}

	/* not fatal: each query tries again, and reports the error to its caller */
	r = inventory_refresh(m->inventory);
	if (r < 0)
		(void) log_warning_errno(r, "Failed to read the inventory, trying again at the first query: %m");
	return 0;
}

int manager_startup(Manager *m)
{
	int r;

	/* SIGTERM/SIGINT become events that end the loop; they must be blocked first */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return log_error_errno(errno, "Failed to block signals: %m");

	r = sd_event_add_signal(m->event, NULL, SIGTERM, NULL, NULL);
	if (r < 0)
		return log_error_errno(r, "Failed to watch SIGTERM: %m");

	r = sd_event_add_signal(m->event, NULL, SIGINT, NULL, NULL);
	if (r < 0)
		return log_error_errno(r, "Failed to watch SIGINT: %m");

	r = start_inventory(m);
	if (r < 0)
		return r;

	/* the tests' reference serves reads and nothing else */
	if (m->inventory_only) {
		log_info("Serving the inventory only, read afresh on every call.");
		return manager_connect_bus(m);
	}

	/*
	 * udev events describe the real system. With a fixture root they
	 * would name devices the fixture does not have, so only the real
	 * system is watched.
	 */
	if (!m->root) {
		r = inventory_monitor_new(m->event, INVENTORY_MONITOR_UDEV, on_inventory_changed, NULL, m,
					  &m->monitor);
		if (r < 0)
			return log_error_errno(r, "Failed to start the udev monitor: %m");
	} else
		log_info("Using root %s; not watching udev.", m->root);

	/* optional: without it, VMM memory is only known while the VMM lives */
	manager_mm_start(m);

	/* before any VM's limit is computed, recovered ones included */
	{
		_cleanup_free_ char *why = NULL;

		r = memlock_settings_load(m->ctx, &m->memlock_config, &why);
		if (r == -ENOMEM)
			return log_oom();
		if (r < 0)
			log_error("Memlock settings: %s; using the defaults (64 MiB headroom, 256 MiB per mdev).",
				  why ? why : "cannot load");
	}

	/*
	 * What a previous vfiod left, adopted or given back before anything
	 * else may claim a device: the configuration below must find the
	 * devices of adopted VMs and held claims owned, and those of an
	 * unfinished change back where they were.
	 */
	r = fdstore_new(&m->fdstore);
	if (r < 0)
		return log_error_errno(r, "Failed to take back the stored descriptors: %m");
	(void) manager_recover_vms(m);
	(void) manager_recover_bindings(m);
	(void) manager_recover_sriov(m);

	/* --- systemd/config: bindings and autostart mdevs before READY=1 (config-apply.h) --- */
	r = config_apply_new(m, !m->root, &m->config);
	if (r < 0)
		return log_error_errno(r, "Failed to set up the configuration: %m");
	(void) config_apply_reload(m->config, NULL); /* a bad file is logged and reported, not fatal */
	/* --- end systemd/config --- */

	/* last: once the name is requested, callers may come */
	r = manager_connect_bus(m);
	if (r < 0)
		return r;
	/* what the configuration's claims wanted loaded before the bus was there */
	for (size_t i = 0; i < m->n_modules_to_load; i++)
		(void) module_load_request(m->bus, m->modules_to_load[i]);
	return 0;
}

int manager_run(Manager *m)
{
	/*
	 * The loop ends with 0 on SIGTERM/SIGINT, or with the negative errno
	 * a fatal failure passed to sd_event_exit() after logging it.
	 */
	return sd_event_loop(m->event);
}

int manager_arm_test_fault(Manager *m, const char *spec)
{
	return vfd_fault_arm_from_string(m->ctx, spec);
}

void manager_trace_test_faults(Manager *m, int fd)
{
	vfd_fault_trace(m->ctx, fd);
}

/* ---- VMs ---- */

VM *manager_find_vm(Manager *m, const char *name)
{
	for (size_t i = 0; i < m->n_vms; i++)
		if (strcmp(vm_get_name(m->vms[i]), name) == 0)
			return m->vms[i];
	return NULL;
}

VM *manager_find_vm_by_id(Manager *m, unsigned id)
{
	for (size_t i = 0; i < m->n_vms; i++)
		if (vm_get_id(m->vms[i]) == id)
			return m->vms[i];
	return NULL;
}

int manager_register_vm(Manager *m, const VMConfig *config, VMMProcess *vmm, VM **ret)
{
	_cleanup_(vm_freep) VM *vm = NULL;
	VM **n;
	int r;

	for (size_t i = 0; i < m->n_vms; i++)
		if (strcmp(vm_get_name(m->vms[i]), config->name) == 0 ||
		    strcasecmp(vm_get_uuid(m->vms[i]), config->uuid) == 0)
			return -ENOTUNIQ;
	/* no VMM of two VMs' charges at once (manager_find_move_target()) */
	if (vmm && manager_find_move_target(m, vmm->pid))
		return -EINPROGRESS;

	n = realloc(m->vms, (m->n_vms + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	m->vms = n;

	r = vm_new(m, m->next_vm_id, config, vmm, &vm);
	if (r < 0)
		return r;

	m->next_vm_id++;
	m->vms[m->n_vms++] = vm;
	if (!vmm) {
		log_info("VM %s prepared as %s (no VMM yet, backend %s).", vm_get_name(vm), vm_get_path(vm),
			 vm_backend_to_string(vm_get_backend(vm)));
		(void) vm_journal_save(vm);
		*ret = TAKE_PTR(vm);
		return 0;
	}
	log_info("VM %s registered as %s (VMM pid %d, uid %u, backend %s).", vm_get_name(vm), vm_get_path(vm),
		 (int) vm_get_vmm(vm)->pid, (unsigned) vm_get_vmm(vm)->uid, vm_backend_to_string(vm_get_backend(vm)));
	manager_mm_track_vm(m, vm);
	vm_memlock_register(vm);
	(void) vm_journal_save(vm);
	libvirt_events_vm_ready(m->libvirt, vm); /* libvirt-events: a delayed catch-up only */
	*ret = TAKE_PTR(vm);
	return 0;
}

int manager_adopt_vm(Manager *m, unsigned id, const VMConfig *config, VMMProcess *vmm, VM **ret)
{
	_cleanup_(vm_freep) VM *vm = NULL;
	VM **n;
	int r;

	n = realloc(m->vms, (m->n_vms + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	m->vms = n;

	r = vm_new(m, id, config, vmm, &vm);
	if (r < 0)
		return r;
	if (id >= m->next_vm_id)
		m->next_vm_id = id + 1;
	m->vms[m->n_vms++] = vm;
	if (vm_has_vmm(vm))
		manager_mm_track_vm(m, vm);
	*ret = TAKE_PTR(vm);
	return 0;
}

int manager_attach_vmm(Manager *m, VM *vm, VMMProcess *vmm, vfd_op_error *error)
{
	int r;

	r = vm_attach_vmm(vm, vmm, error);
	if (r < 0)
		return r;
	/* as at registration: the helper follows the mm, then the limit is set and checked */
	manager_mm_track_vm(m, vm);
	vm_memlock_register(vm);
	(void) vm_journal_save(vm);
	libvirt_events_vm_ready(m->libvirt, vm); /* libvirt-events: a delayed catch-up only */
	return 0;
}

void manager_vm_gone(Manager *m, VM *vm)
{
	for (size_t i = 0; i < m->n_vms; i++)
		if (m->vms[i] == vm) {
			memmove(&m->vms[i], &m->vms[i + 1], (m->n_vms - i - 1) * sizeof(VM *));
			m->n_vms--;
			break;
		}
	log_info("VM %s is gone.", vm_get_name(vm));
	vm_journal_remove(vm);
	manager_mm_forget_vm(m, vm);
	vm_free(vm);
}

static bool record_has(const vfd_bind_record *r, const char *name)
{
	for (size_t i = 0; i < r->n_members; i++)
		if (strcmp(r->members[i].name, name) == 0)
			return true;
	return false;
}

VM *manager_device_vm_owner(Manager *m, const char *name, const VM *except)
{
	for (size_t i = 0; i < m->n_vms; i++)
		if (m->vms[i] != except && vm_holds(m->vms[i], name))
			return m->vms[i];
	return NULL;
}

int manager_device_owned_elsewhere(Manager *m, const char *name, const VM *except)
{
	if (manager_device_vm_owner(m, name, except))
		return 1;
	for (size_t i = 0; i < m->n_adhoc; i++)
		if (record_has(m->adhoc[i], name))
			return 1;
	return 0;
}

VM *manager_mdev_owner(Manager *m, const char *uuid)
{
	for (size_t i = 0; i < m->n_vms; i++)
		if (vm_holds(m->vms[i], uuid))
			return m->vms[i];
	return NULL;
}

/* ---- ad-hoc host changes ---- */

static int adhoc_owned_elsewhere(const char *name, void *userdata)
{
	BindTxn *t = userdata;

	return manager_device_owned_elsewhere(t->manager, name, NULL);
}

/*
 * The module of the VFIO driver a claim of name will want, when it is not
 * loaded: systemd is asked to load it (bus-module-load.h). The claim itself
 * does not wait; see vfio-variant.h for what it does meanwhile.
 */
/*
 * true the first time module is named in this run: each is asked for once
 * (a module that systemd cannot load is not asked for at every claim)
 */
static bool remember_module_load(Manager *m, const char *module)
{
	char **n, *s;

	for (size_t i = 0; i < m->n_modules_to_load; i++)
		if (strcmp(m->modules_to_load[i], module) == 0)
			return false;
	s = strdup(module);
	n = s ? realloc(m->modules_to_load, (m->n_modules_to_load + 1) * sizeof(*n)) : NULL;
	if (!n) {
		free(s);
		log_warning("Out of memory; module %s will not be loaded.", module);
		return false;
	}
	m->modules_to_load = n;
	m->modules_to_load[m->n_modules_to_load++] = s;
	return true;
}

static void request_module_if_missing(Manager *m, const char *name, const char *driver)
{
	vfd_vfio_choice c = { 0 };

	if (vfd_vfio_driver_choose(m->ctx, name, driver, NULL, &c) < 0)
		return; /* the claim reports it */
	if (vfd_vfio_driver_is_loaded(m->ctx, c.driver) == 0) {
		if (c.source == VFD_VFIO_CHOICE_ALIAS)
			log_notice("%s: VFIO driver %s matches it best (%s) but is not loaded; "
				   "this claim takes vfio-pci.", name, c.driver, c.alias);
		/* before the bus is up: asked for once it is (manager_startup()) */
		if (remember_module_load(m, c.module) && m->bus)
			(void) module_load_request(m->bus, c.module);
	}
	vfd_vfio_choice_done(&c);
}

int manager_claim(Manager *m, const vfd_pci_address *addr, const vfd_bind_options *opts,
		  vfd_op_error *error, vfd_bind_record **ret)
{
	char name[VFD_PCI_ADDRESS_STRLEN];
	vfd_bind_options o = *opts;
	int r;

	/*
	 * The driver: the caller's (Bind's option), else the one vfiod.json
	 * names for this function, for a VM's claim as for an ad-hoc one;
	 * neither: the best by alias (lib/include/vfiod/vfio-variant.h).
	 */
	vfd_pci_address_format(addr, name);
	r = manager_quarantine_check_group(m, addr, error);
	if (r < 0)
		return r;
	if (!o.driver)
		o.driver = config_apply_binding_driver(m->config, name);
	request_module_if_missing(m, name, o.driver);

	r = vfd_bind_claim(m->ctx, addr, 1, &o, error, ret);
	if (r == -ENXIO) {
		/* no IOMMU group: its own name, -ENXIO is NoSuchParent on the bus */
		if (error)
			error->error = -ENOTBLK;
		return -ENOTBLK;
	}
	return r;
}

int manager_bind(Manager *m, const vfd_pci_address *addr, bool unbind_host_members,
		 const char *driver, vfd_op_error *error, const vfd_bind_record **ret)
{
	_cleanup_(vfd_bind_record_freep) vfd_bind_record *rec = NULL;
	_cleanup_(bind_txn_done) BindTxn txn = { .manager = m };
	vfd_bind_options opts = {
		.unbind_host_members = unbind_host_members,
		.driver = driver,
		.owned_elsewhere = adhoc_owned_elsewhere,
		.planned = bind_journal_planned, /* before the first member moves */
		.userdata = &txn,
	};
	vfd_bind_record **n;
	int r;

	n = realloc(m->adhoc, (m->n_adhoc + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	m->adhoc = n;

	r = manager_claim(m, addr, &opts, error, &rec);
	if (r < 0) {
		bind_txn_failed(&txn);
		return r;
	}
	journal_crash_point("bind-claimed");

	/* unjournaled, a restart would forget the originals: nothing sticks unjournaled */
	r = bind_journal_save_held(m, rec);
	if (r < 0) {
		vfd_op_error_set(error, r, rec->members[0].name, "cannot journal the claim: %s",
				 strerror(-r));
		if (vfd_bind_release(m->ctx, rec, NULL) >= 0)
			bind_journal_remove(m, rec);
		else
			m->adhoc[m->n_adhoc++] = TAKE_PTR(rec); /* what is left: Unbind retries */
		return r;
	}

	m->adhoc[m->n_adhoc++] = rec;
	*ret = TAKE_PTR(rec);
	return 0;
}

int manager_adopt_binding(Manager *m, vfd_bind_record *rec)
{
	vfd_bind_record **n;

	n = realloc(m->adhoc, (m->n_adhoc + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	m->adhoc = n;
	m->adhoc[m->n_adhoc++] = rec;
	return 0;
}

/*
 * An ad-hoc give-back on the unbind worker (Unbind, RemoveMdev): the
 * thread works on data of its own (a copy of the record, the mdev's UUID);
 * the loop keeps the original record in m->adhoc until the job is done, so
 * that nothing claims its members meanwhile.
 */
typedef struct AdhocWork {
	vfd_bind_record *copy; /* Unbind: the thread clears what it restored */
	char mdev[VFD_UUID_STRLEN]; /* RemoveMdev */
} AdhocWork;

struct AdhocJob {
	Manager *manager;
	char name[VFD_UUID_STRLEN];
	vfd_bind_record *orig; /* Unbind: the record in m->adhoc */
	ManagerGiveBackDone done; /* NULL once answered (past the deadline) */
	void *userdata;
	AdhocJob *next;
};

static void adhoc_work_free(void *p)
{
	AdhocWork *w = p;

	if (!w)
		return;
	vfd_bind_record_free(w->copy);
	free(w);
}

/* on the worker's thread */
static int adhoc_work(vfd_context *ctx, void *data, vfd_op_error *error)
{
	AdhocWork *w = data;

	if (w->copy)
		return vfd_bind_release(ctx, w->copy, error);
	return vfd_mdev_remove(ctx, w->mdev, error);
}

static void adhoc_job_unlink(Manager *m, AdhocJob *j)
{
	for (AdhocJob **p = &m->adhoc_jobs; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			break;
		}
}

static void adhoc_answer(AdhocJob *j, int r, const vfd_op_error *error, vfd_bind_record *rec)
{
	ManagerGiveBackDone done = j->done;

	j->done = NULL;
	if (done)
		done(j->userdata, r, error, rec);
	else
		vfd_bind_record_free(rec);
}

static size_t adhoc_index(Manager *m, const vfd_bind_record *rec)
{
	for (size_t i = 0; i < m->n_adhoc; i++)
		if (m->adhoc[i] == rec)
			return i;
	return SIZE_MAX;
}

static void on_adhoc_done(void *userdata, void *data, int r, const vfd_op_error *error)
{
	AdhocJob *j = userdata;
	Manager *m = j->manager;
	AdhocWork *w = data;
	size_t i = j->orig ? adhoc_index(m, j->orig) : SIZE_MAX;

	adhoc_job_unlink(m, j);
	if (j->orig && i != SIZE_MAX) {
		/* the record as the thread left it: what was restored is no longer changed */
		vfd_bind_record_free(j->orig);
		m->adhoc[i] = TAKE_PTR(w->copy);
		if (r < 0)
			/* the record keeps what is left; Unbind again, or a restart, retries */
			(void) bind_journal_save_held(m, m->adhoc[i]);
		else {
			vfd_bind_record *rec = m->adhoc[i];

			bind_journal_remove(m, rec);
			memmove(&m->adhoc[i], &m->adhoc[i + 1], (m->n_adhoc - i - 1) * sizeof(*m->adhoc));
			m->n_adhoc--;
			if (!j->done)
				log_info("Unbind of %s finished after its deadline.", j->name);
			adhoc_answer(j, 0, error, rec);
			goto out;
		}
	}
	if (r < 0)
		log_error("Giving back %s failed: %s", j->name,
			  error->message[0] ? error->message : "see the kernel log");
	else if (!j->done)
		log_info("Removal of mdev %s finished after its deadline.", j->name);
	adhoc_answer(j, r, error, NULL);
out:
	adhoc_work_free(w);
	free(j);
}

static void on_adhoc_late(void *userdata)
{
	AdhocJob *j = userdata;
	vfd_op_error error;

	log_warning("Giving back %s: the kernel has not let the sysfs write return after the "
		    "deadline; the device is stuck there, vfiod finishes when it returns.", j->name);
	vfd_op_error_clear(&error);
	(void) vfd_op_error_set(&error, -ETIMEDOUT, j->name, "stuck in the kernel's unbind; vfiod "
				"finishes the give-back when the kernel lets it");
	adhoc_answer(j, -ETIMEDOUT, &error, NULL);
}

static int adhoc_start(Manager *m, const char *name, vfd_bind_record *orig, AdhocWork *w, int guard,
		       ManagerGiveBackDone done, void *userdata, vfd_op_error *error)
{
	UnbindJob *job;
	AdhocJob *j;
	int r;

	j = calloc(1, sizeof(*j));
	if (!j) {
		adhoc_work_free(w);
		if (guard >= 0)
			close(guard);
		return vfd_op_error_set(error, -ENOMEM, name, "out of memory");
	}
	*j = (AdhocJob) { .manager = m, .orig = orig, .done = done, .userdata = userdata };
	snprintf(j->name, sizeof(j->name), "%s", name);
	r = unbind_worker_start(m->unbind, adhoc_work, w, adhoc_work_free, guard, on_adhoc_done,
				on_adhoc_late, j, &job);
	if (r < 0) {
		adhoc_work_free(w);
		free(j);
		return vfd_op_error_set(error, r, name, "cannot start the give-back");
	}
	j->next = m->adhoc_jobs;
	m->adhoc_jobs = j;
	return 0;
}

/* a give-back of rec already runs (Unbind) */
static bool adhoc_unbind_runs(Manager *m, const vfd_bind_record *rec)
{
	for (AdhocJob *j = m->adhoc_jobs; j; j = j->next)
		if (j->orig == rec)
			return true;
	return false;
}

/* a removal of the mdev uuid already runs (RemoveMdev) */
static bool adhoc_removal_runs(Manager *m, const char *uuid)
{
	for (AdhocJob *j = m->adhoc_jobs; j; j = j->next)
		if (!j->orig && strcmp(j->name, uuid) == 0)
			return true;
	return false;
}

int manager_unbind_start(Manager *m, const vfd_pci_address *addr, ManagerGiveBackDone done,
			 void *userdata, vfd_op_error *error)
{
	char name[VFD_PCI_ADDRESS_STRLEN];
	struct json_object *json = NULL;
	AdhocWork *w;
	int r, guard;

	vfd_pci_address_format(addr, name);

	for (size_t i = 0; i < m->n_adhoc; i++) {
		vfd_bind_record *rec = m->adhoc[i];

		if (!record_has(rec, name))
			continue;
		if (adhoc_unbind_runs(m, rec))
			return vfd_op_error_set(error, -EBUSY, name, "it is being given back already");

		/*
		 * Held, or being given back by another call (whose job holds the
		 * group): the kernel would block the unbind; it is done once the
		 * holder lets go.
		 */
		r = manager_adhoc_prove_free(m, rec, error, &guard);
		if (r == -EBUSY)
			manager_unbind_later(m, name);
		if (r < 0)
			return r;

		w = calloc(1, sizeof(*w));
		/* the record's state-file form is its deep copy */
		r = w ? vfd_bind_record_to_json(rec, &json) : -ENOMEM;
		if (r >= 0)
			r = vfd_bind_record_from_json(json, &w->copy);
		json_object_put(json);
		if (r < 0) {
			adhoc_work_free(w);
			if (guard >= 0)
				close(guard);
			return vfd_op_error_set(error, r, name, "cannot copy the claim's record");
		}
		return adhoc_start(m, name, rec, w, guard, done, userdata, error);
	}

	return vfd_op_error_set(error, -ENOLINK, name, "not bound by vfiod outside a VM");
}

void manager_adhoc_jobs_abandon(Manager *m)
{
	vfd_op_error error;

	vfd_op_error_clear(&error);
	(void) vfd_op_error_set(&error, -ESHUTDOWN, "vfiod", "vfiod is exiting");
	while (m->adhoc_jobs) {
		AdhocJob *j = m->adhoc_jobs;

		m->adhoc_jobs = j->next;
		adhoc_answer(j, -ESHUTDOWN, &error, NULL);
		/* the worker's thread frees the work; the job's loop half goes here */
		free(j);
	}
}

int manager_create_mdev(Manager *m, const char *parent, const char *type_id, const char *uuid,
			const vfd_mdev_attr *attrs, size_t n_attrs, vfd_op_error *error,
			char ret_uuid[VFD_UUID_STRLEN])
{
	int r;

	r = vfd_mdev_create(m->ctx, parent, type_id, uuid, attrs, n_attrs, error, ret_uuid);
	/* the library's "not found" errnos, as the bus table names them */
	if (r == -ENODEV)
		r = -ENXIO;
	else if (r == -ENOENT)
		r = -EDOM;
	if (r < 0 && error)
		error->error = r;
	return r;
}

int manager_remove_mdev_start(Manager *m, const char *uuid, ManagerGiveBackDone done,
			      void *userdata, vfd_op_error *error)
{
	VM *owner = manager_mdev_owner(m, uuid);
	AdhocWork *w;
	int r, guard;

	if (owner)
		return vfd_op_error_set(error, -EALREADY, uuid, "the mdev belongs to VM %s", vm_get_name(owner));
	if (adhoc_removal_runs(m, uuid))
		return vfd_op_error_set(error, -EBUSY, uuid, "it is being removed already");
	/* held: the kernel would block the removal until the holder lets go */
	r = manager_mdev_prove_free(m, uuid, error, &guard);
	if (r < 0)
		return r;
	w = calloc(1, sizeof(*w));
	if (!w) {
		if (guard >= 0)
			close(guard);
		return vfd_op_error_set(error, -ENOMEM, uuid, "out of memory");
	}
	snprintf(w->mdev, sizeof(w->mdev), "%s", uuid);
	return adhoc_start(m, uuid, NULL, w, guard, done, userdata, error);
}
