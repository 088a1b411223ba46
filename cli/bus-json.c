/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "bus-json.h"

static int read_value(sd_bus_message *m, const char *const *fields, json_object **ret);
static const char *intern_key(const char *key);

static int read_basic(sd_bus_message *m, char type, json_object **ret)
{
	union {
		uint8_t u8;
		uint16_t u16;
		int16_t i16;
		uint32_t u32;
		int32_t i32;
		uint64_t u64;
		int64_t i64;
		int b;
		double d;
		const char *s;
	} v;
	json_object *o;
	int r;

	r = sd_bus_message_read_basic(m, type, &v);
	if (r < 0)
		return r;

	switch (type) {
	case SD_BUS_TYPE_BYTE:        o = json_object_new_int64(v.u8); break;
	case SD_BUS_TYPE_UINT16:      o = json_object_new_int64(v.u16); break;
	case SD_BUS_TYPE_INT16:       o = json_object_new_int64(v.i16); break;
	case SD_BUS_TYPE_UINT32:      o = json_object_new_int64(v.u32); break;
	case SD_BUS_TYPE_INT32:       o = json_object_new_int64(v.i32); break;
	case SD_BUS_TYPE_UINT64:      o = json_object_new_uint64(v.u64); break;
	case SD_BUS_TYPE_INT64:       o = json_object_new_int64(v.i64); break;
	case SD_BUS_TYPE_BOOLEAN:     o = json_object_new_boolean(v.b); break;
	case SD_BUS_TYPE_DOUBLE:      o = json_object_new_double(v.d); break;
	case SD_BUS_TYPE_STRING:
	case SD_BUS_TYPE_OBJECT_PATH:
	case SD_BUS_TYPE_SIGNATURE:   o = json_object_new_string(v.s); break;
	default:
		return -EBADMSG; /* unix fds: never in a record */
	}
	if (!o)
		return -ENOMEM;

	*ret = o;
	return 0;
}

/* the struct's fields become an object when named, else an array */
static int read_struct(sd_bus_message *m, const char *contents, const char *const *fields,
		       json_object **ret)
{
	_cleanup_(json_object_putp) json_object *o = NULL;
	size_t i = 0;
	int r;

	o = fields ? json_object_new_object() : json_object_new_array();
	if (!o)
		return -ENOMEM;

	r = sd_bus_message_enter_container(m, SD_BUS_TYPE_STRUCT, contents);
	if (r < 0)
		return r;

	for (;; i++) {
		_cleanup_(json_object_putp) json_object *v = NULL;

		r = sd_bus_message_peek_type(m, NULL, NULL);
		if (r < 0)
			return r;
		if (r == 0)
			break;

		r = read_value(m, NULL, &v);
		if (r < 0)
			return r;

		if (fields) {
			if (!fields[i])
				return -EBADMSG; /* more fields than the caller named */
			r = bus_json_object_add(o, fields[i], TAKE_PTR(v));
		} else
			r = json_object_array_add(o, TAKE_PTR(v));
		if (r < 0)
			return -ENOMEM;
	}

	if (fields && fields[i])
		return -EBADMSG; /* fewer fields than named */

	r = sd_bus_message_exit_container(m);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(o);
	return 0;
}

/* reads one array element into *ret; userdata is what the caller passed on */
typedef int (*read_element_fn)(sd_bus_message *m, const void *userdata, json_object **ret);

/* an array of CONTENTS as a JSON array, each element read by read_element */
static int read_array_with(sd_bus_message *m, const char *contents, read_element_fn read_element,
			   const void *userdata, json_object **ret)
{
	_cleanup_(json_object_putp) json_object *a = NULL;
	int r;

	a = json_object_new_array();
	if (!a)
		return -ENOMEM;

	r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, contents);
	if (r < 0)
		return r;

	for (;;) {
		_cleanup_(json_object_putp) json_object *v = NULL;

		r = sd_bus_message_peek_type(m, NULL, NULL);
		if (r < 0)
			return r;
		if (r == 0)
			break;

		r = read_element(m, userdata, &v);
		if (r < 0)
			return r;

		if (json_object_array_add(a, TAKE_PTR(v)) < 0)
			return -ENOMEM;
	}

	r = sd_bus_message_exit_container(m);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(a);
	return 0;
}

static int read_value_element(sd_bus_message *m, const void *fields, json_object **ret)
{
	return read_value(m, fields, ret);
}

static int read_array(sd_bus_message *m, const char *contents, const char *const *fields,
		      json_object **ret)
{
	return read_array_with(m, contents, read_value_element, fields, ret);
}

static int read_value(sd_bus_message *m, const char *const *fields, json_object **ret)
{
	const char *contents;
	char type;
	int r;

	r = sd_bus_message_peek_type(m, &type, &contents);
	if (r < 0)
		return r;
	if (r == 0)
		return -EBADMSG;

	switch (type) {
	case SD_BUS_TYPE_ARRAY:
		if (strcmp(contents, "{sv}") == 0)
			return bus_json_read_record(m, NULL, ret);
		return read_array(m, contents, fields, ret);

	case SD_BUS_TYPE_STRUCT:
		return read_struct(m, contents, fields, ret);

	case SD_BUS_TYPE_VARIANT:
		r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, contents);
		if (r < 0)
			return r;
		r = read_value(m, fields, ret);
		if (r < 0)
			return r;
		return sd_bus_message_exit_container(m);

	case SD_BUS_TYPE_DICT_ENTRY:
		return -EBADMSG; /* only inside a{sv}, handled there */

	default:
		return read_basic(m, type, ret);
	}
}

/*
 * The keys of records, interned: a list of n records has n copies of each
 * key, and json-c would copy every one (a malloc and a free per field).
 * The distinct keys are few (the documented ones); each is copied once and
 * kept for the process's life, and the objects point at that copy
 * (JSON_C_OBJECT_KEY_IS_CONSTANT). Past KEYS_MAX distinct keys, or out of
 * memory, NULL: the caller lets json-c copy the key as usual.
 */
#define KEYS_MAX 256 /* a power of two, and twice as many as the documented keys */
static char *interned_keys[KEYS_MAX];
static size_t n_interned_keys;

static const char *intern_key(const char *key)
{
	size_t h = 5381;

	for (const char *p = key; *p; p++)
		h = h * 33 + (unsigned char) *p;

	for (size_t i = h & (KEYS_MAX - 1);; i = (i + 1) & (KEYS_MAX - 1)) {
		if (!interned_keys[i]) {
			/* at most half full: every search ends at an empty slot */
			if ((n_interned_keys + 1) * 2 > KEYS_MAX)
				return NULL;
			interned_keys[i] = strdup(key);
			if (interned_keys[i])
				n_interned_keys++;
			return interned_keys[i];
		}
		if (strcmp(interned_keys[i], key) == 0)
			return interned_keys[i];
	}
}

int bus_json_object_add(json_object *o, const char *key, json_object *v)
{
	const char *interned = intern_key(key);

	if (interned)
		return json_object_object_add_ex(o, interned, v, JSON_C_OBJECT_KEY_IS_CONSTANT) < 0 ? -ENOMEM : 0;
	return json_object_object_add(o, key, v) < 0 ? -ENOMEM : 0;
}

static const char *const *struct_fields(const BusJsonStruct *structs, const char *key)
{
	for (; structs && structs->key; structs++)
		if (strcmp(structs->key, key) == 0)
			return structs->fields;
	return NULL;
}

int bus_json_read_record(sd_bus_message *m, const BusJsonStruct *structs, json_object **ret)
{
	_cleanup_(json_object_putp) json_object *o = NULL;
	int r;

	o = json_object_new_object();
	if (!o)
		return -ENOMEM;

	r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
	if (r < 0)
		return r;

	for (;;) {
		_cleanup_(json_object_putp) json_object *v = NULL;
		const char *key;

		r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv");
		if (r < 0)
			return r;
		if (r == 0)
			break;

		r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &key);
		if (r < 0)
			return r;

		r = read_value(m, struct_fields(structs, key), &v);
		if (r < 0)
			return r;

		/* json-c keeps insertion order: the daemon's key order is kept */
		if (bus_json_object_add(o, key, TAKE_PTR(v)) < 0)
			return -ENOMEM;

		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}

	r = sd_bus_message_exit_container(m);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(o);
	return 0;
}

static int read_record_element(sd_bus_message *m, const void *structs, json_object **ret)
{
	return bus_json_read_record(m, structs, ret);
}

int bus_json_read_records(sd_bus_message *m, const BusJsonStruct *structs, json_object **ret)
{
	return read_array_with(m, "a{sv}", read_record_element, structs, ret);
}
