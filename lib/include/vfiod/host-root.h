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

/* at most this many block devices: see vfd_host_root_devices() */
#define VFD_HOST_ROOT_DEVS_MAX 16

/*
 * The block devices the running system cannot lose (stat(2), not below a
 * fixture root): those of "/", "/usr", "/var", "/boot", "/boot/efi" and
 * "/efi" (automount points not triggered), and of the active swap areas
 * (/proc/swaps: a swap partition, or the disk of a swap file); the count.
 * A btrfs file system (st_dev major 0) gives its member devices, read
 * from the running system's sys/fs/btrfs/FSID/devices. Other file
 * systems without a block device (tmpfs, overlayfs, ZFS) give nothing.
 */
size_t vfd_host_root_devices(dev_t ret[static VFD_HOST_ROOT_DEVS_MAX]);

/* the paths of the swap areas in text, /proc/swaps' (octal escapes undone); vfd_strv_free */
int vfd_swaps_parse(const char *text, char ***ret);

/* the same for the tree at dir ("" or "/": the running system's), its sysfs ctx's (NULL: no btrfs members) */
size_t vfd_host_root_devices_at(vfd_context *ctx, const char *dir,
				dev_t ret[static VFD_HOST_ROOT_DEVS_MAX]);

/*
 * Appends to ret (up to max, *n counts) the devices (sys/fs/btrfs/FSID/
 * devices/NAME/dev) of the btrfs file system fsid that are not in it yet.
 */
int vfd_btrfs_member_devices(vfd_context *ctx, const char *fsid, dev_t *ret, size_t max, size_t *n);

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
