/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Loading a VFIO driver's module through systemd's modprobe@.service (bus-module-load.h). */
#include <errno.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "bus-module-load.h"
#include "vfiod/vfio-variant.h"

static int on_start_unit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
	const sd_bus_error *e = sd_bus_message_get_error(reply);
	char *unit = userdata;

	if (e)
		log_warning("Cannot have systemd start %s: %s", unit, e->message ? e->message : e->name);
	else
		log_info("systemd started %s.", unit);
	free(unit);
	return 0;
}

int module_load_request(sd_bus *bus, const char *module)
{
	char *unit;
	int r;

	/* the name becomes a unit instance: nothing but a module name may pass */
	if (!bus || !vfd_module_name_is_valid(module))
		return -EINVAL;
	if (sd_booted() <= 0) {
		log_warning("Module %s is not loaded, and no systemd runs to load it "
			    "(modprobe@%s.service): it must be loaded (modprobe %s).",
			    module, module, module);
		return 0;
	}
	if (asprintf(&unit, "modprobe@%s.service", module) < 0)
		return -ENOMEM;

	r = sd_bus_call_method_async(bus, NULL, "org.freedesktop.systemd1",
				     "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
				     "StartUnit", on_start_unit_reply, unit, "ss", unit, "replace");
	if (r < 0) {
		free(unit);
		return log_warning_errno(r, "Cannot ask systemd to load module %s: %m", module);
	}
	log_info("Asked systemd to load module %s (modprobe@%s.service).", module, module);
	return 1;
}
