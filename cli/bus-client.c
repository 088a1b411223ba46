/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bus-client.h"
#include "bus-errors.h"
#include "vfd-bus.h"
#include "vfd-util.h"
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

static int open_address(const char *address, sd_bus **ret)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	int r;

	r = sd_bus_new(&bus);
	if (r < 0)
		return r;

	r = sd_bus_set_address(bus, address);
	if (r < 0)
		return r;

	r = sd_bus_set_bus_client(bus, true);
	if (r < 0)
		return r;

	r = sd_bus_start(bus);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(bus);
	return 0;
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

	if (arg_bus_address)
		r = open_address(arg_bus_address, ret);
	else
		r = sd_bus_open_system(ret);
	if (r < 0) {
		/* without a bus there is no daemon either: say so first */
		print_not_running("cannot connect to", -r);
		return r;
	}

	return 0;
}

bool bus_client_error_is_not_running(const sd_bus_error *error)
{
	return sd_bus_error_has_name(error, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
	       sd_bus_error_has_name(error, SD_BUS_ERROR_NAME_HAS_NO_OWNER);
}

static int bus_client_call_objectv(sd_bus *bus, const char *path, const char *interface,
				   const char *member, sd_bus_error *error,
				   sd_bus_message **ret_reply, const char *types, va_list ap)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	int r;

	r = sd_bus_message_new_method_call(bus, &m, VFD_BUS_NAME, path, interface, member);
	if (r < 0)
		return sd_bus_error_set_errno(error, r);

	/* a daemon that is not running must fail the call now, not be started or waited for */
	r = sd_bus_message_set_auto_start(m, false);
	if (r < 0)
		return sd_bus_error_set_errno(error, r);

	if (types) {
		r = sd_bus_message_appendv(m, types, ap);
		if (r < 0)
			return sd_bus_error_set_errno(error, r);
	}

	r = sd_bus_call(bus, m, 0, error, ret_reply);
	if (r < 0 && bus_client_error_is_not_running(error))
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
	if (bus_client_error_is_not_running(error))
		return VFIOCTL_EXIT_FAILURE;

	if (sd_bus_error_is_set(error))
		return runtime_error("%s: %s", what, error->message ? error->message : error->name);

	errno = r < 0 ? -r : r;
	return runtime_error("%s: %m", what);
}
