/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfioctl mdev-parents, mdev-types [PARENT], mdevs: the mediated device inventory. */
#include "bus-client.h"
#include "list-verb.h"
#include "bus-errors.h"
#include "vfiod/inventory.h"
#include "output.h"
#include "vfioctl.h"

static const Column parent_columns[] = {
	{ "PARENT", "parent", COLUMN_TEXT },
	{ "BUS",    "bus",    COLUMN_TEXT },
	{ "DRIVER", "driver", COLUMN_TEXT },
	{ "TYPES",  "types",  COLUMN_LIST },
};

static const Column type_columns[] = {
	{ "PARENT",      "parent",              COLUMN_TEXT },
	{ "TYPE",        "type",                COLUMN_TEXT },
	{ "NAME",        "name",                COLUMN_TEXT },
	{ "API",         "device_api",          COLUMN_TEXT },
	{ "AVAILABLE",   "available_instances", COLUMN_TEXT },
	{ "DESCRIPTION", "description",         COLUMN_TEXT },
};

static const Column mdev_columns[] = {
	{ "UUID",   "uuid",        COLUMN_TEXT  },
	{ "PARENT", "parent",      COLUMN_TEXT  },
	{ "TYPE",   "type",        COLUMN_TEXT  },
	{ "DRIVER", "driver",      COLUMN_TEXT  },
	{ "GROUP",  "iommu_group", COLUMN_GROUP },
};

int verb_mdev_parents(int argc, char *argv[])
{
	return list_verb_run("ListMdevParents", "cannot list mdev parents",
			     parent_columns, ELEMENTSOF(parent_columns));
}

int verb_mdev_types(int argc, char *argv[])
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(json_object_putp) json_object *rows = NULL;
	const char *parent = argc > 1 ? argv[1] : "";
	int r;

	/* "" means every parent on the bus; on the command line, leave PARENT out */
	if (argc > 1 && !vfd_device_name_is_valid(parent))
		return usage_error("invalid PARENT '%s': expected a device name such as "
				   "0000:00:02.0 or mtty (no '/', no whitespace)", parent);

	if (bus_client_open(&bus) < 0)
		return VFIOCTL_EXIT_FAILURE;

	r = bus_client_fetch_records(bus, "ListMdevTypes", &error, NULL, &rows, "s", parent);
	if (sd_bus_error_has_name(&error, VFD_ERROR_NO_SUCH_PARENT))
		return runtime_error("no mdev parent %s", parent);
	if (r < 0)
		return bus_client_report_error("cannot list mdev types", &error, r);

	if (output_rows(rows, type_columns, ELEMENTSOF(type_columns)) < 0)
		return runtime_error("cannot write the output");

	return 0;
}

int verb_mdevs(int argc, char *argv[])
{
	return list_verb_run("ListMdevs", "cannot list mdevs",
			     mdev_columns, ELEMENTSOF(mdev_columns));
}
