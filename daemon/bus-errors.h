/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The stable D-Bus error names of vfiod (docs/org.vfiod1.Manager.xml) and
 * the errno each one stands for. vfiod and vfioctl both register the one
 * table, so a reply's error name turns into the same errno on either side
 * (sd_bus_call() returns it; sd_bus_error_get_errno() reads it).
 */
#pragma once

#include <systemd/sd-bus.h>

#define VFD_ERROR_NO_SUCH_DEVICE "org.vfiod1.Error.NoSuchDevice"
#define VFD_ERROR_NO_SUCH_GROUP  "org.vfiod1.Error.NoSuchGroup"
#define VFD_ERROR_NO_SUCH_PARENT "org.vfiod1.Error.NoSuchParent"

extern const sd_bus_error_map vfd_bus_errors[];

/* Makes sd-bus translate the names above to errno; idempotent. */
int vfd_bus_errors_register(void);

/* The stable name for a domain errno, NULL when the errno has none. */
const char *vfd_bus_error_name_from_errno(int error);
