/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading and checking method arguments that several adaptors take. */
#pragma once

#include <systemd/sd-bus.h>

#include "vfiod/inventory.h"

/*
 * Reads one "s" argument, a PCI address: InvalidArgs naming the expected
 * form when it does not parse; r < 0 from sd-bus otherwise.
 */
int bus_read_pci_address(sd_bus_message *message, vfd_pci_address *ret, sd_bus_error *error);
