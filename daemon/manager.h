/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The vfiod manager: owns the event loop, the bus connection, the
 * libvfiod context and the udev monitor. Everything that answers a
 * question about the host lives here or in libvfiod; manager-dbus.c only
 * translates between the bus and these functions.
 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "retry-timer.h"
#include "inventory-monitor.h"
#include "inventory.h"
#include "manager-mm.h"
#include "vfiod/bind.h"
#include "vfiod/mdev-ctl.h"
#include "vfiod/op-error.h"
#include "vfiod/inventory.h"
#include "vfiod/memlock.h"

typedef struct VM VM;
typedef struct VMConfig VMConfig;
typedef struct VMMProcess VMMProcess;
typedef struct AdhocJob AdhocJob;

typedef struct Manager {
	sd_event *event;
	sd_bus *bus;
	vfd_context *ctx;
	InventoryMonitor *monitor; /* udevd's events: InventoryChanged signals */
	Inventory *inventory;      /* the inventory the queries serve (inventory.h) */
	InventoryMonitor *uevents; /* the kernel's uevents: what the inventory re-reads */
	/*
	 * --inventory-only (tests' reference): serves the inventory queries
	 * only, read afresh on every call; recovers, applies and changes nothing.
	 */
	bool inventory_only;

	char *root;        /* NULL: the real system */
	char *bus_address; /* NULL: the system bus */

	/* registered VMs, by id; ids are never reused while the daemon runs */
	VM **vms;
	size_t n_vms;
	unsigned next_vm_id;
	uint64_t next_device_serial; /* VMDevice.serial: each add of a device to a VM its own */

	/* ad-hoc claims (Bind outside any VM), in claim order */
	vfd_bind_record **adhoc;
	size_t n_adhoc;

	struct ConfigApply *config; /* persistent configuration (config-apply.c) */
	/*
	 * Modules vfiod asked systemd to load, once each per run; those
	 * remembered before the bus was up are asked for when it is.
	 */
	char **modules_to_load;
	size_t n_modules_to_load;

	/* the vfiod_mm helper (manager-mm.c); mm is NULL unless AVAILABLE */
	vfd_mm_client *mm;
	MmHelperStatus mm_status;
	MmDraining *mm_draining; /* released VMs' dead mms, until RELEASED or the deadline */
	size_t n_mm_draining;
	uint64_t mm_released_deadline_usec;

	char *journal_dir;  /* the VM journal (vm-journal.h); NULL: none */
	char *bindings_dir; /* the binding journal (bind-journal.h); NULL: none */

	struct UnbindWorker *unbind; /* give-backs off the loop (unbind-worker.h) */
	AdhocJob *adhoc_jobs; /* Unbind and RemoveMdev under way on it */
	/* Unbinds refused while the device was held: done once it is free (manager-unbind.c) */
	char (*unbind_pending)[VFD_PCI_ADDRESS_STRLEN];
	size_t n_unbind_pending;
	RetryTimer unbind_retry; /* the next proof of the Unbinds waiting for their holders */

	struct Quarantine *quarantine; /* functions whose reset failed (manager-quarantine.c) */

	struct FdStore *fdstore; /* systemd's fd store (fdstore.h): the VMs' descriptors */

	struct LibvirtEvents *libvirt; /* libvirt-events: the optional libvirt client (libvirt-events.h) */

	/* etc/vfiod/memlock.conf (memlock-settings.h): read once at start; NULL before */
	vfd_memlock_config *memlock_config;
} Manager;

/* the memlock settings the VMs' limits use (NULL: the model's defaults) */
const vfd_memlock_config *manager_memlock_config(const Manager *m);

/* root: fixture tree or NULL; bus_address: a private bus or NULL */
int manager_new(const char *root, const char *bus_address, Manager **ret);
Manager *manager_free(Manager *m);
VFD_DEFINE_CLEANUP(Manager, manager_free)

/* connects to the bus, exports the object, requests the name, starts watching udev */
int manager_startup(Manager *m);
/* runs until SIGTERM/SIGINT or a fatal error; returns the exit code's errno */
int manager_run(Manager *m);

/*
 * Test only: arms libvfiod's fault injection (lib/include/vfiod/fault.h), e.g.
 * "bind-member:2". -EINVAL for a malformed spec.
 */
int manager_arm_test_fault(Manager *m, const char *spec);
/* Tests only: every fault step passed, one line "STEP N" each, to fd (vfiod/fault.h) */
void manager_trace_test_faults(Manager *m, int fd);

/* ---- queries: the core the bus handlers call ---- */

/*
 * The inventory, up to date with every uevent queued so far (inventory.h).
 * The views it gives are valid until the handler returns to the loop.
 */
int manager_inventory(Manager *m, Inventory **ret);

/* ---- VMs (vm.c holds the per-VM logic) ---- */

/*
 * Registers a VM; takes vmm on success. -ENOTUNIQ when the name or UUID
 * is taken, -EPROTONOSUPPORT when the backend is not available here, and
 * what vm_new() returns. vmm NULL: a prepared VM (PrepareVM), whose VMM
 * manager_attach_vmm() names later.
 */
int manager_register_vm(Manager *m, const VMConfig *config, VMMProcess *vmm, VM **ret);
/*
 * A VM from the journal (vm-journal.c) under its old id: vmm NULL when
 * its VMM is gone or was never named. The caller restores its devices.
 */
int manager_adopt_vm(Manager *m, unsigned id, const VMConfig *config, VMMProcess *vmm, VM **ret);
/*
 * vfd_bind_claim() of one function, with the errno of a function without
 * IOMMU group made -ENOTBLK (the library's -ENXIO is NoSuchParent on the
 * bus). For Bind and for VMs' AddDevice.
 */
int manager_claim(Manager *m, const vfd_pci_address *addr, const vfd_bind_options *opts,
		  vfd_op_error *error, vfd_bind_record **ret);
/* vm_attach_vmm(), then the mm helper and the memlock limit as at registration */
int manager_attach_vmm(Manager *m, VM *vm, VMMProcess *vmm, vfd_op_error *error);
VM *manager_find_vm(Manager *m, const char *name);
VM *manager_find_vm_by_id(Manager *m, unsigned id);
/* drops a released VM (frees it) */
void manager_vm_gone(Manager *m, VM *vm);

/* 1 when a VM other than except, or an ad-hoc claim, holds PCI function name */
int manager_device_owned_elsewhere(Manager *m, const char *name, const VM *except);
/* the VM other than except that holds name (a device or a member of a group it claimed), or NULL */
VM *manager_device_vm_owner(Manager *m, const char *name, const VM *except);
/* the VM holding mdev uuid, or NULL */
VM *manager_mdev_owner(Manager *m, const char *uuid);

/* ---- ad-hoc host changes (Bind, Unbind, CreateMdev, RemoveMdev) ---- */

/*
 * Claims the group of addr outside any VM (see vfd_bind_claim()); the
 * record stays with the manager for manager_unbind(), and is journaled
 * (bind-journal.h) so that it outlives a restart. ret points into it.
 */
int manager_bind(Manager *m, const vfd_pci_address *addr, bool unbind_host_members,
		 const char *driver,
		 vfd_op_error *error, const vfd_bind_record **ret);
/* a claim from the binding journal (bind-journal.c) is an ad-hoc claim again; takes rec */
int manager_adopt_binding(Manager *m, vfd_bind_record *rec);
/*
 * The result of a give-back off the loop: r (negative errno, error says
 * why; -ETIMEDOUT: stuck in the kernel past the deadline, finished later),
 * and for an Unbind rec, what was restored (the callee frees it).
 */
typedef void (*ManagerGiveBackDone)(void *userdata, int r, const vfd_op_error *error,
				    vfd_bind_record *rec);
/*
 * Gives back the ad-hoc claim holding addr: proven free first (-EBUSY:
 * held, and vfiod unbinds it once the holder lets go), then restored on the
 * unbind worker; done runs on the loop once. -ENOLINK when no ad-hoc claim
 * holds addr. Errors before the job starts are returned, done is not called.
 */
int manager_unbind_start(Manager *m, const vfd_pci_address *addr, ManagerGiveBackDone done,
			 void *userdata, vfd_op_error *error);
/*
 * vfd_mdev_create() with the errnos of the bus table: -ENXIO no such
 * parent, -EDOM no such type, -EEXIST, -ENOSPC, -EINVAL.
 */
int manager_create_mdev(Manager *m, const char *parent, const char *type_id, const char *uuid,
			const vfd_mdev_attr *attrs, size_t n_attrs, vfd_op_error *error,
			char ret_uuid[VFD_UUID_STRLEN]);
/*
 * -EALREADY when a VM holds the mdev; -EBUSY when someone holds it; else
 * vfd_mdev_remove() on the unbind worker, done as for manager_unbind_start().
 */
int manager_remove_mdev_start(Manager *m, const char *uuid, ManagerGiveBackDone done,
			      void *userdata, vfd_op_error *error);
/* the give-backs under way are answered "vfiod is exiting" (manager_free()) */
void manager_adhoc_jobs_abandon(Manager *m);

/* ---- manager-unbind.c: nobody may hold what an ad-hoc Unbind or RemoveMdev gives back ---- */

/*
 * device_prove_free() for the members of an ad-hoc claim that Unbind
 * moves back (*ret_guard: the group, held until the unbind is done).
 */
int manager_adhoc_prove_free(Manager *m, const vfd_bind_record *rec, vfd_op_error *error,
			     int *ret_guard);
/*
 * Before a claim of PCI function name (in IOMMU group group) for vm that
 * a caller other than root asked for: nobody outside vfiod uses it
 * through VFIO (device_prove_unused(); -EBUSY, held, "in use outside
 * vfiod"). Otherwise a user whom polkit lets manage VMs could claim a
 * function that QEMU of a root domain uses (a managed='yes' hostdev is on
 * vfio-pci already, so a claim changes no driver). A group of which
 * another VM or an ad-hoc Bind holds a member is left to the claim, which
 * refuses it; where vm holds a member itself, only vfiod_mm's count of
 * name's files is asked. Without vfiod_mm and without a group node
 * (cdev-only kernels) nothing can be told, and nothing is refused.
 */
int manager_prove_unused(Manager *m, const VM *vm, int group, const char *name, vfd_op_error *error);
/* device_prove_free() for an mdev about to be removed */
int manager_mdev_prove_free(Manager *m, const char *uuid, vfd_op_error *error, int *ret_guard);
/*
 * An Unbind refused because name is held: vfiod proves again on a timer
 * (backoff up to 10 s) and unbinds once it is free.
 */
void manager_unbind_later(Manager *m, const char *name);
void manager_unbind_pending_free(Manager *m);

/* ---- manager-quarantine.c: functions whose reset between VMs failed (quarantine.h) ---- */

/* the quarantine of /run/vfiod/quarantine (below the fixture root in tests) */
int manager_quarantine_load(Manager *m);
/* -EKEYREVOKED (org.vfiod1.Error.Quarantined) with the reason when name is quarantined */
int manager_quarantine_check(Manager *m, const char *name, vfd_op_error *error);
/* the same for a claim of addr, and for every member of its IOMMU group */
int manager_quarantine_check_group(Manager *m, const vfd_pci_address *addr, vfd_op_error *error);
/* a failed or untaken reset of name as it left vm (NULL: no VM): quarantined, logged */
void manager_quarantine_device(Manager *m, const char *name, const char *vm, const char *reason);
/* ClearQuarantine: -ENOKEY when name is not quarantined */
int manager_quarantine_clear(Manager *m, const char *name);
