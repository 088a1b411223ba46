/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The host's root file systems and the PCI functions they sit on: a guard
 * against taking the disk controller of "/" or "/usr" from the host (a
 * claim, a bind, a boot-time rule). lib/host-root.c.
 */
#include <stddef.h>
#include <sys/types.h>

#include "vfiod/inventory.h"

/* at most this many: "/" and "/usr" */
#define VFD_HOST_ROOT_DEVS_MAX 2

/* st_dev of "/" and "/usr" (the running system's, not below a fixture root); the count */
size_t vfd_host_root_devices(dev_t ret[static VFD_HOST_ROOT_DEVS_MAX]);

/*
 * 1 when a block device of devs sits on PCI function pci (the canonical
 * address), itself or through the devices it is built on (dm, md slaves,
 * the controllers of an NVMe multipath subsystem),
 * with *ret_dev that block device; 0 when none does. Devices that are no
 * block device (major 0: tmpfs, overlay...) and sysfs entries that cannot
 * be read are passed by: the guard cannot tell, and does not refuse.
 */
int vfd_pci_carries_host_root(vfd_context *ctx, const char *pci, const dev_t *devs, size_t n_devs,
			      dev_t *ret_dev);
