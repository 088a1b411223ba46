/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The vfiod manager: owns the event loop, the bus connection, the
 * libvfiod context and the udev monitor. Everything that answers a
 * question about the host lives here or in libvfiod; manager-dbus.c only
 * translates between the bus and these functions.
 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "inventory-monitor.h"
#include "vfiod.h"

typedef struct Manager {
	sd_event *event;
	sd_bus *bus;
	vfd_context *ctx;
	InventoryMonitor *monitor;

	char *root;        /* NULL: the real system */
	char *bus_address; /* NULL: the system bus */
} Manager;

/* root: fixture tree or NULL; bus_address: a private bus or NULL */
int manager_new(const char *root, const char *bus_address, Manager **ret);
Manager *manager_free(Manager *m);
VFD_DEFINE_CLEANUP(Manager, manager_free)

/* connects to the bus, exports the object, requests the name, starts watching udev */
int manager_startup(Manager *m);
/* runs until SIGTERM/SIGINT or a fatal error; returns the exit code's errno */
int manager_run(Manager *m);

/* ---- queries: the core the bus handlers call ---- */

/* -ENODEV when there is no such PCI function */
int manager_get_device(Manager *m, const vfd_pci_address *addr, vfd_pci_device **ret);
/* -ENOENT when there is no such IOMMU group */
int manager_get_group(Manager *m, unsigned id, vfd_iommu_group **ret);
/*
 * The mdev parents, all of them when name is NULL or "", else only the
 * named one (-ENXIO when no parent has that name).
 */
int manager_get_mdev_parents(Manager *m, const char *name,
			     vfd_mdev_parent ***ret, size_t *ret_n);
