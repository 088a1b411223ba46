/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfioctl show DEVICE: one PCI function, and the IOMMU group it must be assigned with. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bus-client.h"
#include "bus-errors.h"
#include "output.h"
#include "vfioctl.h"
#include "vfiod/inventory.h"

/* label, key, format: the same cells the tables use; absent keys are skipped */
static const Column device_fields[] = {
	{ "Address",          "address",             COLUMN_TEXT  },
	{ "Vendor",           "vendor_id",           COLUMN_HEX16 },
	{ "Device",           "device_id",           COLUMN_HEX16 },
	{ "Vendor name",      "vendor_name",         COLUMN_TEXT  },
	{ "Device name",      "device_name",         COLUMN_TEXT  },
	{ "Subsystem vendor", "subsystem_vendor_id", COLUMN_HEX16 },
	{ "Subsystem device", "subsystem_device_id", COLUMN_HEX16 },
	{ "Class",            "class",               COLUMN_HEX24 },
	{ "Driver",           "driver",              COLUMN_TEXT  },
	{ "Driver override",  "driver_override",     COLUMN_TEXT  },
	{ "NUMA node",        "numa_node",           COLUMN_GROUP },
	{ "Reset methods",    "reset_method",        COLUMN_TEXT  },
	{ "IOMMU group",      "iommu_group",         COLUMN_GROUP },
	{ "Bridge",           "is_bridge",           COLUMN_YES_NO },
	{ "VFIO driver",      "vfio_driver",         COLUMN_TEXT  },
	{ "VFIO driver from", "vfio_driver_source",  COLUMN_TEXT  },
	{ "Quarantined",      "quarantined",         COLUMN_YES_NO },
	{ "Quarantine reason", "quarantine_reason",  COLUMN_TEXT  },
	{ "Quarantine VM",    "quarantine_vm",       COLUMN_TEXT  },
	{ "SR-IOV total VFs", "sriov_totalvfs",      COLUMN_TEXT  },
	{ "SR-IOV VFs",       "sriov_numvfs",        COLUMN_TEXT  },
	{ "VF autoprobe",     "sriov_drivers_autoprobe", COLUMN_YES_NO },
	{ "VF addresses",     "virtfns",             COLUMN_LIST  },
	{ "Physical function", "physfn",             COLUMN_TEXT  },
	{ "vGPU type",        "vgpu_type",           COLUMN_TEXT  },
};

/* the vendor vGPU tuples (docs/org.vfiod1.Manager.xml, GetDevice) */
static const char *const vgpu_creatable_fields[] = { "id", "name", NULL };
static const char *const vgpu_types_fields[] = { "id", "name", "free", NULL };
static const BusJsonStruct device_record_structs[] = {
	{ "vgpu_creatable", vgpu_creatable_fields },
	{ "vgpu_types", vgpu_types_fields },
	{}
};

/* "  ID NAME [free N]" per row of a vGPU tuple array */
static void print_vgpu_rows(json_object *device, const char *key, const char *label)
{
	json_object *rows, *row, *v;

	if (!json_object_object_get_ex(device, key, &rows))
		return;
	printf("%17s:%s\n", label, json_object_array_length(rows) ? "" : " none");
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		row = json_object_array_get_idx(rows, i);
		printf("%19s", "");
		if (json_object_object_get_ex(row, "id", &v))
			printf("%-6s", json_object_get_string(v));
		if (json_object_object_get_ex(row, "name", &v))
			printf(" %s", json_object_get_string(v));
		if (json_object_object_get_ex(row, "free", &v))
			printf(" (%s free)", json_object_get_string(v));
		printf("\n");
	}
}

/* driver and driver override are shown as "-" when absent; the SR-IOV keys only when present */
static bool always_shown(const char *key)
{
	return strcmp(key, "driver") == 0 || strcmp(key, "driver_override") == 0;
}

static void print_device(json_object *device)
{
	char buf[512];

	for (size_t i = 0; i < ELEMENTSOF(device_fields); i++) {
		const Column *c = &device_fields[i];

		if (!json_object_object_get_ex(device, c->key, NULL) && !always_shown(c->key))
			continue;

		printf("%17s: %s\n", c->header, output_format_cell(device, c, buf, sizeof(buf)));
	}
	print_vgpu_rows(device, "vgpu_creatable", "vGPU creatable");
	print_vgpu_rows(device, "vgpu_types", "vGPU types");
}

static int print_group(json_object *group)
{
	json_object *id = NULL, *viable = NULL, *members = NULL;

	json_object_object_get_ex(group, "group", &id);
	json_object_object_get_ex(group, "viable", &viable);
	json_object_object_get_ex(group, "members", &members);

	printf("\nIOMMU group %s: %s\n", json_object_get_string(id),
	       json_object_get_boolean(viable) ? "viable (every member can be used by VFIO)"
					       : "not viable (see the reasons below)");

	if (!members)
		return 0;
	if (group_add_member_names(group) < 0)
		return -ENOMEM;

	return output_table(members, group_member_columns, group_member_columns_n);
}

int verb_show(int argc, char *argv[])
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(json_object_putp) json_object *device = NULL, *group = NULL, *both = NULL;
	char canonical[VFD_PCI_ADDRESS_STRLEN];
	vfd_pci_address addr;
	json_object *gid;
	int r;

	if (vfd_pci_address_parse(argv[1], &addr) < 0)
		return usage_error("invalid DEVICE '%s': expected a PCI address DDDD:BB:SS.F "
				   "in hexadecimal, e.g. 0000:00:02.0", argv[1]);
	vfd_pci_address_format(&addr, canonical);

	if (bus_client_open(&bus) < 0)
		return VFIOCTL_EXIT_FAILURE;

	r = bus_client_fetch_record(bus, "GetDevice", &error, device_record_structs, &device, "s",
				    canonical);
	if (sd_bus_error_has_name(&error, VFD_ERROR_NO_SUCH_DEVICE))
		return runtime_error("no PCI device %s", canonical);
	if (r < 0)
		return bus_client_report_error("cannot read the PCI device", &error, r);

	/* a function without a group has nothing to show there */
	if (json_object_object_get_ex(device, "iommu_group", &gid) && json_object_get_int64(gid) >= 0) {
		r = bus_client_fetch_record(bus, "GetGroup", &error, group_record_structs, &group,
					    "u", (uint32_t) json_object_get_int64(gid));
		/* the group can vanish between the two calls; the device alone is still an answer */
		if (r < 0 && !sd_bus_error_has_name(&error, VFD_ERROR_NO_SUCH_GROUP))
			return bus_client_report_error("cannot read the IOMMU group", &error, r);
	}

	if (arg_json) {
		both = json_object_new_object();
		if (!both)
			return runtime_error("out of memory");
		json_object_object_add(both, "device", TAKE_PTR(device));
		if (group)
			json_object_object_add(both, "group", TAKE_PTR(group));
		r = output_json(both);
	} else {
		print_device(device);
		r = group ? print_group(group) : 0;
	}
	if (r < 0)
		return runtime_error("cannot write the output");

	return 0;
}
