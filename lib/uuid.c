/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* UUIDs name mdev instances and become sysfs path components; VM names become file names. */
#include <ctype.h>
#include <string.h>

#include "vfiod/inventory.h"

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

int vfd_uuid_normalize(const char *s, char ret[VFD_UUID_STRLEN])
{
	if (vfd_uuid_validate(s) < 0)
		return -EINVAL;
	for (size_t i = 0; i < VFD_UUID_STRLEN - 1; i++)
		ret[i] = (char)tolower((unsigned char)s[i]);
	ret[VFD_UUID_STRLEN - 1] = '\0';
	return 0;
}

bool vfd_vm_name_is_valid(const char *s)
{
	size_t n = s ? strnlen(s, VFD_VM_NAME_MAX + 1) : 0;

	if (n == 0 || n > VFD_VM_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
			return false;
	}
	return true;
}
