/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ListQuarantine and ClearQuarantine: the quarantine's vtable on /org/vfiod1 */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"

int manager_dbus_quarantine_register(sd_bus *bus, Manager *m);
