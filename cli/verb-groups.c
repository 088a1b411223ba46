/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfioctl groups: every IOMMU group, whether VFIO can use it, and why (not). */
#include <errno.h>
#include <string.h>

#include "bus-client.h"
#include "output.h"
#include "vfioctl.h"

/* the fields of a group record's members, a(sssbsbs), in the documented order */
static const char *const member_fields[] = {
	"name", "bus", "driver", "is_bridge", "state", "viable", "reason", NULL
};

/* the fields of a group record's member_names, a(sss) */
static const char *const member_name_fields[] = {
	"name", "vendor_name", "device_name", NULL
};

const BusJsonStruct group_record_structs[] = {
	{ "members", member_fields },
	{ "member_names", member_name_fields },
	{}
};

const Column group_member_columns[] = {
	{ "DEVICE", "name",   COLUMN_TEXT    },
	{ "NAME",   "vendor_name", COLUMN_PCI_NAME },
	{ "BUS",    "bus",    COLUMN_TEXT    },
	{ "DRIVER", "driver", COLUMN_TEXT    },
	{ "STATE",  "state",  COLUMN_TEXT    },
	{ "VIABLE", "viable", COLUMN_YES_NO  },
	{ "REASON", "reason", COLUMN_TEXT    },
};
const size_t group_member_columns_n = ELEMENTSOF(group_member_columns);

static const Column group_table_columns[] = {
	{ "GROUP",        "group",        COLUMN_TEXT   },
	{ "VIABLE",       "group_viable", COLUMN_YES_NO },
	{ "DEVICE",       "name",         COLUMN_TEXT   },
	{ "NAME",         "vendor_name",  COLUMN_PCI_NAME },
	{ "DRIVER",       "driver",       COLUMN_TEXT   },
	{ "STATE",        "state",        COLUMN_TEXT   },
	{ "REASON",       "reason",       COLUMN_TEXT   },
};

/*
 * For the tables: copies each member's names from the group's member_names
 * (kept apart on the bus, the member tuple being fixed) into the member.
 */
int group_add_member_names(json_object *group)
{
	json_object *members = NULL, *names = NULL;

	if (!json_object_object_get_ex(group, "members", &members) ||
	    !json_object_object_get_ex(group, "member_names", &names))
		return 0;

	for (size_t i = 0; i < json_object_array_length(names); i++) {
		json_object *entry = json_object_array_get_idx(names, i);
		json_object *name = NULL;

		if (!json_object_object_get_ex(entry, "name", &name))
			continue;

		for (size_t j = 0; j < json_object_array_length(members); j++) {
			json_object *member = json_object_array_get_idx(members, j);
			json_object *member_name = NULL;

			if (!json_object_object_get_ex(member, "name", &member_name) ||
			    strcmp(json_object_get_string(member_name), json_object_get_string(name)) != 0)
				continue;

			json_object_object_foreach(entry, field, value) {
				if (strcmp(field, "name") == 0)
					continue;
				if (bus_json_object_add(member, field, json_object_get(value)) < 0)
					return -ENOMEM;
			}
		}
	}
	return 0;
}

/*
 * The table shows one line per member, its group's number and viability
 * in front: a view of the same rows, flattened, with shared values.
 */
static int flatten_members(json_object *groups, json_object **ret)
{
	_cleanup_(json_object_putp) json_object *lines = NULL;

	lines = json_object_new_array();
	if (!lines)
		return -ENOMEM;

	for (size_t i = 0; i < json_object_array_length(groups); i++) {
		json_object *g = json_object_array_get_idx(groups, i);
		json_object *group = NULL, *viable = NULL, *members = NULL;

		if (group_add_member_names(g) < 0)
			return -ENOMEM;
		json_object_object_get_ex(g, "group", &group);
		json_object_object_get_ex(g, "viable", &viable);
		if (!json_object_object_get_ex(g, "members", &members))
			continue;

		for (size_t j = 0; j < json_object_array_length(members); j++) {
			json_object *member = json_object_array_get_idx(members, j);
			_cleanup_(json_object_putp) json_object *line = NULL;

			line = json_object_new_object();
			if (!line)
				return -ENOMEM;

			if (bus_json_object_add(line, "group", json_object_get(group)) < 0 ||
			    bus_json_object_add(line, "group_viable", json_object_get(viable)) < 0)
				return -ENOMEM;
			json_object_object_foreach(member, field, field_value)
				if (bus_json_object_add(line, field, json_object_get(field_value)) < 0)
					return -ENOMEM;

			if (json_object_array_add(lines, TAKE_PTR(line)) < 0)
				return -ENOMEM;
		}
	}

	*ret = TAKE_PTR(lines);
	return 0;
}

int verb_groups(int argc, char *argv[])
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(json_object_putp) json_object *rows = NULL, *lines = NULL;
	int r;

	if (bus_client_open(&bus) < 0)
		return VFIOCTL_EXIT_FAILURE;

	r = bus_client_fetch_records(bus, "ListGroups", &error, group_record_structs, &rows, NULL);
	if (r < 0)
		return bus_client_report_error("cannot list IOMMU groups", &error, r);

	if (arg_json)
		r = output_json(rows);
	else {
		r = flatten_members(rows, &lines);
		if (r < 0)
			return runtime_error("out of memory");
		r = output_table(lines, group_table_columns, ELEMENTSOF(group_table_columns));
	}
	if (r < 0)
		return runtime_error("cannot write the output");

	return 0;
}
