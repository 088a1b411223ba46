/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ApplyConfig and GetConfigStatus on /org/vfiod1 (manager-dbus-config.c). */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"
#include "vfd-bus.h" /* POLKIT_ACTION_APPLY_CONFIG */

/* adds the config methods to the Manager interface; after the main vtable */
int manager_dbus_config_register(sd_bus *bus, Manager *m);
