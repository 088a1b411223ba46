/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"

/* the kernel's VFIO features as Manager properties (Iommufd, VfioCdev, ...) */
int manager_dbus_host_register(sd_bus *bus, Manager *m);
/* the backend "auto" stands for: iommufd where the kernel has all it needs, else type1 */
int manager_default_backend(Manager *m, const char **ret);
