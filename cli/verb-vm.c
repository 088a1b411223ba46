/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfioctl vm register|list|show|add-device|create-mdev|create-vgpu|remove-device|release:
 * VMs and the devices vfiod assigns to them (org.vfiod1.VM).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus-client.h"
#include "output.h"
#include "bus-errors.h"
#include "vfd-bus.h"
#include "verb-host.h"
#include "vfiod/mdev-ctl.h"
#include "vfiod/inventory.h"
#include "vfiod/process.h"
#include "vfioctl.h"
#include "vm-libvirt.h" /* libvirt-events */

static const Column vm_columns[] = {
	{ "NAME",    "name",    COLUMN_TEXT },
	{ "ID",      "id",      COLUMN_TEXT },
	{ "STATE",   "state",   COLUMN_TEXT },
	{ "BACKEND", "backend", COLUMN_TEXT },
	{ "VMM",     "vmm_pid", COLUMN_TEXT },
	{ "VMM-STATE", "vmm_state", COLUMN_TEXT },   /* alive, exited, released */
	{ "LOCKED",  "locked_bytes", COLUMN_TEXT },  /* bytes; after the exit too with vfiod_mm */
	{ "PINNED",  "pinned_bytes", COLUMN_TEXT },
	{ "DEVICES", "devices", COLUMN_LIST },
};

static const char *const vm_device_fields[] = { "name", "bus", "iommu_group", "created", NULL };
static const char *const vm_busy_device_fields[] = { "name", "status", "detail", NULL };
static const BusJsonStruct vm_structs[] = {
	{ "Devices", vm_device_fields },
	{ "BusyDevice", vm_busy_device_fields },
	{}
};

/*
 * A D-Bus property name as a JSON key, the snake_case of every other verb:
 * a word starts at an upper-case letter after a lower-case one or a digit,
 * and at the last capital of an acronym that a lower-case letter follows
 * ("VMMPid" is vmm_pid, "UUID" uuid, "ExitLockedBytes" exit_locked_bytes).
 */
static void property_to_snake_case(const char *name, char *buf, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; name[i] && o + 2 < size; i++) {
		char c = name[i];
		bool upper = c >= 'A' && c <= 'Z';

		if (upper && i > 0) {
			char prev = name[i - 1], next = name[i + 1];
			bool prev_lower = (prev >= 'a' && prev <= 'z') || (prev >= '0' && prev <= '9');
			bool prev_upper = prev >= 'A' && prev <= 'Z';
			bool next_lower = next >= 'a' && next <= 'z';

			if (prev_lower || (prev_upper && next_lower))
				buf[o++] = '_';
		}
		buf[o++] = upper ? (char) (c - 'A' + 'a') : c;
	}
	buf[o] = '\0';
}

/* the properties object with snake_case keys, in the same order */
static int vm_properties_to_json(json_object *properties, json_object **ret)
{
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();

	if (!o)
		return -ENOMEM;

	json_object_object_foreach(properties, key, value) {
		char snake[128];

		property_to_snake_case(key, snake, sizeof(snake));
		if (json_object_object_add(o, snake, json_object_get(value)) < 0)
			return -ENOMEM;
	}

	*ret = TAKE_PTR(o);
	return 0;
}

/* "64M", "1G", "4096": bytes with an optional binary suffix */
static int parse_size(const char *s, uint64_t *ret)
{
	unsigned long long v;
	uint64_t mult = 1;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case '\0': break;
	case 'K': mult = UINT64_C(1) << 10; end++; break;
	case 'M': mult = UINT64_C(1) << 20; end++; break;
	case 'G': mult = UINT64_C(1) << 30; end++; break;
	default: return -EINVAL;
	}
	if (*end || v > UINT64_MAX / mult)
		return -EINVAL;
	*ret = v * mult;
	return 0;
}

/* the VM's object path by name; prints the failure */
static int vm_path(sd_bus *bus, const char *name, char **ret)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	const char *path;
	int r;

	r = bus_client_call(bus, "GetVM", &error, &reply, "s", name);
	if (sd_bus_error_has_name(&error, VFD_ERROR_NO_SUCH_VM)) {
		runtime_error("no VM %s", name);
		return r;
	}
	if (r < 0) {
		(void) host_report_error("cannot find the VM", &error, r);
		return r;
	}
	r = sd_bus_message_read(reply, "o", &path);
	if (r < 0) {
		runtime_error("cannot parse the reply of GetVM");
		return r;
	}
	*ret = strdup(path);
	return *ret ? 0 : -ENOMEM;
}

/* vm register (a VMM named by --pid) and vm prepare (no VMM yet: PrepareVM) */
static int vm_register(int argc, char *argv[], bool prepare)
{
	enum { ARG_PID = 0x100, ARG_UUID, ARG_MEMORY, ARG_VIOMMU, ARG_BACKEND, ARG_VMM_OPENS_GROUPS, ARG_JSON,
	       ARG_KEEP_AFTER_EXIT, ARG_MEMLOCK_POLICY, ARG_MEMLOCK_CAP, ARG_NO_GRANT, ARG_EXTRA_CHARGE,
	       ARG_HEADROOM };
	static const struct option options[] = {
		{ "pid",              required_argument, NULL, ARG_PID              },
		{ "uuid",             required_argument, NULL, ARG_UUID             },
		{ "memory",           required_argument, NULL, ARG_MEMORY           },
		{ "viommu",           no_argument,       NULL, ARG_VIOMMU           },
		{ "backend",          required_argument, NULL, ARG_BACKEND          },
		{ "vmm-opens-groups", no_argument,       NULL, ARG_VMM_OPENS_GROUPS },
		{ "json",             no_argument,       NULL, ARG_JSON             },
		{ "keep-after-exit",  no_argument,       NULL, ARG_KEEP_AFTER_EXIT  },
		{ "memlock-policy",   required_argument, NULL, ARG_MEMLOCK_POLICY   },
		{ "memlock-cap",      required_argument, NULL, ARG_MEMLOCK_CAP      },
		{ "no-grant",         no_argument,       NULL, ARG_NO_GRANT         },
		{ "extra-charge",     required_argument, NULL, ARG_EXTRA_CHARGE     },
		{ "headroom",         required_argument, NULL, ARG_HEADROOM         },
		{}
	};
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
	_cleanup_close_ int pidfd = -1;
	char uuid[VFD_UUID_STRLEN] = "";
	const char *backend = NULL, *name, *path;
	uint64_t memory = UINT64_C(1) << 30;
	bool viommu = false, vmm_opens_groups = false, keep_after_exit = false, no_grant = false;
	const char *verb = prepare ? "vm prepare" : "vm register";
	const char *memlock_policy = NULL;
	uint64_t memlock_cap = 0, extra_charge = 0, headroom = 0;
	bool headroom_set = false;
	long pid = 0;
	char *end;
	int c, r;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", options, NULL)) >= 0)
		switch (c) {
		case ARG_PID:
			if (prepare)
				return usage_error("'vm prepare' takes no --pid: the VMM comes with 'vm attach-vmm'");
			errno = 0;
			pid = strtol(optarg, &end, 10);
			if (errno || *end || pid <= 0 || pid > INT32_MAX)
				return usage_error("invalid --pid '%s': expected a process id", optarg);
			break;
		case ARG_UUID:
			if (vfd_uuid_validate(optarg) < 0)
				return usage_error("invalid --uuid '%s': expected 8-4-4-4-12 hex digits", optarg);
			snprintf(uuid, sizeof(uuid), "%s", optarg);
			break;
		case ARG_MEMORY:
			if (parse_size(optarg, &memory) < 0 || memory == 0)
				return usage_error("invalid --memory '%s': expected bytes, e.g. 4G or 512M", optarg);
			break;
		case ARG_VIOMMU:
			viommu = true;
			break;
		case ARG_BACKEND:
			if (strcmp(optarg, "iommufd") != 0 && strcmp(optarg, "type1") != 0 &&
			    strcmp(optarg, "auto") != 0)
				return usage_error("invalid --backend '%s': expected iommufd, type1 or auto", optarg);
			backend = optarg;
			break;
		case ARG_VMM_OPENS_GROUPS:
			vmm_opens_groups = true;
			break;
		case ARG_JSON:
			arg_json = true;
			break;
		case ARG_KEEP_AFTER_EXIT:
			keep_after_exit = true;
			break;
		case ARG_MEMLOCK_POLICY:
			if (strcmp(optarg, "precise") != 0 && strcmp(optarg, "libvirt") != 0 &&
			    strcmp(optarg, "none") != 0)
				return usage_error("invalid --memlock-policy '%s': expected precise, libvirt or none",
						   optarg);
			memlock_policy = optarg;
			break;
		case ARG_NO_GRANT:
			no_grant = true;
			break;
		case ARG_EXTRA_CHARGE:
			if (parse_size(optarg, &extra_charge) < 0)
				return usage_error("invalid --extra-charge '%s': expected bytes, e.g. 4M", optarg);
			break;
		case ARG_HEADROOM:
			if (parse_size(optarg, &headroom) < 0)
				return usage_error("invalid --headroom '%s': expected bytes, e.g. 8M or 0", optarg);
			headroom_set = true;
			break;
		case ARG_MEMLOCK_CAP:
			if (parse_size(optarg, &memlock_cap) < 0 || memlock_cap == 0)
				return usage_error("invalid --memlock-cap '%s': expected bytes, e.g. 512M", optarg);
			break;
		case ':':
			return usage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s' for '%s'", argv[optind - 1], verb);
		}

	if (optind + 1 != argc)
		return usage_error(prepare ? "'vm prepare' needs NAME --backend iommufd|type1|auto" :
				   "'vm register' needs NAME --pid PID --backend iommufd|type1|auto");
	name = argv[optind];
	if (pid == 0 && !prepare)
		return usage_error("'vm register' needs --pid PID (the VMM's process)");
	if (!backend)
		return usage_error("'%s' needs --backend iommufd, type1 or auto", verb);
	if (!*uuid && vfd_mdev_uuid_generate(uuid) < 0)
		return runtime_error("cannot generate a UUID");

	/* a pidfd names the process for good; the daemon cannot be fooled by a reused pid */
	if (!prepare) {
		pidfd = vfd_pidfd_open((pid_t) pid);
		if (pidfd < 0)
			return runtime_error("cannot open process %ld: %s", pid, strerror(-pidfd));
	}

	if (bus_client_open(&bus) < 0)
		return VFIOCTL_EXIT_FAILURE;

	r = bus_call_new(bus, VFD_BUS_PATH, VFD_BUS_INTERFACE, prepare ? "PrepareVM" : "RegisterVM", &call);
	if (r >= 0 && prepare)
		r = sd_bus_message_append(call, "sstbs", name, uuid, memory, viommu, backend);
	else if (r >= 0)
		r = sd_bus_message_append(call, "sshtbs", name, uuid, pidfd, memory, viommu, backend);
	if (r >= 0)
		r = sd_bus_message_open_container(call, SD_BUS_TYPE_ARRAY, "{sv}");
	if (r >= 0 && vmm_opens_groups)
		r = sd_bus_message_append(call, "{sv}", "vmm_opens_groups", "b", 1);
	if (r >= 0 && extra_charge)
		r = sd_bus_message_append(call, "{sv}", "extra_charge_bytes", "t", extra_charge);
	if (r >= 0 && headroom_set)
		r = sd_bus_message_append(call, "{sv}", "memlock_headroom_bytes", "t", headroom);
	if (r >= 0 && no_grant)
		r = sd_bus_message_append(call, "{sv}", "grant_group_nodes", "b", 0);
	if (r >= 0 && keep_after_exit)
		r = sd_bus_message_append(call, "{sv}", "release_on_exit", "b", 0);
	if (r >= 0 && memlock_policy)
		r = sd_bus_message_append(call, "{sv}", "memlock_policy", "s", memlock_policy);
	if (r >= 0 && memlock_cap)
		r = sd_bus_message_append(call, "{sv}", "memlock_cap_bytes", "t", memlock_cap);
	if (r >= 0)
		r = sd_bus_message_close_container(call);
	if (r < 0)
		return runtime_error("cannot build the %s call: %s", prepare ? "PrepareVM" : "RegisterVM",
				     strerror(-r));

	r = sd_bus_call(bus, call, 0, &error, &reply);
	if (r < 0) {
		if (bus_call_error_is_not_running(&error))
			return runtime_error("vfiod is not running");
		return host_report_error(prepare ? "cannot prepare the VM" : "cannot register the VM",
					 &error, r);
	}
	r = sd_bus_message_read(reply, "o", &path);
	if (r < 0)
		return runtime_error("cannot parse the reply");

	if (arg_json) {
		_cleanup_(json_object_putp) json_object *o = json_object_new_object();

		if (!o || json_object_object_add(o, "name", json_object_new_string(name)) < 0 ||
		    json_object_object_add(o, "uuid", json_object_new_string(uuid)) < 0 ||
		    json_object_object_add(o, "path", json_object_new_string(path)) < 0)
			return runtime_error("out of memory");
		return output_json(o) < 0 ? runtime_error("cannot write the output") : 0;
	}
	printf("%s\n", path);
	return 0;
}

static int vm_list(int argc, char *argv[])
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(json_object_putp) json_object *rows = NULL;
	int r;

	if (argc > 1)
		return usage_error("'vm list' takes no arguments, got '%s'", argv[1]);
	if (bus_client_open(&bus) < 0)
		return VFIOCTL_EXIT_FAILURE;

	r = bus_client_fetch_records(bus, "ListVMs", &error, NULL, &rows, NULL);
	if (r < 0)
		return bus_client_report_error("cannot list VMs", &error, r);

	if (output_rows(rows, vm_columns, ELEMENTSOF(vm_columns)) < 0)
		return runtime_error("cannot write the output");
	return 0;
}

static int vm_show(int argc, char *argv[])
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(json_object_putp) json_object *o = NULL;
	_cleanup_free_ char *path = NULL;
	int r;

	if (argc != 2)
		return usage_error("'vm show' needs NAME");
	if (bus_client_open(&bus) < 0)
		return VFIOCTL_EXIT_FAILURE;
	if (vm_path(bus, argv[1], &path) < 0)
		return VFIOCTL_EXIT_FAILURE;

	r = bus_client_call_object(bus, path, "org.freedesktop.DBus.Properties", "GetAll", &error,
				   &reply, "s", VFD_VM_INTERFACE);
	if (r < 0)
		return host_report_error("cannot read the VM", &error, r);
	r = bus_json_read_record(reply, vm_structs, &o);
	if (r < 0)
		return runtime_error("cannot parse the VM's properties");

	if (arg_json) {
		_cleanup_(json_object_putp) json_object *snake = NULL;

		if (vm_properties_to_json(o, &snake) < 0)
			return runtime_error("out of memory");
		return output_json(snake) < 0 ? runtime_error("cannot write the output") : 0;
	}

	json_object_object_foreach(o, key, value) {
		if (strcmp(key, "Devices") == 0) {
			printf("%-13s", "Devices:");
			if (json_object_array_length(value) == 0)
				printf(" -");
			for (size_t i = 0; i < json_object_array_length(value); i++) {
				json_object *d = json_object_array_get_idx(value, i), *n, *b;

				json_object_object_get_ex(d, "name", &n);
				json_object_object_get_ex(d, "bus", &b);
				printf(" %s (%s)", json_object_get_string(n), json_object_get_string(b));
			}
			printf("\n");
		} else
			printf("%-13s %s\n", key, json_object_get_string(value));
	}
	return 0;
}

/* vm add-device|remove-device NAME DEVICE [--libvirt [--libvirt-uri=URI] [--timeout=SEC]] */
static int vm_device_verb(int argc, char *argv[], const char *member, const char *what)
{
	/* --- libvirt-events: the libvirt hotplug options (vm-libvirt.h) --- */
	enum { ARG_LIBVIRT = 0x100, ARG_LIBVIRT_URI, ARG_TIMEOUT };
	static const struct option options[] = {
		{ "libvirt",     no_argument,       NULL, ARG_LIBVIRT     },
		{ "libvirt-uri", required_argument, NULL, ARG_LIBVIRT_URI },
		{ "timeout",     required_argument, NULL, ARG_TIMEOUT     },
		{}
	};
	VmLibvirtOptions lv = { 0 };
	bool libvirt = false;
	char *end;
	long v;
	int c;
	/* --- end libvirt-events --- */
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_free_ char *path = NULL;
	vfd_pci_address addr;
	int r;

	/* --- libvirt-events --- */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", options, NULL)) >= 0)
		switch (c) {
		case ARG_LIBVIRT:
			libvirt = true;
			break;
		case ARG_LIBVIRT_URI:
			if (!*optarg)
				return usage_error("--libvirt-uri needs a URI");
			lv.uri = optarg;
			libvirt = true;
			break;
		case ARG_TIMEOUT:
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v <= 0 || v > 3600)
				return usage_error("invalid --timeout '%s': expected seconds, 1 to 3600", optarg);
			lv.timeout_sec = (unsigned) v;
			break;
		case ':':
			return usage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s' for 'vm %s'", argv[optind - 1], argv[0]);
		}
	if (lv.timeout_sec && (!libvirt || strcmp(member, "RemoveDevice") != 0))
		return usage_error("--timeout is for 'vm remove-device --libvirt'");
	argc -= optind - 1;
	argv += optind - 1;
	/* --- end libvirt-events --- */

	if (argc != 3)
		return usage_error("'vm %s' needs NAME DEVICE", argv[0]);
	if (vfd_pci_address_parse(argv[2], &addr) < 0 && vfd_uuid_validate(argv[2]) < 0)
		return usage_error("invalid DEVICE '%s': expected a PCI address DDDD:BB:SS.F or an mdev UUID",
				   argv[2]);

	if (bus_client_open(&bus) < 0)
		return VFIOCTL_EXIT_FAILURE;
	if (vm_path(bus, argv[1], &path) < 0)
		return VFIOCTL_EXIT_FAILURE;

	/* --- libvirt-events: the hotplug orders of vm-libvirt.h --- */
	if (libvirt && strcmp(member, "AddDevice") == 0)
		return vm_libvirt_add_device(bus, path, argv[1], argv[2], &lv);
	if (libvirt)
		return vm_libvirt_remove_device(bus, path, argv[1], argv[2], &lv);
	/* --- end libvirt-events --- */

	r = bus_client_call_object(bus, path, VFD_VM_INTERFACE, member, &error, NULL, "s", argv[2]);
	if (r < 0)
		return host_report_error(what, &error, r);
	return 0;
}

static int vm_create_mdev(int argc, char *argv[])
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
	_cleanup_free_ char *path = NULL;
	MdevArgs a;
	int r;

	r = mdev_args_parse(argc, argv, 1, &a);
	if (r != 0)
		return r;

	if (bus_client_open(&bus) < 0)
		return VFIOCTL_EXIT_FAILURE;
	if (vm_path(bus, a.positional[0], &path) < 0)
		return VFIOCTL_EXIT_FAILURE;

	r = bus_call_new(bus, path, VFD_VM_INTERFACE, "CreateMdev", &call);
	if (r >= 0)
		r = mdev_args_append(call, &a);
	if (r < 0)
		return runtime_error("cannot build the CreateMdev call: %s", strerror(-r));
	return mdev_call_and_print(bus, call, "cannot create the mdev");
}

/* vm create-vgpu NAME TYPE [--parent PF]: a vendor vGPU on a free VF (CreateVgpu); prints the VF */
static int vm_create_vgpu(int argc, char *argv[])
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_free_ char *path = NULL;
	const char *parent = "", *vf;
	vfd_pci_address addr;
	unsigned type;
	char *end;
	unsigned long v;
	int r;

	if (argc == 5 && strcmp(argv[3], "--parent") == 0)
		parent = argv[4];
	else if (argc != 3)
		return usage_error("'vm create-vgpu' needs NAME TYPE [--parent PF]");
	errno = 0;
	v = strtoul(argv[2], &end, 10);
	if (errno || *end || !*argv[2] || v == 0 || v > UINT32_MAX)
		return usage_error("invalid TYPE '%s': expected a vGPU type id (a number, not 0)", argv[2]);
	type = (unsigned) v;
	if (*parent && vfd_pci_address_parse(parent, &addr) < 0)
		return usage_error("invalid PF '%s': expected a PCI address DDDD:BB:SS.F", parent);

	if (bus_client_open(&bus) < 0)
		return VFIOCTL_EXIT_FAILURE;
	if (vm_path(bus, argv[1], &path) < 0)
		return VFIOCTL_EXIT_FAILURE;
	r = bus_client_call_object(bus, path, VFD_VM_INTERFACE, "CreateVgpu", &error, &reply, "su",
				   parent, (uint32_t) type);
	if (r < 0)
		return host_report_error("cannot create the vGPU", &error, r);
	r = sd_bus_message_read(reply, "s", &vf);
	if (r < 0)
		return runtime_error("cannot parse the reply of CreateVgpu");
	printf("%s\n", vf);
	return 0;
}

/* vm check-charge NAME: expected vs observed charge now (CheckCharge); exit 1 on a mismatch */
static int vm_check_charge(int argc, char *argv[])
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_free_ char *path = NULL;
	uint64_t expected, observed, limit;
	int matches, r;

	if (argc != 2)
		return usage_error("'vm check-charge' needs NAME");
	if (bus_client_open(&bus) < 0)
		return VFIOCTL_EXIT_FAILURE;
	if (vm_path(bus, argv[1], &path) < 0)
		return VFIOCTL_EXIT_FAILURE;

	r = bus_client_call_object(bus, path, VFD_VM_INTERFACE, "CheckCharge", &error, &reply, NULL);
	if (r < 0)
		return host_report_error("cannot check the VM's charge", &error, r);
	r = sd_bus_message_read(reply, "tttb", &expected, &observed, &limit, &matches);
	if (r < 0)
		return runtime_error("cannot parse the reply of CheckCharge");

	if (arg_json) {
		_cleanup_(json_object_putp) json_object *o = json_object_new_object();

		if (!o || json_object_object_add(o, "expected_bytes", json_object_new_uint64(expected)) < 0 ||
		    json_object_object_add(o, "observed_bytes", json_object_new_uint64(observed)) < 0 ||
		    json_object_object_add(o, "memlock_limit", json_object_new_uint64(limit)) < 0 ||
		    json_object_object_add(o, "matches", json_object_new_boolean(matches)) < 0)
			return runtime_error("out of memory");
		if (output_json(o) < 0)
			return runtime_error("cannot write the output");
	} else
		printf("expected %" PRIu64 " observed %" PRIu64 " limit %" PRIu64 " %s\n", expected,
		       observed, limit, matches ? "match" : "MISMATCH");
	return matches ? 0 : VFIOCTL_EXIT_FAILURE;
}

/* vm attach-vmm NAME --pid PID: the VMM of a prepared VM, passed as a pidfd */
static int vm_attach_vmm(int argc, char *argv[])
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int pidfd = -1;
	long pid;
	char *end;
	int r;

	if (argc != 4 || strcmp(argv[2], "--pid") != 0)
		return usage_error("'vm attach-vmm' needs NAME --pid PID");
	errno = 0;
	pid = strtol(argv[3], &end, 10);
	if (errno || *end || pid <= 0 || pid > INT32_MAX)
		return usage_error("invalid --pid '%s': expected a process id", argv[3]);
	pidfd = vfd_pidfd_open((pid_t) pid);
	if (pidfd < 0)
		return runtime_error("cannot open process %ld: %s", pid, strerror(-pidfd));

	if (bus_client_open(&bus) < 0)
		return VFIOCTL_EXIT_FAILURE;
	if (vm_path(bus, argv[1], &path) < 0)
		return VFIOCTL_EXIT_FAILURE;
	r = bus_client_call_object(bus, path, VFD_VM_INTERFACE, "AttachVMM", &error, NULL, "h", pidfd);
	if (r < 0)
		return host_report_error("cannot attach the VMM", &error, r);
	return 0;
}

static int vm_release(int argc, char *argv[])
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_free_ char *path = NULL;
	const char *state;
	int r;

	if (argc != 2)
		return usage_error("'vm release' needs NAME");
	if (bus_client_open(&bus) < 0)
		return VFIOCTL_EXIT_FAILURE;
	if (vm_path(bus, argv[1], &path) < 0)
		return VFIOCTL_EXIT_FAILURE;

	r = bus_client_call_object(bus, path, VFD_VM_INTERFACE, "Release", &error, &reply, NULL);
	if (r < 0)
		return host_report_error("cannot release the VM", &error, r);
	r = sd_bus_message_read(reply, "s", &state);
	if (r < 0)
		return runtime_error("cannot parse the reply of Release");

	if (arg_json) {
		_cleanup_(json_object_putp) json_object *o = json_object_new_object();

		if (!o || json_object_object_add(o, "state", json_object_new_string(state)) < 0)
			return runtime_error("out of memory");
		return output_json(o) < 0 ? runtime_error("cannot write the output") : 0;
	}
	printf("%s\n", state);
	return 0;
}

/*
 * vm change-process NAME --pid PID [--timeout SEC]: the VM's charge may
 * move to process PID (ChangeProcess, a pidfd); NAME --commit once PID
 * called IOMMU_IOAS_CHANGE_PROCESS (CommitProcessChange); NAME --abort.
 */
static int vm_change_process(int argc, char *argv[])
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int pidfd = -1;
	uint64_t timeout_usec = 0, moved;
	long pid = 0, secs;
	char *end;
	int r;

	if (argc == 3 && (strcmp(argv[2], "--commit") == 0 || strcmp(argv[2], "--abort") == 0))
		;
	else if ((argc == 4 || argc == 6) && strcmp(argv[2], "--pid") == 0) {
		errno = 0;
		pid = strtol(argv[3], &end, 10);
		if (errno || *end || pid <= 0 || pid > INT32_MAX)
			return usage_error("invalid --pid '%s': expected a process id", argv[3]);
		if (argc == 6) {
			if (strcmp(argv[4], "--timeout") != 0)
				return usage_error("'vm change-process' needs NAME --pid PID [--timeout SEC]");
			errno = 0;
			secs = strtol(argv[5], &end, 10);
			if (errno || *end || secs <= 0 || secs > 600)
				return usage_error("invalid --timeout '%s': expected 1 to 600 seconds", argv[5]);
			timeout_usec = (uint64_t) secs * 1000000;
		}
	} else
		return usage_error("'vm change-process' needs NAME --pid PID [--timeout SEC], "
				   "NAME --commit or NAME --abort");
	if (bus_client_open(&bus) < 0)
		return VFIOCTL_EXIT_FAILURE;
	if (vm_path(bus, argv[1], &path) < 0)
		return VFIOCTL_EXIT_FAILURE;

	if (strcmp(argv[2], "--abort") == 0) {
		r = bus_client_call_object(bus, path, VFD_VM_INTERFACE, "AbortProcessChange", &error,
					   NULL, NULL);
		return r < 0 ? host_report_error("cannot abort the move", &error, r) : 0;
	}
	if (strcmp(argv[2], "--commit") == 0) {
		r = bus_client_call_object(bus, path, VFD_VM_INTERFACE, "CommitProcessChange", &error,
					   &reply, NULL);
		if (r < 0)
			return host_report_error("cannot commit the move", &error, r);
		r = sd_bus_message_read(reply, "t", &moved);
		if (r < 0)
			return runtime_error("cannot parse the reply of CommitProcessChange");
		if (arg_json) {
			_cleanup_(json_object_putp) json_object *o = json_object_new_object();

			if (!o || json_object_object_add(o, "moved_bytes", json_object_new_uint64(moved)) < 0)
				return runtime_error("out of memory");
			return output_json(o) < 0 ? runtime_error("cannot write the output") : 0;
		}
		printf("moved %" PRIu64 "\n", moved);
		return 0;
	}

	pidfd = vfd_pidfd_open((pid_t) pid);
	if (pidfd < 0)
		return runtime_error("cannot open process %ld: %s", pid, strerror(-pidfd));
	r = bus_client_call_object(bus, path, VFD_VM_INTERFACE, "ChangeProcess", &error, NULL, "ht",
				   pidfd, timeout_usec);
	if (r < 0)
		return host_report_error("cannot move the VM to the process", &error, r);
	return 0;
}

/* vm secret NAME: the secret that proves the VM's VMM (GetVMMSecret), for the owner to pass on */
static int vm_secret(int argc, char *argv[])
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_free_ char *path = NULL;
	const char *secret;
	int r;

	if (argc != 2)
		return usage_error("'vm secret' needs NAME");
	if (bus_client_open(&bus) < 0)
		return VFIOCTL_EXIT_FAILURE;
	if (vm_path(bus, argv[1], &path) < 0)
		return VFIOCTL_EXIT_FAILURE;

	r = bus_client_call_object(bus, path, VFD_VM_INTERFACE, "GetVMMSecret", &error, &reply, NULL);
	if (r < 0)
		return host_report_error("cannot read the VM's secret", &error, r);
	r = sd_bus_message_read(reply, "s", &secret);
	if (r < 0)
		return runtime_error("cannot parse the reply of GetVMMSecret");
	printf("%s\n", secret);
	return 0;
}

/*
 * vm start DOMAIN --libvirt: vfiod starts a defined libvirt domain as its
 * iommufd broker (Manager.StartLibvirtDomain, docs/libvirt.md). libvirt
 * starting QEMU can take long (TCG): the call waits up to 10 minutes.
 */
#define VM_START_TIMEOUT_USEC (600ULL * 1000 * 1000)
static int vm_start(int argc, char *argv[])
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
	const char *domain = NULL, *path;
	bool libvirt = false;
	int r;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--libvirt") == 0)
			libvirt = true;
		else if (argv[i][0] == '-')
			return usage_error("unknown option '%s' for 'vm start'", argv[i]);
		else if (domain)
			return usage_error("'vm start' takes one DOMAIN");
		else
			domain = argv[i];
	}
	if (!domain)
		return usage_error("'vm start' needs DOMAIN");
	if (!libvirt)
		return usage_error("'vm start' starts libvirt domains only: pass --libvirt");
	if (!vfd_vm_name_is_valid(domain))
		return usage_error("invalid DOMAIN '%s': vfiod's VM names are 1-64 letters, digits, '_', '.' "
				   "or '-'", domain);
	if (bus_client_open(&bus) < 0)
		return VFIOCTL_EXIT_FAILURE;
	r = sd_bus_message_new_method_call(bus, &call, VFD_BUS_NAME, VFD_BUS_PATH, VFD_BUS_INTERFACE,
					   "StartLibvirtDomain");
	if (r >= 0)
		r = sd_bus_message_append(call, "s", domain);
	if (r < 0)
		return runtime_error("cannot build the StartLibvirtDomain call");
	r = sd_bus_call(bus, call, VM_START_TIMEOUT_USEC, &error, &reply);
	if (r < 0)
		return host_report_error("cannot start the domain", &error, r);
	r = sd_bus_message_read(reply, "o", &path);
	if (r < 0)
		return runtime_error("cannot parse the reply of StartLibvirtDomain");
	printf("%s\n", path);
	return 0;
}

int verb_vm(int argc, char *argv[])
{
	const char *sub;

	if (argc < 2)
		return usage_error("'vm' needs a command: register, prepare, attach-vmm, list, show, "
				   "add-device, create-mdev, create-vgpu, remove-device, release, check-charge, change-process, "
				   "secret, start");
	sub = argv[1];
	argc--;
	argv++;

	if (strcmp(sub, "register") == 0)
		return vm_register(argc, argv, false);
	if (strcmp(sub, "prepare") == 0)
		return vm_register(argc, argv, true);
	argc = output_take_json_option(argc, argv);
	if (strcmp(sub, "list") == 0)
		return vm_list(argc, argv);
	if (strcmp(sub, "show") == 0)
		return vm_show(argc, argv);
	if (strcmp(sub, "add-device") == 0)
		return vm_device_verb(argc, argv, "AddDevice", "cannot add the device");
	if (strcmp(sub, "remove-device") == 0)
		return vm_device_verb(argc, argv, "RemoveDevice", "cannot remove the device");
	if (strcmp(sub, "create-mdev") == 0)
		return vm_create_mdev(argc, argv);
	if (strcmp(sub, "create-vgpu") == 0)
		return vm_create_vgpu(argc, argv);
	if (strcmp(sub, "release") == 0)
		return vm_release(argc, argv);
	if (strcmp(sub, "check-charge") == 0)
		return vm_check_charge(argc, argv);
	if (strcmp(sub, "attach-vmm") == 0)
		return vm_attach_vmm(argc, argv);
	if (strcmp(sub, "change-process") == 0)
		return vm_change_process(argc, argv);
	if (strcmp(sub, "secret") == 0)
		return vm_secret(argc, argv);
	if (strcmp(sub, "start") == 0)
		return vm_start(argc, argv);
	return usage_error("unknown command 'vm %s'; see 'vfioctl --help'", sub);
}
