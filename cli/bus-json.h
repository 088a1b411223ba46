/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Turns vfiod's records (a{sv}) into json-c objects with the same keys,
 * in the order the daemon sent them. Numbers become JSON numbers. A
 * record field that is an array of structs becomes an array of objects
 * when the caller names the struct's fields (struct_fields), else an
 * array of arrays.
 */
#pragma once

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "vfiod/util.h"

typedef struct BusJsonStruct {
	const char *key;            /* record key holding an array of structs */
	const char *const *fields;  /* the structs' field names, NULL-terminated */
} BusJsonStruct;

/* reads one a{sv} at the current position of m */
int bus_json_read_record(sd_bus_message *m, const BusJsonStruct *structs, json_object **ret);
/* reads an aa{sv}: a JSON array of records */
int bus_json_read_records(sd_bus_message *m, const BusJsonStruct *structs, json_object **ret);

/*
 * json_object_object_add() with the key interned: the few distinct keys of
 * vfiod's records are copied once per process, not once per object (see
 * bus-json.c). Takes v, as json_object_object_add() does; -ENOMEM.
 */
int bus_json_object_add(json_object *o, const char *key, json_object *v);

VFD_DEFINE_CLEANUP(json_object, json_object_put)
