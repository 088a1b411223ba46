/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfioctl quarantine list|clear DEVICE: the PCI functions whose reset
 * between two VMs failed or did not take (docs/reset.md). vfiod hands a
 * quarantined function to no VM until clear, which an administrator (root
 * or polkit org.vfiod1.clear-quarantine) runs once the device is known good.
 */
#include <errno.h>
#include <string.h>

#include "bus-client.h"
#include "verb-host.h"
#include "vfioctl.h"
#include "vfiod/inventory.h"

static const Column quarantine_columns[] = {
	{ "DEVICE", "device", COLUMN_TEXT },
	{ "VM",     "vm",     COLUMN_TEXT },
	{ "REASON", "reason", COLUMN_TEXT },
};

static int quarantine_list(void)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(json_object_putp) json_object *rows = NULL;
	int r;

	if (bus_client_open(&bus) < 0)
		return VFIOCTL_EXIT_FAILURE;
	r = bus_client_fetch_records(bus, "ListQuarantine", &error, NULL, &rows, NULL);
	if (r < 0) {
		if (bus_call_error_is_not_running(&error))
			return VFIOCTL_EXIT_FAILURE;
		return bus_client_report_error("cannot list the quarantine", &error, r);
	}
	if (output_rows(rows, quarantine_columns, ELEMENTSOF(quarantine_columns)) < 0)
		return runtime_error("cannot write the output");
	return 0;
}

static int quarantine_clear(const char *device)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	vfd_pci_address addr;
	int r;

	if (vfd_pci_address_parse(device, &addr) < 0)
		return usage_error("invalid DEVICE '%s': expected DDDD:BB:SS.F in hexadecimal", device);
	if (bus_client_open(&bus) < 0)
		return VFIOCTL_EXIT_FAILURE;
	r = bus_client_call(bus, "ClearQuarantine", &error, &reply, "s", device);
	if (r < 0)
		return host_report_error("cannot clear the quarantine", &error, r);
	return 0;
}

int verb_quarantine(int argc, char *argv[])
{
	argc = output_take_json_option(argc, argv);
	if (argc < 2)
		return usage_error("'quarantine' needs a command: list or clear DEVICE");
	if (strcmp(argv[1], "list") == 0) {
		if (argc != 2)
			return usage_error("'quarantine list' takes no argument, got '%s'", argv[2]);
		return quarantine_list();
	}
	if (strcmp(argv[1], "clear") == 0) {
		if (argc != 3)
			return usage_error("'quarantine clear' needs one DEVICE");
		return quarantine_clear(argv[2]);
	}
	return usage_error("unknown 'quarantine' command '%s' (known: list, clear)", argv[1]);
}
