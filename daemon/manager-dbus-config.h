/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ApplyConfig and GetConfigStatus on /org/vfiod1 (manager-dbus-config.c). */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"

/* the polkit action ApplyConfig is checked against (systemd/org.vfiod1.policy) */
#define POLKIT_ACTION_APPLY_CONFIG "org.vfiod1.apply-config"

/* adds the config methods to the Manager interface; after the main vtable */
int manager_dbus_config_register(sd_bus *bus, Manager *m);
