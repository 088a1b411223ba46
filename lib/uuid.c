/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* UUIDs name mdev instances and become sysfs path components. */
#include <string.h>

#include "vfiod.h"

int vfd_uuid_validate(const char *s)
{
	size_t i;

	if (!s)
		return -EINVAL;
	/* 36 characters exactly, read no further than the 37th */
	if (strnlen(s, 37) != 36)
		return -EINVAL;

	for (i = 0; i < 36; i++) {
		char c = s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return -EINVAL;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			     (c >= 'A' && c <= 'F'))) {
			return -EINVAL;
		}
	}
	return 0;
}
