/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host inventory kept in memory: PCI functions, IOMMU groups, mdev
 * parents (with their types) and mdevs, as libvfiod reads them, so that the
 * inventory methods answer without touching sysfs.
 *
 * What changes it: the kernel's uevents (inventory-monitor.c) name the
 * device that changed; inventory_note_*() marks that device stale, and the
 * next query re-reads only the stale entries, plus what the change touches:
 *   - a PCI function: itself, its IOMMU group before and after (members'
 *     drivers make the group's viability), its PF (numvfs, virtfn links),
 *     and itself as an mdev parent (a parent driver bound or unbound);
 *   - an mdev: itself, its parent (available_instances of its types), its
 *     group before and after;
 *   - a VFIO group node: that group;
 *   - any other device: itself as an mdev parent (mdev_register_parent()
 *     announces itself with a "change" uevent of the parent device);
 *   - a write of a function's driver_override, which has no uevent: the
 *     function (inotify, inventory_watch_overrides()).
 * A stale entry that is gone when re-read leaves the inventory; nothing is
 * ever half there. When events may have been lost (the monitor socket
 * overflowed, ENOBUFS) inventory_note_all() makes the next query read
 * everything afresh.
 *
 * With a fixture root there are no uevents: the inventory is read afresh
 * after every write vfiod made through its context (vfd_context_writes()),
 * which is how a fixture changes under a running vfiod. "Direct" mode
 * (vfiod --inventory-direct, tests only) reads everything on every query.
 *
 * Queries return views owned by the inventory, valid until the next query
 * or note: handlers serialize them at once.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "vfiod/inventory.h"

typedef struct Inventory Inventory;

/* direct: no cache at all, every query reads the whole host (tests' reference) */
int inventory_new(vfd_context *ctx, bool direct, Inventory **ret);
Inventory *inventory_free(Inventory *inv);
VFD_DEFINE_CLEANUP(Inventory, inventory_free)

/*
 * The kernel sends no uevent for a write of driver_override: watch those
 * writes (inotify on each function's attribute) as well. Real root only.
 */
int inventory_watch_overrides(Inventory *inv);

/* ---- what the uevents say changed ---- */
void inventory_note_pci(Inventory *inv, const char *address);
void inventory_note_mdev(Inventory *inv, const char *uuid);
void inventory_note_group(Inventory *inv, const char *number);
void inventory_note_other(Inventory *inv, const char *sysname); /* maybe an mdev parent */
void inventory_note_all(Inventory *inv);                        /* events were lost */

/*
 * Bumped whenever what a query returns may differ from the last one: a
 * serialized reply built at generation G stays valid while it is G. Call
 * inventory_refresh() first.
 */
int inventory_refresh(Inventory *inv);
unsigned long inventory_generation(const Inventory *inv);

/* ---- queries: inventory_refresh() first; sorted as libvfiod sorts them ---- */
void inventory_devices(const Inventory *inv, vfd_pci_device *const **ret, size_t *ret_n);
/* NULL when there is no such function */
const vfd_pci_device *inventory_device(const Inventory *inv, const vfd_pci_address *addr);
/* d's vendor and device names from the hardware database, NULL where unknown (inventory-names.h) */
void inventory_device_names(const Inventory *inv, const vfd_pci_device *d,
			    const char **ret_vendor, const char **ret_device);
void inventory_groups(const Inventory *inv, vfd_iommu_group *const **ret, size_t *ret_n);
const vfd_iommu_group *inventory_group(const Inventory *inv, unsigned id);
void inventory_mdev_parents(const Inventory *inv, vfd_mdev_parent *const **ret, size_t *ret_n);
const vfd_mdev_parent *inventory_mdev_parent(const Inventory *inv, const char *name);
void inventory_mdevs(const Inventory *inv, vfd_mdev *const **ret, size_t *ret_n);
