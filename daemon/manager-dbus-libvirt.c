/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Manager.StartLibvirtDomain: the bus adaptor of the iommufd broker
 * (libvirt/libvirt-broker.h). Validates, authorizes, starts, answers
 * when the broker is done.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus-op-error.h"
#include "libvirt/libvirt-broker.h"
#include "manager-dbus.h"
#include "polkit.h"
#include "vm.h"

typedef struct StartRequest {
	Manager *manager;
	char *name;
} StartRequest;

static void start_request_free(void *p)
{
	StartRequest *q = p;

	if (!q)
		return;
	free(q->name);
	free(q);
}

/* the broker's end: the caller's answer (userdata: the caller's message, a reference) */
static void start_done(void *userdata, int r, const char *message, VM *vm)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *call = userdata;

	if (r < 0) {
		(void) bus_error_domain(&e, r, "%s", message ? message : "the start failed");
		(void) sd_bus_reply_method_error(call, &e);
	} else
		(void) sd_bus_reply_method_return(call, "o", vm_get_path(vm));
	sd_bus_message_unref(call);
}

static int run_start(sd_bus_message *message, void *request, sd_bus_error *error)
{
	StartRequest *q = request;
	int r;

	r = libvirt_broker_start(q->manager, q->name, start_done, message);
	if (r == -ENOTCONN)
		return bus_error_domain(error, r, "vfiod is not connected to libvirt (vfiod --libvirt-uri; "
					"is libvirtd running?)");
	if (r == -ENOTUNIQ)
		return bus_error_domain(error, r, "vfiod holds a VM named %s already", q->name);
	if (r < 0)
		return sd_bus_error_set_errnof(error, r, "Cannot start domain %s: %m", q->name);
	sd_bus_message_ref(message); /* start_done() answers it and lets go */
	return 1;
}

int method_start_libvirt_domain(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	StartRequest *q;
	const char *name;
	int r;

	r = sd_bus_message_read(message, "s", &name);
	if (r < 0)
		return r;
	if (!vfd_vm_name_is_valid(name))
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Invalid domain name '%.64s': vfiod's VM names are 1-64 letters, digits, "
					 "'_', '.' or '-', starting with a letter or digit", name);
	/*
	 * vfiod starts the domain on its own libvirt connection, as root:
	 * whoever may do this may start any defined domain of the host with
	 * vfiod's devices. libvirt gives that to root; so does vfiod, and to
	 * no one else, whatever polkit would say (docs/security.md).
	 */
	r = bus_sender_is_root(message);
	if (r < 0)
		return sd_bus_error_set_errnof(error, r, "Cannot read the caller's credentials: %m");
	if (r == 0)
		return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
					 "Only root may start a libvirt domain through vfiod: vfiod starts it "
					 "on its own libvirt connection, with libvirt's rights of root");

	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->manager = userdata;
	q->name = strdup(name);
	if (!q->name) {
		free(q);
		return -ENOMEM;
	}
	/* the same action as every VM creation (root passes at once) */
	return polkit_authorize(message, POLKIT_ACTION_MANAGE_VMS, run_start, q, start_request_free, error);
}
