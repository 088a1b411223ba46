/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfioctl config apply|status: the persistent configuration
 * (/etc/vfiod/vfiod.json, /etc/mdevctl.d, /etc/driverctl.d) as vfiod
 * applied it, one row per item. apply re-reads the files and applies
 * what is not applied yet; it exits 1 when an item failed. A binding whose
 * device was moved to another driver after it was applied shows the state
 * "drift" and the driver it is on (DRIVER).
 */
#include <errno.h>
#include <string.h>

#include "bus-client.h"
#include "vfioctl.h"

static const Column item_columns[] = {
	{ "KIND",     "kind",     COLUMN_TEXT },
	{ "NAME",     "name",     COLUMN_TEXT },
	{ "SOURCE",   "source",   COLUMN_TEXT },
	{ "STATE",    "state",    COLUMN_TEXT },
	{ "ATTEMPTS", "attempts", COLUMN_TEXT },
	{ "DRIVER",   "current_driver", COLUMN_TEXT }, /* bindings: where the device is now */
	{ "MESSAGE",  "message",  COLUMN_TEXT },
};

static bool any_failed(json_object *rows)
{
	size_t n = json_object_array_length(rows);

	for (size_t i = 0; i < n; i++) {
		json_object *state;

		if (json_object_object_get_ex(json_object_array_get_idx(rows, i), "state", &state) &&
		    strcmp(json_object_get_string(state), "failed") == 0)
			return true;
	}
	return false;
}

int verb_config(int argc, char *argv[])
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(json_object_putp) json_object *rows = NULL;
	const char *sub = NULL, *member;
	int r;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			arg_json = true;
		else if (argv[i][0] == '-')
			return usage_error("unknown option '%s' for 'config'", argv[i]);
		else if (sub)
			return usage_error("'config' takes one command, got extra argument '%s'", argv[i]);
		else
			sub = argv[i];
	}
	if (!sub)
		return usage_error("'config' needs a command: apply or status");
	if (strcmp(sub, "apply") == 0)
		member = "ApplyConfig";
	else if (strcmp(sub, "status") == 0)
		member = "GetConfigStatus";
	else
		return usage_error("unknown 'config' command '%s' (known: apply, status)", sub);

	if (bus_client_open(&bus) < 0)
		return VFIOCTL_EXIT_FAILURE;

	r = bus_client_fetch_records(bus, member, &error, NULL, &rows, NULL);
	if (r < 0) {
		if (bus_call_error_is_not_running(&error))
			return VFIOCTL_EXIT_FAILURE;
		return bus_client_report_error(strcmp(sub, "apply") == 0 ? "cannot apply the configuration" :
					       "cannot read the configuration status", &error, r);
	}

	if (output_rows(rows, item_columns, ELEMENTSOF(item_columns)) < 0)
		return runtime_error("cannot write the output");
	/* scripts (and units ordered after vfiod) can tell a partial apply */
	return strcmp(sub, "apply") == 0 && any_failed(rows) ? VFIOCTL_EXIT_FAILURE : 0;
}
