/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The quarantine on the bus (quarantine.h; docs/org.vfiod1.Manager.xml):
 * ListQuarantine for anyone, ClearQuarantine for root or polkit
 * org.vfiod1.clear-quarantine. A vtable of its own on /org/vfiod1, after
 * the kernel features'.
 */
#include <errno.h>
#include <stdlib.h>

#include "bus-args.h"
#include "bus-op-error.h"
#include "bus-record.h"
#include "manager-dbus-quarantine.h"
#include "polkit.h"
#include "quarantine.h"
#include "vfd-bus.h"

static int method_list_quarantine(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	Manager *m = userdata;
	int r;

	r = sd_bus_message_new_method_return(message, &reply);
	if (r < 0)
		return r;
	r = sd_bus_message_open_container(reply, SD_BUS_TYPE_ARRAY, "a{sv}");
	for (size_t i = 0; r >= 0 && i < quarantine_count(m->quarantine); i++) {
		const QuarantineEntry *e = quarantine_get(m->quarantine, i);

		if ((r = sd_bus_message_open_container(reply, SD_BUS_TYPE_ARRAY, "{sv}")) < 0 ||
		    (r = bus_record_append_string(reply, "device", e->device)) < 0 ||
		    (r = bus_record_append_string_optional(reply, "vm", e->vm[0] ? e->vm : NULL)) < 0 ||
		    (r = bus_record_append_string(reply, "reason", e->reason)) < 0 ||
		    (r = sd_bus_message_append(reply, "{sv}", "since_usec", "t", e->since_usec)) < 0)
			break;
		r = sd_bus_message_close_container(reply);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

typedef struct ClearRequest {
	Manager *manager;
	char device[VFD_PCI_ADDRESS_STRLEN];
} ClearRequest;

static int run_clear_quarantine(sd_bus_message *message, void *request, sd_bus_error *error)
{
	ClearRequest *q = request;
	int r;

	r = manager_quarantine_clear(q->manager, q->device);
	if (r == -ENOKEY)
		return bus_error_domain(error, r, "%s is not quarantined", q->device);
	if (r < 0)
		return sd_bus_error_set_errnof(error, r, "Cannot clear the quarantine of %s: %m",
					       q->device);
	return sd_bus_reply_method_return(message, NULL);
}

static int method_clear_quarantine(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	_cleanup_free_ ClearRequest *q = NULL;
	vfd_pci_address addr;
	int r;

	r = bus_read_pci_address(message, &addr, error);
	if (r < 0)
		return r;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->manager = userdata;
	vfd_pci_address_format(&addr, q->device);
	return polkit_authorize(message, POLKIT_ACTION_CLEAR_QUARANTINE, run_clear_quarantine,
				TAKE_PTR(q), free, error);
}

static const sd_bus_vtable manager_quarantine_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD_WITH_ARGS("ListQuarantine",
				SD_BUS_NO_ARGS,
				SD_BUS_RESULT("aa{sv}", devices),
				method_list_quarantine, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ClearQuarantine",
				SD_BUS_ARGS("s", address),
				SD_BUS_NO_RESULT,
				method_clear_quarantine, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END
};

int manager_dbus_quarantine_register(sd_bus *bus, Manager *m)
{
	return sd_bus_add_object_vtable(bus, NULL, VFD_BUS_PATH, VFD_BUS_INTERFACE,
					manager_quarantine_vtable, m);
}
