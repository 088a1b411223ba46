/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "bus-call.h"
#include "vfd-bus.h"
#include "vfiod/util.h"

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

int bus_call_connect(const char *address, sd_bus **ret)
{
	/* sd-bus honours $DBUS_SYSTEM_BUS_ADDRESS */
	return address ? open_address(address, ret) : sd_bus_open_system(ret);
}

int bus_call_new(sd_bus *bus, const char *path, const char *interface, const char *member,
		 sd_bus_message **ret)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	int r;

	r = sd_bus_message_new_method_call(bus, &m, VFD_BUS_NAME, path, interface, member);
	if (r < 0)
		return r;

	r = sd_bus_message_set_auto_start(m, false);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(m);
	return 0;
}

int bus_call_objectv(sd_bus *bus, const char *path, const char *interface, const char *member,
		     sd_bus_error *error, sd_bus_message **ret_reply, const char *types, va_list ap)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	int r;

	r = bus_call_new(bus, path, interface, member, &m);
	if (r < 0)
		return sd_bus_error_set_errno(error, r);

	if (types) {
		r = sd_bus_message_appendv(m, types, ap);
		if (r < 0)
			return sd_bus_error_set_errno(error, r);
	}

	return sd_bus_call(bus, m, 0, error, ret_reply);
}

int bus_call_object(sd_bus *bus, const char *path, const char *interface, const char *member,
		    sd_bus_error *error, sd_bus_message **ret_reply, const char *types, ...)
{
	va_list ap;
	int r;

	va_start(ap, types);
	r = bus_call_objectv(bus, path, interface, member, error, ret_reply, types, ap);
	va_end(ap);
	return r;
}

bool bus_call_error_is_not_running(const sd_bus_error *error)
{
	return sd_bus_error_has_name(error, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
	       sd_bus_error_has_name(error, SD_BUS_ERROR_NAME_HAS_NO_OWNER);
}
