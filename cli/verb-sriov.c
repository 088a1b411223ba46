/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfioctl sriov set PF --num-vfs N | --restore: a PF's VF count, set by
 * vfiod with no VF on a host driver, or given back (SetSriovNumVFs,
 * RestoreSriov).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus-client.h"
#include "verb-host.h"
#include "vfiod/inventory.h"
#include "vfioctl.h"

/* a count: decimal digits only, no sign, no space, at most 65535 (sriov_totalvfs is a u16) */
static int parse_num_vfs(const char *s, unsigned *ret)
{
	unsigned long v;
	char *end;

	if (!s || s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > 65535)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

int verb_sriov(int argc, char *argv[])
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *pf = NULL, *count = NULL;
	bool restore = false;
	vfd_pci_address addr;
	unsigned n = 0;
	int r;

	if (argc < 2 || strcmp(argv[1], "set") != 0)
		return usage_error("'sriov' needs: set PF --num-vfs N | --restore");
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--num-vfs") == 0) {
			if (i + 1 >= argc)
				return usage_error("option '--num-vfs' needs a number");
			count = argv[++i];
		} else if (strncmp(argv[i], "--num-vfs=", 10) == 0)
			count = argv[i] + 10;
		else if (strcmp(argv[i], "--restore") == 0)
			restore = true;
		else if (argv[i][0] == '-')
			return usage_error("unknown option '%s' for 'sriov set'", argv[i]);
		else if (!pf)
			pf = argv[i];
		else
			return usage_error("'sriov set' takes one PF, got extra argument '%s'", argv[i]);
	}
	if (!pf)
		return usage_error("'sriov set' needs PF");
	if (vfd_pci_address_parse(pf, &addr) < 0)
		return usage_error("invalid PF '%s': expected DDDD:BB:SS.F in hexadecimal", pf);
	if (restore == !!count)
		return usage_error("'sriov set' needs exactly one of --num-vfs N and --restore");
	if (count && parse_num_vfs(count, &n) < 0)
		return usage_error("invalid --num-vfs '%s': expected a count from 0 to 65535", count);

	if (bus_client_open(&bus) < 0)
		return VFIOCTL_EXIT_FAILURE;
	if (restore)
		r = bus_client_call(bus, "RestoreSriov", &error, &reply, "s", pf);
	else
		r = bus_client_call(bus, "SetSriovNumVFs", &error, &reply, "su", pf, n);
	if (r < 0)
		return host_report_error(restore ? "cannot restore the VFs" : "cannot set the VF count",
					 &error, r);
	return 0;
}
