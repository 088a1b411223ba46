/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The shared body of the argument-less list verbs (devices, mdev-parents, mdevs). */
#include "bus-client.h"
#include "list-verb.h"
#include "vfioctl.h"

int list_verb_run(const char *member, const char *what, const Column *columns, size_t n_columns)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(json_object_putp) json_object *rows = NULL;
	int r;

	if (bus_client_open(&bus) < 0)
		return VFIOCTL_EXIT_FAILURE;

	r = bus_client_fetch_records(bus, member, &error, NULL, &rows, NULL);
	if (r < 0)
		return bus_client_report_error(what, &error, r);

	if (output_rows(rows, columns, n_columns) < 0)
		return runtime_error("cannot write the output");

	return 0;
}
