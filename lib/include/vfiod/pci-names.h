/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Vendor and device names of PCI functions, from the udev hardware
 * database (hwdb.bin, read with libsystemd's sd-hwdb), the source lspci and
 * udev use: the modalias key "pci:vVVVVVVVVdDDDDDDDD" and the properties
 * ID_VENDOR_FROM_DATABASE and ID_MODEL_FROM_DATABASE. No tables of our own.
 *
 * The database is looked up below the context's root, in the places
 * sd-hwdb searches (etc/systemd/hwdb/hwdb.bin, etc/udev/hwdb.bin,
 * usr/lib/systemd/hwdb/hwdb.bin, lib/systemd/hwdb/hwdb.bin,
 * lib/udev/hwdb.bin, usr/lib/udev/hwdb.bin, first found wins), opened on
 * the first lookup and kept for the context's life. A root without a
 * database is not an error: every name is then unknown and callers show
 * ids. Not thread-safe: look names up from one thread per context.
 */
#pragma once

#include <stdint.h>

#include "vfiod/inventory.h"

/*
 * Sets *ret_vendor and *ret_device to the names, or to NULL where the
 * database (or the whole database) does not know them; always 0 unless the
 * arguments are invalid (-EINVAL). The strings belong to the context and
 * stay valid until vfd_context_free(). Either ret may be NULL.
 */
int vfd_pci_names_lookup(vfd_context *ctx, uint16_t vendor_id, uint16_t device_id,
			 const char **ret_vendor, const char **ret_device);

/*
 * The same for the PCI function at address (a name under
 * sys/bus/pci/devices/), reading its ids through the root layer; -ENODEV
 * when there is no such function, -EINVAL for a name that is not one path
 * component.
 */
int vfd_pci_names_lookup_address(vfd_context *ctx, const char *address,
				 const char **ret_vendor, const char **ret_device);

/* true when a database was found below the context's root (opens it if not yet tried) */
bool vfd_pci_names_available(vfd_context *ctx);
