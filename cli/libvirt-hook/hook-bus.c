/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libvirt hook's side of vfiod's D-Bus API. libvirt runs the hook
 * synchronously while it holds the domain: every call here is one short
 * method call with sd-bus's default timeout, and nothing calls libvirt.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus-call.h"
#include "bus-dict.h"
#include "bus-errors.h"
#include "vfiod/error-message.h"
#include "vfiod/process.h"
#include "hook-bus.h"
#include "vfd-bus.h"

#define streq(a, b) (strcmp((a), (b)) == 0)

/* vfiod's answer, for the one line: its message, else the error name, else errno */
static const char *error_text(const sd_bus_error *e, int r)
{
	if (bus_call_error_is_not_running(e))
		return "vfiod is not running (" VFD_BUS_NAME " is not on the bus)";
	if (sd_bus_error_is_set(e))
		return e->message ? e->message : e->name;
	return strerror(r < 0 ? -r : r);
}

/* ---- looking up ---- */

/* GetVM(name): 1 and the object path, 0 when vfiod holds no such VM */
static int get_vm(sd_bus *bus, const char *name, char **ret_path, char **error_message)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *path;
	char *copy;
	int r;

	r = bus_call_object(bus, VFD_BUS_PATH, VFD_BUS_INTERFACE, "GetVM", &e, &reply, "s", name);
	if (r < 0 && sd_bus_error_has_name(&e, VFD_ERROR_NO_SUCH_VM))
		return 0;
	if (r < 0)
		return vfd_error_setf(error_message, r, "GetVM failed: %s", error_text(&e, r));
	r = sd_bus_message_read(reply, "o", &path);
	if (r < 0)
		return vfd_error_setf(error_message, r, "cannot read the reply of GetVM: %s", strerror(-r));
	copy = strdup(path);
	if (!copy)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	*ret_path = copy;
	return 1;
}

static int get_vm_uuid(sd_bus *bus, const char *path, char **ret, char **error_message)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_get_property_string(bus, VFD_BUS_NAME, path, VFD_VM_INTERFACE, "UUID", &e, ret);
	if (r < 0)
		return vfd_error_setf(error_message, r, "cannot read the UUID of the VM: %s", error_text(&e, r));
	return 0;
}

/*
 * The VM vfiod holds under this domain's name: 1 and its path when it is
 * this domain (same UUID), 0 when there is none, -EEXIST when another VM
 * has the name: the hook never touches a VM it did not make for this domain.
 */
static int find_own_vm(sd_bus *bus, const HookVM *vm, char **ret_path, char **error_message)
{
	_cleanup_free_ char *path = NULL, *uuid = NULL;
	int r;

	r = get_vm(bus, vm->name, &path, error_message);
	if (r <= 0)
		return r;
	r = get_vm_uuid(bus, path, &uuid, error_message);
	if (r < 0)
		return r;
	if (!streq(uuid, vm->uuid))
		return vfd_error_setf(error_message, -EEXIST,
				      "vfiod's VM '%s' has UUID %s, the domain has %s: not touching it",
				      vm->name, uuid, vm->uuid);
	*ret_path = TAKE_PTR(path);
	return 1;
}

/*
 * 1 when the VM at path is on the iommufd backend: the iommufd broker's
 * (Manager.StartLibvirtDomain, docs/libvirt.md), which prepares the VM
 * before libvirt starts the domain and attaches QEMU after it; the hook's
 * own VMs are type1.
 */
static int is_broker_vm(sd_bus *bus, const char *path, char **error_message)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_free_ char *backend = NULL;
	int r;

	r = sd_bus_get_property_string(bus, VFD_BUS_NAME, path, VFD_VM_INTERFACE, "Backend", &e, &backend);
	if (r < 0)
		return vfd_error_setf(error_message, r, "cannot read the backend of the VM: %s", error_text(&e, r));
	return streq(backend, "iommufd");
}

/*
 * Walks an aa{sv} reply; for each record calls match() with the string
 * values of the keys asked for (NULL when absent or not a string).
 * Returns what match() returned first when > 0, else 0.
 */
#define RECORD_KEYS_MAX 4
typedef int (*record_match_t)(const char *const values[], void *userdata);

typedef struct RecordScan {
	const char *const *keys;
	size_t n_keys;
	const char *values[RECORD_KEYS_MAX];
} RecordScan;

/* a string value of a key asked for; anything else is skipped */
static int read_record_entry(sd_bus_message *m, const char *key, void *userdata)
{
	RecordScan *scan = userdata;
	const char *contents;
	size_t k;
	int r;

	for (k = 0; k < scan->n_keys && !streq(scan->keys[k], key); k++)
		;
	if (k == scan->n_keys)
		return 0;
	r = sd_bus_message_peek_type(m, NULL, &contents);
	if (r < 0)
		return r;
	if (!streq(contents, "s"))
		return 0;
	r = sd_bus_message_read(m, "v", "s", &scan->values[k]);
	return r < 0 ? r : 1;
}

static int scan_records(sd_bus_message *reply, const char *const keys[], size_t n_keys,
			record_match_t match, void *userdata)
{
	int r;

	r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "a{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_at_end(reply, false)) == 0) {
		RecordScan scan = { .keys = keys, .n_keys = n_keys };

		r = vfd_bus_read_dict(reply, read_record_entry, &scan);
		if (r < 0)
			return r;
		r = match(scan.values, userdata);
		if (r != 0)
			return r;
	}
	return r < 0 ? r : 0;
}

static int match_uuid(const char *const values[], void *userdata)
{
	return values[0] && streq(values[0], userdata);
}

/* 1 when an mdev with this UUID exists now */
static int mdev_exists(sd_bus *bus, const char *uuid, char **error_message)
{
	static const char *const keys[] = { "uuid" };
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r;

	r = bus_call_object(bus, VFD_BUS_PATH, VFD_BUS_INTERFACE, "ListMdevs", &e, &reply, NULL);
	if (r < 0)
		return vfd_error_setf(error_message, r, "ListMdevs failed: %s", error_text(&e, r));
	r = scan_records(reply, keys, ELEMENTSOF(keys), match_uuid, (void *)uuid);
	if (r < 0)
		return vfd_error_setf(error_message, r, "cannot read the reply of ListMdevs: %s", strerror(-r));
	return r;
}

/* ---- changing ---- */

/*
 * QEMU maps its ROMs for DMA too (SeaBIOS: 256 KiB, measured in
 * vm-libvirt-hook; option ROMs add up to a few hundred KiB each): vfiod
 * tolerates this much on top of guest memory per address space.
 */
#define HOOK_QEMU_EXTRA_CHARGE_BYTES (UINT64_C(4) << 20)

static int prepare_vm(sd_bus *bus, const HookVM *vm, char **ret_path, char **error_message)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	const char *path;
	char *copy;
	int r;

	r = bus_call_new(bus, VFD_BUS_PATH, VFD_BUS_INTERFACE, "PrepareVM", &m);
	if (r >= 0)
		/* type1 as libvirt 9.0 drives it: QEMU opens /dev/vfio/N itself, and
		 * libvirt's DAC driver gives the nodes to QEMU's user, not vfiod.
		 * Not released on QEMU's exit: libvirt restores the nodes' labels
		 * after that, and the release hook gives the devices back after it. */
		r = sd_bus_message_append(m, "sstbs", vm->name, vm->uuid, vm->memory_bytes, vm->viommu, "type1");
	if (r >= 0)
		r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
	if (r >= 0)
		r = sd_bus_message_append(m, "{sv}{sv}{sv}{sv}",
					  "vmm_opens_groups", "b", 1,
					  "grant_group_nodes", "b", 0,
					  "release_on_exit", "b", 0,
					  "extra_charge_bytes", "t", HOOK_QEMU_EXTRA_CHARGE_BYTES);
	/* vfiod checks the count against the limit it reads itself (daemon/vm-dma-budget.c) */
	if (r >= 0 && vm->dma_mappings > 0)
		r = sd_bus_message_append(m, "{sv}", "dma_mappings", "t", vm->dma_mappings);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r < 0)
		return vfd_error_setf(error_message, r, "cannot build the PrepareVM call: %s", strerror(-r));
	r = sd_bus_call(bus, m, 0, &e, &reply);
	if (r < 0)
		return vfd_error_setf(error_message, r, "PrepareVM failed: %s", error_text(&e, r));
	r = sd_bus_message_read(reply, "o", &path);
	if (r < 0)
		return vfd_error_setf(error_message, r, "cannot read the reply of PrepareVM: %s", strerror(-r));
	copy = strdup(path);
	if (!copy)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	*ret_path = copy;
	return 0;
}

static int add_device(sd_bus *bus, const char *path, const char *device, char **error_message)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	r = bus_call_object(bus, path, VFD_VM_INTERFACE, "AddDevice", &e, NULL, "s", device);
	if (r < 0)
		return vfd_error_setf(error_message, r, "AddDevice %s failed: %s", device, error_text(&e, r));
	return 0;
}

static int add_mdev(sd_bus *bus, const char *path, const char *uuid, char **error_message)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	int r;

	r = mdev_exists(bus, uuid, error_message);
	if (r < 0)
		return r;
	if (r > 0)
		return add_device(bus, path, uuid, error_message);

	/*
	 * parent and type "": vfiod creates it from the definition of that
	 * UUID in its configuration, attributes included, and removes it at
	 * release (it created it)
	 */
	r = bus_call_new(bus, path, VFD_VM_INTERFACE, "CreateMdev", &m);
	if (r >= 0)
		r = sd_bus_message_append(m, "sssa(ss)", "", "", uuid, 0);
	if (r < 0)
		return vfd_error_setf(error_message, r, "cannot build the CreateMdev call: %s", strerror(-r));
	r = sd_bus_call(bus, m, 0, &e, NULL);
	if (r < 0)
		return vfd_error_setf(error_message, r, "mdev %s does not exist and vfiod cannot create it: %s",
				      uuid, error_text(&e, r));
	return 0;
}

static int release_vm(sd_bus *bus, const char *path, char **error_message)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	r = bus_call_object(bus, path, VFD_VM_INTERFACE, "Release", &e, NULL, NULL);
	/* gone meanwhile (its VMM's exit released it): what we wanted */
	if (r < 0 && (sd_bus_error_has_name(&e, VFD_ERROR_NO_SUCH_VM) ||
		      sd_bus_error_has_name(&e, SD_BUS_ERROR_UNKNOWN_OBJECT) ||
		      sd_bus_error_has_name(&e, SD_BUS_ERROR_UNKNOWN_METHOD)))
		return 0;
	if (r < 0)
		return vfd_error_setf(error_message, r, "Release failed: %s", error_text(&e, r));
	return 0;
}

int hook_bus_prepare(sd_bus *bus, const HookVM *vm, char **error_message)
{
	_cleanup_free_ char *path = NULL;
	int r;

	/* the broker prepared this domain's VM and claimed the devices already */
	if (find_own_vm(bus, vm, &path, NULL) > 0) {
		r = is_broker_vm(bus, path, error_message);
		if (r != 0)
			return r < 0 ? r : 0;
		free(path);
		path = NULL;
	}
	r = prepare_vm(bus, vm, &path, error_message);
	if (r < 0)
		return r;
	for (size_t i = 0; r >= 0 && i < vm->n_pci_devices; i++)
		r = add_device(bus, path, vm->pci_devices[i], error_message);
	for (size_t i = 0; r >= 0 && i < vm->n_mdevs; i++)
		r = add_mdev(bus, path, vm->mdevs[i], error_message);
	if (r < 0)
		/* vfiod gives back every claim and created mdev; the first error is the one to tell */
		(void)release_vm(bus, path, NULL);
	return r;
}

/* libvirt's pidfile: the QEMU pid as decimal text */
static int read_qemu_pid(const char *state_dir, const char *name, pid_t *ret, char **error_message)
{
	_cleanup_close_ int fd = -1;
	char path[PATH_MAX], buf[32], *end;
	ssize_t n;
	long v;

	/* name passed vfd_vm_name_is_valid(): one path component */
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.pid", state_dir, name) >= sizeof(path))
		return vfd_error_setf(error_message, -ENAMETOOLONG, "the pidfile path is too long");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return vfd_error_setf(error_message, negative_errno(), "cannot open QEMU's pidfile %s: %m", path);
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return vfd_error_setf(error_message, negative_errno(), "cannot read %s: %m", path);
	buf[n] = '\0';
	errno = 0;
	v = strtol(buf, &end, 10);
	while (*end == '\n' || *end == ' ')
		end++;
	if (errno || end == buf || *end || v <= 1 || v > INT_MAX)
		return vfd_error_setf(error_message, -EBADMSG, "%s does not hold a pid", path);
	*ret = (pid_t)v;
	return 0;
}

static int attach_vmm(sd_bus *bus, const char *path, const HookVM *vm, const char *state_dir,
		      char **error_message)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	_cleanup_close_ int pidfd = -1;
	pid_t pid;
	int r;

	r = read_qemu_pid(state_dir, vm->name, &pid, error_message);
	if (r < 0)
		return r;
	pidfd = vfd_pidfd_open(pid);
	if (pidfd < 0)
		return vfd_error_setf(error_message, pidfd, "cannot open a pidfd for QEMU (pid %d): %s",
				      (int)pid, strerror(-pidfd));
	r = bus_call_new(bus, path, VFD_VM_INTERFACE, "AttachVMM", &m);
	if (r >= 0)
		r = sd_bus_message_append(m, "h", pidfd);
	if (r < 0)
		return vfd_error_setf(error_message, r, "cannot build the AttachVMM call: %s", strerror(-r));
	r = sd_bus_call(bus, m, 0, &e, NULL);
	if (r < 0)
		return vfd_error_setf(error_message, r, "AttachVMM (QEMU pid %d) failed: %s", (int)pid,
				      error_text(&e, r));
	return 0;
}

int hook_bus_attach(sd_bus *bus, const HookVM *vm, const char *state_dir, char **error_message)
{
	_cleanup_free_ char *path = NULL;
	int r;

	r = find_own_vm(bus, vm, &path, error_message);
	if (r < 0)
		return r;
	if (r == 0)
		return vfd_error_setf(error_message, -ENOENT,
				      "vfiod holds no VM '%s' (did the prepare hook run?)", vm->name);
	/* the broker attaches QEMU itself once libvirt's start returns */
	r = is_broker_vm(bus, path, error_message);
	if (r != 0)
		return r < 0 ? r : 0;
	return attach_vmm(bus, path, vm, state_dir, error_message);
}

int hook_bus_release(sd_bus *bus, const HookVM *vm, char **error_message)
{
	_cleanup_free_ char *path = NULL;
	int r;

	r = find_own_vm(bus, vm, &path, error_message);
	if (r <= 0)
		return r;
	return release_vm(bus, path, error_message);
}

int hook_bus_reconnect(sd_bus *bus, const HookVM *vm, const char *state_dir, char **error_message)
{
	_cleanup_free_ char *path = NULL;
	int r;

	r = find_own_vm(bus, vm, &path, error_message);
	if (r != 0)
		return r < 0 ? r : 0;
	r = hook_bus_prepare(bus, vm, error_message);
	if (r < 0)
		return r;
	r = get_vm(bus, vm->name, &path, error_message);
	if (r == 0)
		r = vfd_error_setf(error_message, -ENOENT, "the VM vanished right after PrepareVM");
	if (r >= 0)
		r = attach_vmm(bus, path, vm, state_dir, error_message);
	if (r < 0 && path)
		(void)release_vm(bus, path, NULL);
	return r;
}
