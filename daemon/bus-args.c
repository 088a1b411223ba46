/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-args.h"

int bus_read_pci_address(sd_bus_message *message, vfd_pci_address *ret, sd_bus_error *error)
{
	const char *address;
	int r;

	r = sd_bus_message_read(message, "s", &address);
	if (r < 0)
		return r;
	if (vfd_pci_address_parse(address, ret) < 0)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Invalid PCI address '%.64s': expected DDDD:BB:SS.F in hexadecimal "
					 "(slot at most 1f, function at most 7)", address);
	return 0;
}
