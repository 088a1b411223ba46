/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "vfiod/inventory.h"

bool vfd_device_name_is_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > VFD_DEVICE_NAME_MAX)
		return false;
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;

	for (const char *p = s; *p; p++)
		if (*p == '/' || (unsigned char) *p <= ' ' || *p == 0x7f)
			return false;

	return true;
}
