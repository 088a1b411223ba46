/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfioctl host: what this kernel offers for VFIO, as vfiod probed it
 * (the Manager's feature properties, docs/org.vfiod1.Manager.xml), and
 * whether the vfiod_mm helper is loaded. One FEATURE VALUE row each; with
 * --json one object, snake_case keys.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bus-client.h"
#include "vfd-bus.h"
#include "vfioctl.h"

typedef struct HostFeature {
	const char *property; /* on org.vfiod1.Manager */
	const char *key;      /* the row's FEATURE and the JSON key */
	char type;            /* 'b', 's' or 't' */
} HostFeature;

static const HostFeature features[] = {
	{ "Iommufd",            "iommufd",               'b' },
	{ "VfioCdev",           "vfio_cdev",             'b' },
	{ "IommufdRlimitMode",  "iommufd_rlimit_mode",   'b' },
	{ "IoasMapFile",        "ioas_map_file",         'b' },
	{ "IoasChangeProcess",  "ioas_change_process",   'b' },
	{ "Viommu",             "viommu",                'b' },
	{ "Type1",              "type1",                 'b' },
	{ "Type1DmaEntryLimit", "type1_dma_entry_limit", 't' },
	{ "Noiommu",            "noiommu",               's' },
	{ "MmHelper",           "mm_helper",             's' },
	{ "DefaultBackend",     "default_backend",       's' },
};

static const Column host_columns[] = {
	{ "FEATURE", "feature", COLUMN_TEXT },
	{ "VALUE",   "value",   COLUMN_TEXT },
};

static int read_feature(sd_bus *bus, const HostFeature *f, sd_bus_error *error, json_object **ret)
{
	_cleanup_free_ char *s = NULL;
	uint64_t t;
	int b, r;

	switch (f->type) {
	case 'b':
		r = sd_bus_get_property_trivial(bus, VFD_BUS_NAME, VFD_BUS_PATH, VFD_BUS_INTERFACE,
						f->property, error, 'b', &b);
		*ret = r < 0 ? NULL : json_object_new_boolean(b);
		break;
	case 't':
		r = sd_bus_get_property_trivial(bus, VFD_BUS_NAME, VFD_BUS_PATH, VFD_BUS_INTERFACE,
						f->property, error, 't', &t);
		*ret = r < 0 ? NULL : json_object_new_uint64(t);
		break;
	default:
		r = sd_bus_get_property_string(bus, VFD_BUS_NAME, VFD_BUS_PATH, VFD_BUS_INTERFACE,
					       f->property, error, &s);
		*ret = r < 0 ? NULL : json_object_new_string(s);
		break;
	}
	if (r < 0)
		return r;
	return *ret ? 0 : -ENOMEM;
}

int verb_kernel_host(int argc, char *argv[])
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(json_object_putp) json_object *object = json_object_new_object();
	_cleanup_(json_object_putp) json_object *rows = json_object_new_array();

	if (!object || !rows)
		return runtime_error("out of memory");
	if (bus_client_open(&bus) < 0)
		return VFIOCTL_EXIT_FAILURE;

	for (size_t i = 0; i < ELEMENTSOF(features); i++) {
		_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
		json_object *value, *row;
		int r;

		r = read_feature(bus, &features[i], &error, &value);
		if (r < 0) {
			if (bus_call_error_is_not_running(&error))
				return VFIOCTL_EXIT_FAILURE;
			return bus_client_report_error("cannot read what the kernel offers", &error, r);
		}
		row = json_object_new_object();
		if (!row || json_object_object_add(row, "feature", json_object_new_string(features[i].key)) < 0 ||
		    json_object_object_add(row, "value", json_object_new_string(json_object_to_json_string(value))) < 0 ||
		    json_object_array_add(rows, row) < 0 ||
		    json_object_object_add(object, features[i].key, value) < 0)
			return runtime_error("out of memory");
	}
	if (arg_json)
		return output_json(object) < 0 ? runtime_error("cannot write the output") : 0;
	return output_table(rows, host_columns, ELEMENTSOF(host_columns)) < 0 ?
		runtime_error("cannot write the output") : 0;
}
