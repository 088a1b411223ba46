/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfioctl devices: every PCI function with its driver and IOMMU group. */
#include "bus-client.h"
#include "list-verb.h"
#include "output.h"
#include "vfioctl.h"

static const Column device_columns[] = {
	{ "ADDRESS", "address",     COLUMN_TEXT  },
	{ "VENDOR",  "vendor_id",   COLUMN_HEX16 },
	{ "DEVICE",  "device_id",   COLUMN_HEX16 },
	{ "CLASS",   "class",       COLUMN_HEX24 },
	{ "DRIVER",  "driver",      COLUMN_TEXT  },
	{ "GROUP",   "iommu_group", COLUMN_GROUP },
	{ "NAME",    "vendor_name", COLUMN_PCI_NAME },
};

int verb_devices(int argc, char *argv[])
{
	return list_verb_run("ListDevices", "cannot list PCI devices",
			     device_columns, ELEMENTSOF(device_columns));
}
