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
 * kind: "pci", "mdev" or "group"; action: the udev action ("add",
 * "remove", "bind", "unbind", "change", ...); name: the device name
 * (PCI address, mdev UUID, IOMMU group number).
 */
typedef void (*inventory_changed_t)(const char *kind, const char *action,
				    const char *name, void *userdata);

int inventory_monitor_new(sd_event *event, inventory_changed_t cb, void *userdata,
			  InventoryMonitor **ret);
InventoryMonitor *inventory_monitor_free(InventoryMonitor *mon);
VFD_DEFINE_CLEANUP(InventoryMonitor, inventory_monitor_free)

/*
 * Maps a udev event to the kind of inventory it changes. Returns the kind
 * and stores the name to report in *ret_name (pointing into sysname), or
 * returns NULL for events that do not change the inventory.
 */
const char *inventory_event_classify(const char *subsystem, const char *sysname,
				     const char **ret_name);
