/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every method handler has the same spine: read the arguments, validate
 * them (InvalidArgs with a precise message), call the core, reply. The
 * inventory methods here only read, so anyone on the bus may call them
 * (SD_BUS_VTABLE_UNPRIVILEGED). The methods that change the host live in
 * manager-dbus-vm.c and authorize their callers (polkit.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "bus-args.h"
#include "bus-errors.h"
#include "bus-inventory.h"
#include "bus-op-error.h"
#include "vfiod/inventory.h"
#include "bus-limits.h"
#include "config-apply.h"
#include "log.h"
#include "manager-dbus-config.h"
#include "manager-dbus-host.h" /* systemd/config */
#include "manager-dbus-sriov.h"
#include "manager-dbus-quarantine.h"
#include "quarantine.h"
#include "manager-dbus.h"
#include "polkit.h"
#include "vm-dbus.h"
#include "vfd-bus.h"
#include "vfd-config.h"

/*
 * replies with aa{sv}: n records, each appended by append(m, ..., item[i]),
 * where "..." are the extra arguments given (e.g. the inventory)
 */
#define REPLY_RECORDS(message, items, n, ...)                                   \
	({                                                                      \
		_cleanup_(sd_bus_message_unrefp) sd_bus_message *_reply = NULL; \
		int _r;                                                         \
		_r = sd_bus_message_new_method_return((message), &_reply);      \
		if (_r >= 0)                                                    \
			_r = sd_bus_message_open_container(_reply, SD_BUS_TYPE_ARRAY, "a{sv}"); \
		for (size_t _i = 0; _r >= 0 && _i < (n); _i++)                  \
			_r = REPLY_RECORDS_APPEND(_reply, (items)[_i], __VA_ARGS__); \
		if (_r >= 0)                                                    \
			_r = sd_bus_message_close_container(_reply);            \
		if (_r >= 0)                                                    \
			_r = sd_bus_send(NULL, _reply, NULL);                   \
		_r;                                                             \
	})
/* append(reply, extra..., item): the function first, then its extra arguments */
#define REPLY_RECORDS_APPEND(reply, item, append, ...) append((reply), ##__VA_ARGS__, (item))

/*
 * The inventory methods serve vfiod's copy of the host (inventory.h), up to
 * date with every uevent queued when the call is handled: no sysfs read,
 * unless something changed since the last call.
 *
 * Each reply is built from the records per call, not copied from a reply
 * kept per inventory generation: sd-bus has no way to append a marshalled
 * body as bytes, and sd_bus_message_copy() walks it value by value, which
 * measured 2-3 times slower than appending the records afresh (4096 device
 * records: 7-12 ms built, 22-27 ms copied).
 */
static int method_list_devices(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	vfd_pci_device *const *devices;
	Manager *m = userdata;
	Inventory *inv;
	size_t n;
	int r;

	r = manager_inventory(m, &inv);
	if (r < 0)
		return sd_bus_error_set_errnof(error, r, "Failed to enumerate PCI devices: %m");

	inventory_devices(inv, &devices, &n);
	return REPLY_RECORDS(message, devices, n, bus_append_device_record, inv);
}

static int method_get_device(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const vfd_pci_device *device;
	Manager *m = userdata;
	vfd_pci_address addr;
	char canonical[VFD_PCI_ADDRESS_STRLEN];
	vfd_vfio_choice vfio = { 0 };
	bool have_vfio = false;
	Inventory *inv;
	int r;

	r = bus_read_pci_address(message, &addr, error);
	if (r < 0)
		return r;

	vfd_pci_address_format(&addr, canonical);

	r = manager_inventory(m, &inv);
	if (r < 0)
		return sd_bus_error_set_errnof(error, r, "Failed to read PCI device %s: %m", canonical);

	/* a binary search: nothing here grows with the host */
	device = inventory_device(inv, &addr);
	if (!device)
		return bus_error_domain(error, -ENODEV, "No PCI device %s", canonical);

	r = sd_bus_message_new_method_return(message, &reply);
	if (r < 0)
		return r;

	/*
	 * The VFIO driver a claim would take, for this one function: reading
	 * the module index per function is for GetDevice, not ListDevices.
	 * Bridges are never claimed; a failure leaves the keys out.
	 */
	if (!device->is_bridge &&
	    vfd_vfio_driver_choose(m->ctx, canonical,
				   config_apply_binding_driver(m->config, canonical), NULL, &vfio) >= 0)
		have_vfio = true;
	/* whether a claim would be refused for it (its reset failed: daemon/quarantine.h) */
	const QuarantineEntry *q = quarantine_find(m->quarantine, canonical);
	r = bus_append_device_record_extras(reply, inv, device, &(DeviceRecordExtras) {
		.vfio = have_vfio ? &vfio : NULL,
		.quarantine_known = true,
		.quarantine_reason = q ? q->reason : NULL,
		.quarantine_vm = q && q->vm[0] ? q->vm : NULL,
	});
	vfd_vfio_choice_done(&vfio);
	if (r < 0)
		return r;

	return sd_bus_send(NULL, reply, NULL);
}

static int method_list_groups(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	vfd_iommu_group *const *groups;
	Manager *m = userdata;
	Inventory *inv;
	size_t n;
	int r;

	r = manager_inventory(m, &inv);
	if (r < 0)
		return sd_bus_error_set_errnof(error, r, "Failed to enumerate IOMMU groups: %m");

	inventory_groups(inv, &groups, &n);

	r = sd_bus_message_new_method_return(message, &reply);
	if (r < 0)
		return r;
	r = sd_bus_message_open_container(reply, SD_BUS_TYPE_ARRAY, "a{sv}");
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = bus_append_group_record(reply, inv, groups[i]);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r < 0)
		return r;

	return sd_bus_send(NULL, reply, NULL);
}

static int method_get_group(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const vfd_iommu_group *group;
	Manager *m = userdata;
	char number[16];
	Inventory *inv;
	uint32_t id;
	int r;

	r = sd_bus_message_read(message, "u", &id);
	if (r < 0)
		return r;

	/* every u32 is a well-formed group number; the kernel's are ints */
	snprintf(number, sizeof(number), "%" PRIu32, id);
	if (id > INT32_MAX)
		return bus_error_domain(error, -ENOENT, "No IOMMU group %s", number);

	r = manager_inventory(m, &inv);
	if (r < 0)
		return sd_bus_error_set_errnof(error, r, "Failed to read IOMMU group %s: %m", number);

	group = inventory_group(inv, id);
	if (!group)
		return bus_error_domain(error, -ENOENT, "No IOMMU group %s", number);

	r = sd_bus_message_new_method_return(message, &reply);
	if (r < 0)
		return r;

	r = bus_append_group_record(reply, inv, group);
	if (r < 0)
		return r;

	return sd_bus_send(NULL, reply, NULL);
}

static int method_list_mdev_parents(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	vfd_mdev_parent *const *parents;
	Manager *m = userdata;
	Inventory *inv;
	size_t n;
	int r;

	r = manager_inventory(m, &inv);
	if (r < 0)
		return sd_bus_error_set_errnof(error, r, "Failed to enumerate mdev parents: %m");

	inventory_mdev_parents(inv, &parents, &n);
	return REPLY_RECORDS(message, parents, n, bus_append_mdev_parent_record);
}

static int append_types(sd_bus_message *reply, const vfd_mdev_parent *const *parents, size_t n)
{
	int r;

	r = sd_bus_message_open_container(reply, SD_BUS_TYPE_ARRAY, "a{sv}");
	if (r < 0)
		return r;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < parents[i]->n_types; j++) {
			r = bus_append_mdev_type_record(reply, parents[i]->types[j]);
			if (r < 0)
				return r;
		}

	return sd_bus_message_close_container(reply);
}

static int method_list_mdev_types(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	vfd_mdev_parent *const *all;
	const vfd_mdev_parent *one;
	Manager *m = userdata;
	const char *parent;
	Inventory *inv;
	size_t n;
	int r;

	r = sd_bus_message_read(message, "s", &parent);
	if (r < 0)
		return r;

	if (*parent && !vfd_device_name_is_valid(parent))
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Invalid mdev parent name '%.64s': expected a device name "
					 "(one path component, no whitespace) or \"\" for all parents",
					 parent);

	r = manager_inventory(m, &inv);
	if (r < 0)
		return sd_bus_error_set_errnof(error, r, "Failed to enumerate mdev parents: %m");

	if (*parent) {
		one = inventory_mdev_parent(inv, parent);
		if (!one)
			return bus_error_domain(error, -ENXIO, "No mdev parent %s", parent);
		r = sd_bus_message_new_method_return(message, &reply);
		if (r >= 0)
			r = append_types(reply, &one, 1);
	} else {
		inventory_mdev_parents(inv, &all, &n);
		r = sd_bus_message_new_method_return(message, &reply);
		if (r >= 0)
			r = append_types(reply, (const vfd_mdev_parent *const *) all, n);
	}
	if (r < 0)
		return r;

	return sd_bus_send(NULL, reply, NULL);
}

static int method_list_mdevs(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	vfd_mdev *const *mdevs;
	Manager *m = userdata;
	Inventory *inv;
	size_t n;
	int r;

	r = manager_inventory(m, &inv);
	if (r < 0)
		return sd_bus_error_set_errnof(error, r, "Failed to enumerate mdevs: %m");

	inventory_mdevs(inv, &mdevs, &n);
	return REPLY_RECORDS(message, mdevs, n, bus_append_mdev_record);
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface,
				const char *property, sd_bus_message *reply,
				void *userdata, sd_bus_error *error)
{
	return sd_bus_message_append(reply, "s", VFD_VERSION);
}

static int property_get_mm_helper(sd_bus *bus, const char *path, const char *interface,
				  const char *property, sd_bus_message *reply,
				  void *userdata, sd_bus_error *error)
{
	Manager *m = userdata;

	return sd_bus_message_append(reply, "s", mm_helper_status_to_string(m->mm_status));
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VFIOD_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(VFIOD_ASAN)
#define VFIOD_ASAN 1
#endif
#ifdef VFIOD_ASAN
/* exported by clang's and gcc's ASan runtimes alike; gcc 12 ships no header for it */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

/*
 * ASan replaces glibc's allocator, whose mallinfo2() then reads zeros (so
 * do the other sanitizers that replace malloc, which vfiod's builds do not use)
 */
static uint64_t heap_bytes_in_use(void)
{
#ifdef VFIOD_ASAN
	return __sanitizer_get_current_allocated_bytes();
#else
	struct mallinfo2 mi = mallinfo2();

	return (uint64_t) mi.uordblks + (uint64_t) mi.hblkhd;
#endif
}

/*
 * The bytes the allocator holds for live allocations: the heap's in-use
 * chunks and the blocks mapped of their own. Unlike VmRSS it does not grow
 * as free heap pages are touched for the first time, so a leak shows in it
 * and nothing else does (vm-soak-hotplug).
 */
static int property_get_heap_in_use(sd_bus *bus, const char *path, const char *interface,
				    const char *property, sd_bus_message *reply,
				    void *userdata, sd_bus_error *error)
{
	int r;

	/* root's: a byte-exact counter tells of other users' calls, and it walks the free lists */
	r = bus_sender_is_root(sd_bus_get_current_message(bus));
	if (r < 0)
		return sd_bus_error_set_errnof(error, r, "Cannot read the caller's credentials: %m");
	if (r == 0)
		return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "HeapInUse is root's to read");
	return sd_bus_message_append(reply, "t", heap_bytes_in_use());
}

/* in the order of docs/org.vfiod1.Manager.xml, which introspection reproduces */
const sd_bus_vtable manager_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD_WITH_ARGS("ListDevices",
				SD_BUS_NO_ARGS,
				SD_BUS_RESULT("aa{sv}", devices),
				method_list_devices, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetDevice",
				SD_BUS_ARGS("s", address),
				SD_BUS_RESULT("a{sv}", device),
				method_get_device, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ListGroups",
				SD_BUS_NO_ARGS,
				SD_BUS_RESULT("aa{sv}", groups),
				method_list_groups, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetGroup",
				SD_BUS_ARGS("u", group),
				SD_BUS_RESULT("a{sv}", group),
				method_get_group, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ListMdevParents",
				SD_BUS_NO_ARGS,
				SD_BUS_RESULT("aa{sv}", parents),
				method_list_mdev_parents, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ListMdevTypes",
				SD_BUS_ARGS("s", parent),
				SD_BUS_RESULT("aa{sv}", types),
				method_list_mdev_types, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ListMdevs",
				SD_BUS_NO_ARGS,
				SD_BUS_RESULT("aa{sv}", mdevs),
				method_list_mdevs, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("RegisterVM",
				SD_BUS_ARGS("s", name, "s", uuid, "h", vmm_pidfd, "t", memory_bytes,
					    "b", viommu, "s", backend, "a{sv}", options),
				SD_BUS_RESULT("o", vm),
				method_register_vm, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("RegisterVMWithPid",
				SD_BUS_ARGS("s", name, "s", uuid, "u", vmm_pid, "t", memory_bytes,
					    "b", viommu, "s", backend, "a{sv}", options),
				SD_BUS_RESULT("o", vm),
				method_register_vm_with_pid, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("PrepareVM",
				SD_BUS_ARGS("s", name, "s", uuid, "t", memory_bytes, "b", viommu,
					    "s", backend, "a{sv}", options),
				SD_BUS_RESULT("o", vm),
				method_prepare_vm, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("StartLibvirtDomain",
				SD_BUS_ARGS("s", domain),
				SD_BUS_RESULT("o", vm),
				method_start_libvirt_domain, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ListVMs",
				SD_BUS_NO_ARGS,
				SD_BUS_RESULT("aa{sv}", vms),
				method_list_vms, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetVM",
				SD_BUS_ARGS("s", name),
				SD_BUS_RESULT("o", vm),
				method_get_vm, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Bind",
				SD_BUS_ARGS("s", address, "a{sv}", options),
				SD_BUS_RESULT("aa{sv}", members),
				method_bind, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Unbind",
				SD_BUS_ARGS("s", address),
				SD_BUS_RESULT("aa{sv}", members),
				method_unbind, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("CreateMdev",
				SD_BUS_ARGS("s", parent, "s", type, "s", uuid, "a(ss)", attributes),
				SD_BUS_RESULT("s", mdev),
				method_create_mdev, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("RemoveMdev",
				SD_BUS_ARGS("s", uuid),
				SD_BUS_NO_RESULT,
				method_remove_mdev, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_SIGNAL_WITH_ARGS("InventoryChanged",
				SD_BUS_ARGS("s", kind, "s", action, "s", name),
				0),
	SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("MmHelper", "s", property_get_mm_helper, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("HeapInUse", "t", property_get_heap_in_use, 0, SD_BUS_VTABLE_PROPERTY_EXPLICIT),
	SD_BUS_VTABLE_END
};

/*
 * --inventory-only (tests' reference, manager.h): the same reads, in the
 * same order as manager_vtable, and no method that changes anything.
 */
static const sd_bus_vtable manager_inventory_only_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD_WITH_ARGS("ListDevices", SD_BUS_NO_ARGS, SD_BUS_RESULT("aa{sv}", devices),
				method_list_devices, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetDevice", SD_BUS_ARGS("s", address), SD_BUS_RESULT("a{sv}", device),
				method_get_device, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ListGroups", SD_BUS_NO_ARGS, SD_BUS_RESULT("aa{sv}", groups),
				method_list_groups, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetGroup", SD_BUS_ARGS("u", group), SD_BUS_RESULT("a{sv}", group),
				method_get_group, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ListMdevParents", SD_BUS_NO_ARGS, SD_BUS_RESULT("aa{sv}", parents),
				method_list_mdev_parents, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ListMdevTypes", SD_BUS_ARGS("s", parent), SD_BUS_RESULT("aa{sv}", types),
				method_list_mdev_types, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ListMdevs", SD_BUS_NO_ARGS, SD_BUS_RESULT("aa{sv}", mdevs),
				method_list_mdevs, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_VTABLE_END
};

void manager_send_inventory_changed(Manager *m, const char *kind,
				    const char *action, const char *name)
{
	int r;

	if (!m->bus)
		return;

	r = sd_bus_emit_signal(m->bus, VFD_BUS_PATH, VFD_BUS_INTERFACE, "InventoryChanged",
			       "sss", kind, action, name);
	if (r < 0)
		log_warning_errno(r, "Failed to emit InventoryChanged(%s, %s, %s): %m",
				  kind, action, name);
}

static int on_name_request(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
	Manager *m = userdata;
	const sd_bus_error *e;
	uint32_t result;
	int r;

	e = sd_bus_message_get_error(reply);
	if (e) {
		r = log_error_errno(sd_bus_message_get_errno(reply),
				    "Failed to request bus name " VFD_BUS_NAME ": %s",
				    e->message ? e->message : e->name);
		sd_event_exit(m->event, r);
		return 0;
	}

	r = sd_bus_message_read(reply, "u", &result);
	if (r < 0) {
		sd_event_exit(m->event, log_error_errno(r, "Failed to parse RequestName reply: %m"));
		return 0;
	}

	/* 1: primary owner, 4: already owner; 2 (queued) cannot happen without the queue flag */
	if (result != 1 && result != 4) {
		r = log_error_errno(EEXIST, "Bus name " VFD_BUS_NAME " is owned by another process.");
		sd_event_exit(m->event, r);
		return 0;
	}

	log_info("Acquired bus name " VFD_BUS_NAME ", serving requests.");
	(void) sd_notify(false, "READY=1\nSTATUS=Serving requests.");
	return 0;
}

static int bus_open(Manager *m, sd_bus **ret)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	int r;

	if (!m->bus_address)
		return sd_bus_open_system_with_description(ret, "vfiod");

	r = sd_bus_new(&bus);
	if (r < 0)
		return r;

	(void) sd_bus_set_description(bus, "vfiod");

	r = sd_bus_set_address(bus, m->bus_address);
	if (r < 0)
		return r;

	r = sd_bus_set_bus_client(bus, true);
	if (r < 0)
		return r;

	r = sd_bus_start(bus);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(bus);
	return 0;
}

int manager_connect_bus(Manager *m)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	int r;

	r = vfd_bus_errors_register();
	if (r < 0)
		return log_error_errno(r, "Failed to register bus error names: %m");

	r = bus_open(m, &bus);
	if (r < 0)
		return log_error_errno(r, "Failed to connect to %s: %m",
				       m->bus_address ? m->bus_address : "the system bus");

	/* first: every call's arguments meet the limits before any handler sees them */
	r = bus_limits_install(bus);
	if (r < 0)
		return log_error_errno(r, "Failed to install the argument limits: %m");

	if (m->inventory_only) {
		r = sd_bus_add_object_vtable(bus, NULL, VFD_BUS_PATH, VFD_BUS_INTERFACE,
					     manager_inventory_only_vtable, m);
		if (r < 0)
			return log_error_errno(r, "Failed to export " VFD_BUS_PATH ": %m");
		goto request_name;
	}

	r = sd_bus_add_object_vtable(bus, NULL, VFD_BUS_PATH, VFD_BUS_INTERFACE,
				     manager_vtable, m);
	if (r < 0)
		return log_error_errno(r, "Failed to export " VFD_BUS_PATH ": %m");

	r = vm_dbus_register(bus, m);
	if (r < 0)
		return log_error_errno(r, "Failed to export the VM objects: %m");

	r = manager_dbus_config_register(bus, m); /* systemd/config: ApplyConfig, GetConfigStatus */
	if (r < 0)
		return log_error_errno(r, "Failed to export the config methods: %m");

	r = manager_dbus_host_register(bus, m); /* the kernel's VFIO features */
	if (r < 0)
		return log_error_errno(r, "Failed to export the kernel feature properties: %m");

	r = manager_dbus_sriov_register(bus, m); /* SetSriovNumVFs, RestoreSriov */
	if (r < 0)
		return log_error_errno(r, "Failed to export the SR-IOV methods: %m");
	r = manager_dbus_quarantine_register(bus, m); /* ListQuarantine, ClearQuarantine */
	if (r < 0)
		return log_error_errno(r, "Failed to export the quarantine methods: %m");

request_name:
	/* what a previous vfiod left was recovered before (manager_startup()): nobody can call yet */
	r = sd_bus_request_name_async(bus, NULL, VFD_BUS_NAME, 0, on_name_request, m);
	if (r < 0)
		return log_error_errno(r, "Failed to request bus name " VFD_BUS_NAME ": %m");

	r = sd_bus_attach_event(bus, m->event, SD_EVENT_PRIORITY_NORMAL);
	if (r < 0)
		return log_error_errno(r, "Failed to attach the bus to the event loop: %m");

	/* losing the bus leaves nothing to serve: end the loop */
	r = sd_bus_set_exit_on_disconnect(bus, true);
	if (r < 0)
		return log_error_errno(r, "Failed to set exit-on-disconnect: %m");

	m->bus = TAKE_PTR(bus);
	return 0;
}
