/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Loading a VFIO driver's module without the right to load modules.
 *
 * vfiod runs with ProtectKernelModules=yes and without CAP_SYS_MODULE
 * (systemd/vfiod.service.in), so it cannot call modprobe itself. When a
 * claim needs a VFIO driver whose module is not loaded, vfiod asks systemd
 * to start modprobe@MODULE.service (systemd's own template, shipped with
 * systemd since 245) over D-Bus, asynchronously: the call returns at once,
 * the reply is only logged, and the claim goes on as the rules of
 * lib/include/vfiod/vfio-variant.h say (an explicit choice fails with
 * DriverNotLoaded and is retried, a choice by alias takes vfio-pci this
 * time). The configuration retries a waiting binding when udev reports the
 * module (config-apply.c). Claims made at start-up, before vfiod is on the
 * bus, have their requests sent once it is (manager_startup()); each
 * module is asked for once per run (manager.c). Without
 * systemd as PID 1 nobody is asked: the log says the module must be loaded.
 */
#pragma once

#include <systemd/sd-bus.h>

/*
 * Asks systemd to load module (a valid module name). 1 when a request was
 * sent, 0 when there is no systemd to ask, negative errno on failure.
 */
int module_load_request(sd_bus *bus, const char *module);
