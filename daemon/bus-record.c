/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-record.h"

int bus_record_open_entry(sd_bus_message *m, const char *key, const char *contents)
{
	int r;

	r = sd_bus_message_open_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv");
	if (r < 0)
		return r;

	r = sd_bus_message_append_basic(m, SD_BUS_TYPE_STRING, key);
	if (r < 0)
		return r;

	return sd_bus_message_open_container(m, SD_BUS_TYPE_VARIANT, contents);
}

int bus_record_close_entry(sd_bus_message *m)
{
	int r;

	r = sd_bus_message_close_container(m); /* variant */
	if (r < 0)
		return r;

	return sd_bus_message_close_container(m); /* dict entry */
}

/* every basic value goes through here; value points at storage of type */
static int append_basic(sd_bus_message *m, const char *key, char type, const void *value)
{
	const char contents[2] = { type, '\0' };
	int r;

	r = bus_record_open_entry(m, key, contents);
	if (r < 0)
		return r;

	r = sd_bus_message_append_basic(m, type, value);
	if (r < 0)
		return r;

	return bus_record_close_entry(m);
}

int bus_record_append_string(sd_bus_message *m, const char *key, const char *value)
{
	return append_basic(m, key, SD_BUS_TYPE_STRING, value);
}

int bus_record_append_string_optional(sd_bus_message *m, const char *key, const char *value)
{
	if (!value)
		return 0;

	return bus_record_append_string(m, key, value);
}

int bus_record_append_u16(sd_bus_message *m, const char *key, uint16_t value)
{
	return append_basic(m, key, SD_BUS_TYPE_UINT16, &value);
}

int bus_record_append_u32(sd_bus_message *m, const char *key, uint32_t value)
{
	return append_basic(m, key, SD_BUS_TYPE_UINT32, &value);
}

int bus_record_append_i32(sd_bus_message *m, const char *key, int32_t value)
{
	return append_basic(m, key, SD_BUS_TYPE_INT32, &value);
}

int bus_record_append_bool(sd_bus_message *m, const char *key, bool value)
{
	/* D-Bus booleans travel as 32-bit ints */
	int b = value;

	return append_basic(m, key, SD_BUS_TYPE_BOOLEAN, &b);
}

int bus_record_append_strv(sd_bus_message *m, const char *key, char *const *l)
{
	int r;

	r = bus_record_open_entry(m, key, "as");
	if (r < 0)
		return r;

	r = sd_bus_message_append_strv(m, (char **) l);
	if (r < 0)
		return r;

	return bus_record_close_entry(m);
}
