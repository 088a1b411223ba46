/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfioctl's side of the bus: connect, call org.vfiod1.Manager without
 * auto-starting anything, and turn failures into one line on stderr.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "bus-call.h" /* bus_call_error_is_not_running(): the line was printed */
#include "bus-json.h"

/* Connects to --bus-address or the system bus; prints the failure. */
int bus_client_open(sd_bus **ret);

/*
 * Calls member on org.vfiod1's /org/vfiod1 with the arguments in types
 * (sd_bus_message_append() syntax). On failure returns -errno and fills
 * error. When the daemon is not on the bus, that line is printed here and
 * error is left as the bus filled it.
 */
int bus_client_call(sd_bus *bus, const char *member, sd_bus_error *error,
		    sd_bus_message **ret_reply, const char *types, ...);

/* The same for any object and interface of org.vfiod1 (the VM objects). */
int bus_client_call_object(sd_bus *bus, const char *path, const char *interface,
			   const char *member, sd_bus_error *error, sd_bus_message **ret_reply,
			   const char *types, ...);

/*
 * Calls member like bus_client_call() and reads the reply, an aa{sv}
 * (fetch_records) or an a{sv} (fetch_record), into JSON (see bus-json.h).
 */
int bus_client_fetch_records(sd_bus *bus, const char *member, sd_bus_error *error,
			     const BusJsonStruct *structs, json_object **ret,
			     const char *types, ...);
int bus_client_fetch_record(sd_bus *bus, const char *member, sd_bus_error *error,
			    const BusJsonStruct *structs, json_object **ret,
			    const char *types, ...);

/* Prints "vfioctl: <what>: <message>" for any other failure; returns the exit status. */
int bus_client_report_error(const char *what, const sd_bus_error *error, int r);
