/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Watches udev for changes of the host inventory (PCI functions, mdevs,
 * VFIO group nodes) and reports each one, already classified, to a
 * callback. Event-driven: the udev monitor's socket is an sd-event I/O
 * source; nothing polls.
 */
#pragma once

#include <systemd/sd-event.h>

#include "vfiod/util.h"

typedef struct InventoryMonitor InventoryMonitor;

/*
 * kind: "pci", "mdev" or "group", and with INVENTORY_MONITOR_KERNEL also
 * "other" (a device of any other subsystem, named by its sysname); action:
 * the udev action ("add", "remove", "bind", "unbind", "change", ...);
 * name: the device name (PCI address, mdev UUID, IOMMU group number).
 */
typedef void (*inventory_changed_t)(const char *kind, const char *action,
				    const char *name, void *userdata);
/* events were lost (the socket overflowed): nothing reported can be trusted complete */
typedef void (*inventory_lost_t)(void *userdata);

typedef enum InventoryMonitorSource {
	INVENTORY_MONITOR_UDEV,   /* after udevd: pci, mdev, vfio only */
	INVENTORY_MONITOR_KERNEL, /* the kernel's uevents, every subsystem */
} InventoryMonitorSource;

/* lost may be NULL; the I/O source runs before other sources of the loop */
int inventory_monitor_new(sd_event *event, InventoryMonitorSource source,
			  inventory_changed_t cb, inventory_lost_t lost, void *userdata,
			  InventoryMonitor **ret);
InventoryMonitor *inventory_monitor_free(InventoryMonitor *mon);
/*
 * Reports every event queued on the socket now, without waiting: a query
 * calls it first, so that a change whose uevent the kernel queued before
 * the query is seen by it.
 */
void inventory_monitor_drain(InventoryMonitor *mon);
VFD_DEFINE_CLEANUP(InventoryMonitor, inventory_monitor_free)

/*
 * Maps a udev event to the kind of inventory it changes. Returns the kind
 * and stores the name to report in *ret_name (pointing into sysname), or
 * returns NULL for events that do not change the inventory.
 */
const char *inventory_event_classify(const char *subsystem, const char *sysname,
				     const char **ret_name);
