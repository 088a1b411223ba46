/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The SR-IOV methods of org.vfiod1.Manager: SetSriovNumVFs and
 * RestoreSriov (docs/org.vfiod1.Manager.xml). A vtable of its own on the
 * Manager's path and interface; sriov.c does the work. Both change the
 * host: authorized as Bind is (polkit, org.vfiod1.bind-devices).
 */
#include <errno.h>
#include <stdlib.h>

#include "bus-args.h"
#include "bus-op-error.h"
#include "manager-dbus-sriov.h"
#include "polkit.h"
#include "sriov.h"
#include "vfd-bus.h"

typedef struct SriovRequest {
	Manager *manager;
	vfd_pci_address pf;
	uint32_t num_vfs;
} SriovRequest;

static void sriov_request_free(void *p)
{
	free(p);
}

/* the count above sriov_totalvfs is the caller's mistake: InvalidArgs, with the limit */
static int reply_error(sd_bus_error *error, int r, const vfd_op_error *op, const char *what)
{
	if (r == -ERANGE)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s: %s: %s", what,
					 op->subject, op->message);
	return bus_error_from_op(error, r, op, what);
}

static int run_set(sd_bus_message *message, void *request, sd_bus_error *error)
{
	SriovRequest *q = request;
	vfd_op_error op;
	int r;

	vfd_op_error_clear(&op);
	r = manager_sriov_set(q->manager, &q->pf, q->num_vfs, SRIOV_SOURCE_BUS, &op);
	if (r < 0)
		return reply_error(error, r, &op, "Cannot set the VF count");
	return sd_bus_reply_method_return(message, NULL);
}

static int method_set_sriov_num_vfs(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	SriovRequest *q;
	int r;

	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->manager = userdata;
	r = bus_read_pci_address(message, &q->pf, error);
	if (r >= 0)
		r = sd_bus_message_read(message, "u", &q->num_vfs);
	/* sriov_totalvfs is a u16: anything above is no count of any PF */
	if (r >= 0 && q->num_vfs > UINT16_MAX)
		r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
				      "num_vfs %u is above any PF's sriov_totalvfs (at most %u)",
				      q->num_vfs, UINT16_MAX);
	if (r < 0) {
		sriov_request_free(q);
		return r;
	}
	return polkit_authorize(message, POLKIT_ACTION_BIND, run_set, q, sriov_request_free, error);
}

static int run_restore(sd_bus_message *message, void *request, sd_bus_error *error)
{
	SriovRequest *q = request;
	vfd_op_error op;
	int r;

	vfd_op_error_clear(&op);
	r = manager_sriov_restore(q->manager, &q->pf, &op);
	if (r < 0)
		return reply_error(error, r, &op, "Cannot restore the VFs");
	return sd_bus_reply_method_return(message, NULL);
}

static int method_restore_sriov(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	SriovRequest *q;
	int r;

	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->manager = userdata;
	r = bus_read_pci_address(message, &q->pf, error);
	if (r < 0) {
		sriov_request_free(q);
		return r;
	}
	return polkit_authorize(message, POLKIT_ACTION_BIND, run_restore, q, sriov_request_free, error);
}

static const sd_bus_vtable manager_sriov_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD_WITH_ARGS("SetSriovNumVFs",
				SD_BUS_ARGS("s", device, "u", num_vfs),
				SD_BUS_NO_RESULT,
				method_set_sriov_num_vfs, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("RestoreSriov",
				SD_BUS_ARGS("s", device),
				SD_BUS_NO_RESULT,
				method_restore_sriov, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END
};

int manager_dbus_sriov_register(sd_bus *bus, Manager *m)
{
	return sd_bus_add_object_vtable(bus, NULL, VFD_BUS_PATH, VFD_BUS_INTERFACE,
					manager_sriov_vtable, m);
}
