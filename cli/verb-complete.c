/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfioctl __complete KIND [ARG]: the names the shell completion offers
 * (shell-completion/bash/vfioctl), one per line, from vfiod's inventory.
 * Hidden: not in --help, and meant for the completion script only.
 *
 * It never prints anything but names: completion runs while the user
 * types, so a stopped vfiod, a bus that cannot be reached or an unknown
 * KIND ends it with a non-zero status and nothing on stdout or stderr.
 *
 *   devices          PCI addresses (ListDevices)
 *   groups           IOMMU group numbers (ListGroups)
 *   mdev-parents     mdev parent device names (ListMdevParents)
 *   mdev-types [PARENT]  mdev type ids, of PARENT or of every parent
 *   mdevs            mdev UUIDs (ListMdevs)
 *   vms              VM names (ListVMs)
 *   vm-devices NAME  the devices VM NAME holds (its Devices property)
 */
#include <stdio.h>
#include <string.h>

#include "bus-call.h"
#include "bus-json.h"
#include "vfd-bus.h"
#include "vfiod/inventory.h"
#include "vfioctl.h"

typedef struct CompleteKind {
	const char *kind;
	const char *member; /* a Manager method answering aa{sv} */
	const char *field;  /* the record key printed */
	bool takes_arg;     /* passed to member as its one "s" argument */
} CompleteKind;

static const CompleteKind kinds[] = {
	{ "devices",      "ListDevices",     "address" },
	{ "groups",       "ListGroups",      "group"   },
	{ "mdev-parents", "ListMdevParents", "parent"  },
	{ "mdev-types",   "ListMdevTypes",   "type",   true },
	{ "mdevs",        "ListMdevs",       "uuid"    },
	{ "vms",          "ListVMs",         "name"    },
};

/* the field of every record of rows (a JSON array), one per line */
static int print_field(json_object *rows, const char *field)
{
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		json_object *v;

		if (json_object_object_get_ex(json_object_array_get_idx(rows, i), field, &v))
			printf("%s\n", json_object_get_string(v));
	}
	return fflush(stdout) == 0 ? 0 : VFIOCTL_EXIT_FAILURE;
}

static int complete_records(sd_bus *bus, const CompleteKind *k, const char *arg)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(json_object_putp) json_object *rows = NULL;
	int r;

	if (k->takes_arg)
		r = bus_call_object(bus, VFD_BUS_PATH, VFD_BUS_INTERFACE, k->member, &error, &reply,
				    "s", arg ? arg : "");
	else
		r = bus_call_object(bus, VFD_BUS_PATH, VFD_BUS_INTERFACE, k->member, &error, &reply, NULL);
	if (r < 0 || bus_json_read_records(reply, NULL, &rows) < 0)
		return VFIOCTL_EXIT_FAILURE;
	return print_field(rows, k->field);
}

/* the names of the devices VM name holds: GetVM, then its Devices (a(ssib), name first) */
static int complete_vm_devices(sd_bus *bus, const char *name)
{
	static const char *const device_fields[] = { "name", "bus", "iommu_group", "created", NULL };
	static const BusJsonStruct structs[] = { { "Devices", device_fields }, {} };
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL, *props = NULL;
	_cleanup_(json_object_putp) json_object *o = NULL;
	json_object *devices;
	const char *path;

	if (!vfd_vm_name_is_valid(name))
		return VFIOCTL_EXIT_FAILURE;
	if (bus_call_object(bus, VFD_BUS_PATH, VFD_BUS_INTERFACE, "GetVM", &error, &reply, "s", name) < 0 ||
	    sd_bus_message_read(reply, "o", &path) < 0)
		return VFIOCTL_EXIT_FAILURE;
	if (bus_call_object(bus, path, "org.freedesktop.DBus.Properties", "GetAll", &error, &props,
			    "s", VFD_VM_INTERFACE) < 0 ||
	    bus_json_read_record(props, structs, &o) < 0 ||
	    !json_object_object_get_ex(o, "Devices", &devices))
		return VFIOCTL_EXIT_FAILURE;
	return print_field(devices, "name");
}

int verb_complete(int argc, char *argv[])
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	const char *kind = argv[1], *arg = argc > 2 ? argv[2] : NULL;
	const CompleteKind *k = NULL;

	for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
		if (strcmp(kinds[i].kind, kind) == 0)
			k = &kinds[i];
	if (!k && strcmp(kind, "vm-devices") != 0)
		return VFIOCTL_EXIT_USAGE;
	if ((k && !k->takes_arg && arg) || (!k && !arg))
		return VFIOCTL_EXIT_USAGE;

	if (bus_call_connect(arg_bus_address, &bus) < 0)
		return VFIOCTL_EXIT_FAILURE;
	return k ? complete_records(bus, k, arg) : complete_vm_devices(bus, arg);
}
