/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Checks names of devices that are not PCI addresses (mdev parents such
 * as "mtty" or a PCI address, written by the kernel as one directory
 * entry). Shared by vfiod, which rejects bad names with InvalidArgs, and
 * vfioctl, which rejects them before any bus call.
 */
#pragma once

#include <stdbool.h>

#define VFD_DEVICE_NAME_MAX 255

/* one path component: 1..255 bytes, not "." or "..", no '/', no whitespace or control bytes */
bool vfd_device_name_is_valid(const char *s);
