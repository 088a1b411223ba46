/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See bus-dict.h. */
#include <errno.h>
#include <string.h>

#include "bus-dict.h"

static int read_entry(sd_bus_message *m, vfd_bus_dict_entry_fn entry, void *userdata)
{
	const char *key;
	int r;

	r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &key);
	if (r < 0)
		return r;
	if (r == 0)
		return -EBADMSG; /* an entry without its key */
	r = entry(m, key, userdata);
	if (r == 0)
		r = sd_bus_message_skip(m, "v");
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

int vfd_bus_read_dict(sd_bus_message *m, vfd_bus_dict_entry_fn entry, void *userdata)
{
	int r;

	r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
		r = read_entry(m, entry, userdata);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

bool vfd_bus_dict_key_once(unsigned *seen, const char *const keys[], unsigned n_keys, const char *key)
{
	for (unsigned i = 0; i < n_keys && i < 32; i++)
		if (strcmp(keys[i], key) == 0) {
			if (*seen & (1U << i))
				return false;
			*seen |= 1U << i;
			return true;
		}
	return true;
}
