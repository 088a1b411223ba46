/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers to append one "{sv}" entry of a record (an a{sv} dictionary)
 * to a message whose a{sv} container the caller has opened. Keeps the
 * record builders free of the container bookkeeping.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

int bus_record_append_string(sd_bus_message *m, const char *key, const char *value);
/* appends nothing when value is NULL: absent optional values are omitted */
int bus_record_append_string_optional(sd_bus_message *m, const char *key, const char *value);
int bus_record_append_u16(sd_bus_message *m, const char *key, uint16_t value);
int bus_record_append_u32(sd_bus_message *m, const char *key, uint32_t value);
int bus_record_append_i32(sd_bus_message *m, const char *key, int32_t value);
int bus_record_append_bool(sd_bus_message *m, const char *key, bool value);
/* l is NULL-terminated; NULL appends an empty array */
int bus_record_append_strv(sd_bus_message *m, const char *key, char *const *l);

/*
 * For values of any other signature: opens the entry and its variant of
 * contents type; append the value, then bus_record_close_entry().
 */
int bus_record_open_entry(sd_bus_message *m, const char *key, const char *contents);
int bus_record_close_entry(sd_bus_message *m);
