/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The reference VMM's way to its VM on vfiod: GetVM, then AuthenticateVMM
 * with the secret the VM's owner gave it ($VFIOD_VMM_SECRET, from
 * `vfioctl vm secret NAME`), once per bus connection, before it asks for
 * descriptors. Without the variable it does not authenticate (a root VMM,
 * or a test of what vfiod does with an unauthenticated caller).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "vfiod/util.h"
#include "vmm.h"
#include "vfd-bus.h"

int vmm_vfiod_vm(sd_bus *bus, const char *vm, char **ret_path)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *path, *secret = getenv("VFIOD_VMM_SECRET");
	char *copy;
	int r;

	r = sd_bus_call_method(bus, VFD_BUS_NAME, VFD_BUS_PATH, VFD_BUS_INTERFACE, "GetVM",
			       &error, &reply, "s", vm);
	if (r < 0) {
		fprintf(stderr, "vfd-vmm: GetVM %s: %s\n", vm, error.message ? error.message : strerror(-r));
		return r;
	}
	r = sd_bus_message_read(reply, "o", &path);
	if (r < 0)
		return r;
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;

	if (secret && *secret) {
		r = sd_bus_call_method(bus, VFD_BUS_NAME, copy, VFD_VM_INTERFACE, "AuthenticateVMM",
				       &error, NULL, "s", secret);
		if (r < 0) {
			fprintf(stderr, "vfd-vmm: AuthenticateVMM: %s (%s)\n",
				error.message ? error.message : strerror(-r), error.name ? error.name : "");
			free(copy);
			return r;
		}
	}
	*ret_path = copy;
	return 0;
}
