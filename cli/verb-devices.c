/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfioctl devices: every PCI function with its driver and IOMMU group. */
#include "bus-client.h"
#include "output.h"
#include "vfioctl.h"

static const Column device_columns[] = {
	{ "ADDRESS", "address",     COLUMN_TEXT  },
	{ "VENDOR",  "vendor_id",   COLUMN_HEX16 },
	{ "DEVICE",  "device_id",   COLUMN_HEX16 },
	{ "CLASS",   "class",       COLUMN_HEX24 },
	{ "DRIVER",  "driver",      COLUMN_TEXT  },
	{ "GROUP",   "iommu_group", COLUMN_GROUP },
};

int verb_devices(int argc, char *argv[])
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(json_object_putp) json_object *rows = NULL;
	int r;

	if (bus_client_open(&bus) < 0)
		return VFIOCTL_EXIT_FAILURE;

	r = bus_client_fetch_records(bus, "ListDevices", &error, NULL, &rows, NULL);
	if (r < 0)
		return bus_client_report_error("cannot list PCI devices", &error, r);

	if (output_rows(rows, device_columns, ELEMENTSOF(device_columns)) < 0)
		return runtime_error("cannot write the output");

	return 0;
}
