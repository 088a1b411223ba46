/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfioctl bind ADDRESS [--driver NAME], unbind ADDRESS: ad-hoc binding to
 * vfio-pci or a VFIO variant driver outside any VM; vfioctl mdev create|remove: mediated devices.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bus-client.h"
#include "output.h"
#include "bus-errors.h"
#include "vfd-bus.h"
#include "verb-host.h"
#include "vfiod/inventory.h"
#include "vfioctl.h"

static const Column member_columns[] = {
	{ "NAME",      "name",            COLUMN_TEXT   },
	{ "GROUP",     "group",           COLUMN_TEXT   },
	{ "REQUESTED", "requested",       COLUMN_YES_NO },
	{ "CHANGED",   "changed",         COLUMN_YES_NO },
	{ "ORIGINAL",  "original_driver", COLUMN_TEXT   },
	{ "VFIO",      "vfio_driver",     COLUMN_TEXT   },
};

int host_report_error(const char *what, const sd_bus_error *error, int r)
{
	if (bus_call_error_is_not_running(error))
		return VFIOCTL_EXIT_FAILURE;
	/* the stable name lets scripts tell refusals apart */
	if (sd_bus_error_is_set(error)) {
		const char *msg = error->message ? error->message : "";

		/* vfiod's messages already say what failed ("Cannot add the device: ...") */
		if (strncasecmp(msg, what, strlen(what)) == 0)
			return runtime_error("%s (%s)", msg, error->name);
		return runtime_error("%s: %s (%s)", what, msg, error->name);
	}
	errno = r < 0 ? -r : r;
	return runtime_error("%s: %m", what);
}

static int print_members(sd_bus_message *reply)
{
	_cleanup_(json_object_putp) json_object *rows = NULL;

	if (bus_json_read_records(reply, NULL, &rows) < 0)
		return runtime_error("cannot parse the reply");
	if (output_rows(rows, member_columns, ELEMENTSOF(member_columns)) < 0)
		return runtime_error("cannot write the output");
	return 0;
}

int verb_bind(int argc, char *argv[])
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
	vfd_pci_address addr;
	const char *address = NULL, *driver = NULL;
	bool unbind_host = false;
	int r;

	argc = output_take_json_option(argc, argv);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--unbind-host-members") == 0)
			unbind_host = true;
		else if (strcmp(argv[i], "--driver") == 0) {
			if (i + 1 >= argc)
				return usage_error("option '--driver' needs a driver name");
			driver = argv[++i];
		} else if (argv[i][0] == '-')
			return usage_error("unknown option '%s' for 'bind'", argv[i]);
		else if (address)
			return usage_error("'bind' takes one ADDRESS, got extra argument '%s'", argv[i]);
		else
			address = argv[i];
	}
	if (!address)
		return usage_error("'bind' needs ADDRESS");
	if (vfd_pci_address_parse(address, &addr) < 0)
		return usage_error("invalid ADDRESS '%s': expected DDDD:BB:SS.F in hexadecimal", address);

	if (bus_client_open(&bus) < 0)
		return VFIOCTL_EXIT_FAILURE;

	r = bus_call_new(bus, VFD_BUS_PATH, VFD_BUS_INTERFACE, "Bind", &call);
	if (r >= 0)
		r = sd_bus_message_append(call, "s", address);
	if (r >= 0)
		r = sd_bus_message_open_container(call, SD_BUS_TYPE_ARRAY, "{sv}");
	if (r >= 0 && unbind_host)
		r = sd_bus_message_append(call, "{sv}", "unbind_host_members", "b", 1);
	if (r >= 0 && driver)
		r = sd_bus_message_append(call, "{sv}", "driver", "s", driver);
	if (r >= 0)
		r = sd_bus_message_close_container(call);
	if (r < 0)
		return runtime_error("cannot build the Bind call: %s", strerror(-r));

	r = sd_bus_call(bus, call, 0, &error, &reply);
	if (r < 0) {
		if (bus_call_error_is_not_running(&error))
			return runtime_error("vfiod is not running");
		return host_report_error("cannot bind", &error, r);
	}
	return print_members(reply);
}

int verb_unbind(int argc, char *argv[])
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	vfd_pci_address addr;
	int r;

	argc = output_take_json_option(argc, argv);
	if (argc != 2)
		return usage_error("'unbind' needs ADDRESS");
	if (vfd_pci_address_parse(argv[1], &addr) < 0)
		return usage_error("invalid ADDRESS '%s': expected DDDD:BB:SS.F in hexadecimal", argv[1]);

	if (bus_client_open(&bus) < 0)
		return VFIOCTL_EXIT_FAILURE;
	r = bus_client_call(bus, "Unbind", &error, &reply, "s", argv[1]);
	if (r < 0)
		return host_report_error("cannot unbind", &error, r);
	return print_members(reply);
}

/* ---- mdev create|remove ---- */

int mdev_args_parse(int argc, char *argv[], unsigned n_leading, MdevArgs *a)
{
	size_t n_pos = 0;

	*a = (MdevArgs) { .uuid = "" };
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--uuid") == 0 || strcmp(argv[i], "--attr") == 0) {
			if (i + 1 >= argc)
				return usage_error("option '%s' needs an argument", argv[i]);
			if (strcmp(argv[i], "--uuid") == 0) {
				if (vfd_uuid_validate(argv[i + 1]) < 0)
					return usage_error("invalid --uuid '%s': expected 8-4-4-4-12 hex digits",
							   argv[i + 1]);
				a->uuid = argv[i + 1];
			} else {
				const char *eq = strchr(argv[i + 1], '=');
				size_t len;

				if (!eq || eq == argv[i + 1])
					return usage_error("invalid --attr '%s': expected NAME=VALUE", argv[i + 1]);
				if (a->n_attrs == MDEV_ATTRS_MAX)
					return usage_error("too many --attr options (at most %d)", MDEV_ATTRS_MAX);
				len = (size_t) (eq - argv[i + 1]);
				if (len >= sizeof(a->storage[0]))
					return usage_error("--attr name too long: '%s'", argv[i + 1]);
				memcpy(a->storage[a->n_attrs], argv[i + 1], len);
				a->storage[a->n_attrs][len] = '\0';
				a->attr_names[a->n_attrs] = a->storage[a->n_attrs];
				a->attr_values[a->n_attrs] = eq + 1;
				a->n_attrs++;
			}
			i++;
		} else if (argv[i][0] == '-')
			return usage_error("unknown option '%s' for '%s'", argv[i], argv[0]);
		else if (n_pos == n_leading + 2)
			return usage_error("'%s' takes %s PARENT TYPE, got extra argument '%s'", argv[0],
					   n_leading ? "NAME" : "", argv[i]);
		else
			a->positional[n_pos++] = argv[i];
	}
	if (n_pos != n_leading + 2)
		return usage_error("'%s' needs %sPARENT TYPE", argv[0], n_leading ? "NAME " : "");
	if (!vfd_device_name_is_valid(a->positional[n_leading]))
		return usage_error("invalid PARENT '%s': expected a device name", a->positional[n_leading]);
	if (!vfd_device_name_is_valid(a->positional[n_leading + 1]))
		return usage_error("invalid TYPE '%s': expected a type id such as mtty-2",
				   a->positional[n_leading + 1]);
	a->first = n_leading;
	return 0;
}

int mdev_args_append(sd_bus_message *call, const MdevArgs *a)
{
	unsigned first = a->first;
	int r;

	r = sd_bus_message_append(call, "sss", a->positional[first], a->positional[first + 1], a->uuid);
	if (r < 0)
		return r;
	r = sd_bus_message_open_container(call, SD_BUS_TYPE_ARRAY, "(ss)");
	for (size_t i = 0; r >= 0 && i < a->n_attrs; i++)
		r = sd_bus_message_append(call, "(ss)", a->attr_names[i], a->attr_values[i]);
	if (r >= 0)
		r = sd_bus_message_close_container(call);
	return r;
}

int mdev_call_and_print(sd_bus *bus, sd_bus_message *call, const char *what)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *uuid;
	int r;

	r = sd_bus_call(bus, call, 0, &error, &reply);
	if (r < 0) {
		if (bus_call_error_is_not_running(&error))
			return runtime_error("vfiod is not running");
		return host_report_error(what, &error, r);
	}
	r = sd_bus_message_read(reply, "s", &uuid);
	if (r < 0)
		return runtime_error("cannot parse the reply");

	if (arg_json) {
		_cleanup_(json_object_putp) json_object *o = json_object_new_object();

		if (!o || json_object_object_add(o, "uuid", json_object_new_string(uuid)) < 0)
			return runtime_error("out of memory");
		return output_json(o) < 0 ? runtime_error("cannot write the output") : 0;
	}
	printf("%s\n", uuid);
	return 0;
}

int verb_mdev(int argc, char *argv[])
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
	MdevArgs a;
	int r;

	argc = output_take_json_option(argc, argv);
	if (argc < 2)
		return usage_error("'mdev' needs a command: create or remove");

	if (strcmp(argv[1], "create") == 0) {
		r = mdev_args_parse(argc - 1, argv + 1, 0, &a);
		if (r != 0)
			return r;
		if (bus_client_open(&bus) < 0)
			return VFIOCTL_EXIT_FAILURE;
		r = bus_call_new(bus, VFD_BUS_PATH, VFD_BUS_INTERFACE, "CreateMdev", &call);
		if (r >= 0)
			r = mdev_args_append(call, &a);
		if (r < 0)
			return runtime_error("cannot build the CreateMdev call: %s", strerror(-r));
		return mdev_call_and_print(bus, call, "cannot create the mdev");
	}

	if (strcmp(argv[1], "remove") == 0) {
		if (argc != 3)
			return usage_error("'mdev remove' needs UUID");
		if (vfd_uuid_validate(argv[2]) < 0)
			return usage_error("invalid UUID '%s': expected 8-4-4-4-12 hex digits", argv[2]);
		if (bus_client_open(&bus) < 0)
			return VFIOCTL_EXIT_FAILURE;
		r = bus_client_call(bus, "RemoveMdev", &error, NULL, "s", argv[2]);
		if (r < 0)
			return host_report_error("cannot remove the mdev", &error, r);
		return 0;
	}

	return usage_error("unknown command 'mdev %s'; see 'vfioctl --help'", argv[1]);
}
