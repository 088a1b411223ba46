/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SetSriovNumVFs and RestoreSriov on /org/vfiod1 (manager-dbus-sriov.c). */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"

/* adds the SR-IOV methods to the Manager interface; after the host properties */
int manager_dbus_sriov_register(sd_bus *bus, Manager *m);
