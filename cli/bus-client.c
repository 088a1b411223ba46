/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bus-client.h"
#include "bus-errors.h"
#include "vfd-bus.h"
#include "vfiod/util.h"
#include "vfioctl.h"

/* how the messages name the bus: "the system bus" or "the bus at ADDR" */
static void print_not_running(const char *why, int error)
{
	if (arg_bus_address)
		runtime_error("vfiod is not running (%s the bus at %s%s%s)", why, arg_bus_address,
			      error ? ": " : "", error ? strerror(error) : "");
	else
		runtime_error("vfiod is not running (%s the system bus%s%s)", why,
			      error ? ": " : "", error ? strerror(error) : "");
}

int bus_client_open(sd_bus **ret)
{
	int r;

	r = vfd_bus_errors_register();
	if (r < 0) {
		errno = -r;
		runtime_error("failed to register bus error names: %m");
		return r;
	}

	r = bus_call_connect(arg_bus_address, ret);
	if (r < 0) {
		/* without a bus there is no daemon either: say so first */
		print_not_running("cannot connect to", -r);
		return r;
	}

	return 0;
}

static int bus_client_call_objectv(sd_bus *bus, const char *path, const char *interface,
				   const char *member, sd_bus_error *error,
				   sd_bus_message **ret_reply, const char *types, va_list ap)
{
	int r;

	r = bus_call_objectv(bus, path, interface, member, error, ret_reply, types, ap);
	if (r < 0 && bus_call_error_is_not_running(error))
		print_not_running(VFD_BUS_NAME " not on", 0);

	return r;
}

static int bus_client_callv(sd_bus *bus, const char *member, sd_bus_error *error,
			    sd_bus_message **ret_reply, const char *types, va_list ap)
{
	return bus_client_call_objectv(bus, VFD_BUS_PATH, VFD_BUS_INTERFACE, member, error,
				       ret_reply, types, ap);
}

int bus_client_call_object(sd_bus *bus, const char *path, const char *interface,
			   const char *member, sd_bus_error *error, sd_bus_message **ret_reply,
			   const char *types, ...)
{
	va_list ap;
	int r;

	va_start(ap, types);
	r = bus_client_call_objectv(bus, path, interface, member, error, ret_reply, types, ap);
	va_end(ap);
	return r;
}

int bus_client_call(sd_bus *bus, const char *member, sd_bus_error *error,
		    sd_bus_message **ret_reply, const char *types, ...)
{
	va_list ap;
	int r;

	va_start(ap, types);
	r = bus_client_callv(bus, member, error, ret_reply, types, ap);
	va_end(ap);
	return r;
}

/* a reply we cannot parse is a daemon bug or a version mismatch: say which method */
static int reply_error(sd_bus_error *error, const char *member, int r)
{
	return sd_bus_error_set_errnof(error, r, "Cannot parse the reply of %s: %s",
				       member, strerror(-r));
}

int bus_client_fetch_records(sd_bus *bus, const char *member, sd_bus_error *error,
			     const BusJsonStruct *structs, json_object **ret,
			     const char *types, ...)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	va_list ap;
	int r;

	va_start(ap, types);
	r = bus_client_callv(bus, member, error, &reply, types, ap);
	va_end(ap);
	if (r < 0)
		return r;

	r = bus_json_read_records(reply, structs, ret);
	if (r < 0)
		return reply_error(error, member, r);
	return 0;
}

int bus_client_fetch_record(sd_bus *bus, const char *member, sd_bus_error *error,
			    const BusJsonStruct *structs, json_object **ret,
			    const char *types, ...)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	va_list ap;
	int r;

	va_start(ap, types);
	r = bus_client_callv(bus, member, error, &reply, types, ap);
	va_end(ap);
	if (r < 0)
		return r;

	r = bus_json_read_record(reply, structs, ret);
	if (r < 0)
		return reply_error(error, member, r);
	return 0;
}

int bus_client_report_error(const char *what, const sd_bus_error *error, int r)
{
	/* already reported by bus_client_call() */
	if (bus_call_error_is_not_running(error))
		return VFIOCTL_EXIT_FAILURE;

	if (sd_bus_error_is_set(error))
		return runtime_error("%s: %s", what, error->message ? error->message : error->name);

	errno = r < 0 ? -r : r;
	return runtime_error("%s: %m", what);
}
