/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which device a libvirt device alias names, per domain (by domain UUID).
 *
 * libvirt's DEVICE_ADDED and DEVICE_REMOVED events carry only the alias
 * ("hostdev0", "ua-..."), and an alias is a label any client that may
 * attach devices chooses: it never names a device by itself, whatever it
 * looks like. What a device is comes only from the live domain XML: a
 * <hostdev type='pci'> by its source address, a <hostdev type='mdev'> by
 * its source UUID (and <interface type='hostdev'>, libvirt's PCI hostdev
 * under another element). Disks, NICs and every other element are never
 * host devices, whatever their alias.
 *
 * When a device is added the live XML says what the alias is; when it is
 * removed the device is gone from the XML, so the mapping has to be
 * remembered from before: this table, replaced from the live XML when
 * vfiod connects, when a domain starts and on every DEVICE_ADDED, and
 * emptied for a domain that stops.
 */
#pragma once

#define LIBVIRT_VFIOD_ALIAS_PREFIX "ua-vfiod-"

#include <stdbool.h>
#include <stddef.h>

#include "vfiod/domain-xml.h"
#include "vfiod/mdev-ctl.h"

typedef struct LibvirtDevices LibvirtDevices;

typedef struct LibvirtDevice {
	char name[VFD_UUID_STRLEN]; /* canonical PCI address or lower-case mdev UUID, as VMDevice */
	bool is_mdev;
	bool libvirt_managed;       /* managed='yes': libvirt's own, not vfiod's to claim */
} LibvirtDevice;

int libvirt_devices_new(LibvirtDevices **ret);
LibvirtDevices *libvirt_devices_free(LibvirtDevices *t);
VFD_DEFINE_CLEANUP(LibvirtDevices, libvirt_devices_free)

/* domain: the domain's UUID (canonical, lower case) */

/* -ENOENT when the alias is not known for domain. */
int libvirt_devices_get(const LibvirtDevices *t, const char *domain, const char *alias, LibvirtDevice *ret);
void libvirt_devices_forget(LibvirtDevices *t, const char *domain, const char *alias);
void libvirt_devices_forget_domain(LibvirtDevices *t, const char *domain);
size_t libvirt_devices_count(const LibvirtDevices *t, const char *domain);

/*
 * vfioctl names the hostdevs it attaches "ua-vfiod-" + the device, with
 * ':' and '.' as '-' (cli/vm-libvirt.c): "ua-vfiod-0000-01-00-0" is PCI
 * function 0000:01:00.0, "ua-vfiod-<uuid>" an mdev. -EINVAL for any other
 * alias. The alias is only a name vfioctl chose: a device is always taken
 * from the live XML (libvirt_devices_learn()); this only tells whether a
 * hostdev's alias claims to be another device than it is.
 */
int libvirt_device_from_vfiod_alias(const char *alias, LibvirtDevice *ret);

/* What one entry of vfd_domain_hostdev_aliases() names. */
void libvirt_device_from_alias(const vfd_domain_alias *a, LibvirtDevice *ret);

/*
 * Replaces what the table holds for domain with the VFIO host devices of
 * a live XML (vfd_domain_hostdev_aliases()): aliases the XML no longer
 * has are forgotten. All or nothing: -ENOMEM leaves the table as it was.
 */
int libvirt_devices_replace(LibvirtDevices *t, const char *domain, const vfd_domain_alias *aliases,
			    size_t n);

/*
 * Reads a live domain XML (untrusted: lib/domain-xml.c) and makes the
 * table hold exactly its VFIO host devices for domain
 * (libvirt_devices_replace()). When alias is not NULL, also returns the
 * device the XML gives that alias: -ENOENT when no VFIO host device of
 * the XML carries it (a disk, a NIC, ... with that alias, or none).
 * Parse errors as vfd_domain_hostdev_aliases(), with the message in
 * *error_message; the table is then unchanged.
 */
int libvirt_devices_learn(LibvirtDevices *t, const char *domain, const char *xml, size_t size,
			  const char *alias, LibvirtDevice *ret, char **error_message);

/*
 * 1 when a live domain XML (untrusted) still has a VFIO host device named
 * name (PCI address or mdev UUID, as LibvirtDevice.name) under any alias,
 * 0 when not; parse errors as vfd_domain_hostdev_aliases(). A
 * DEVICE_REMOVED is believed only when the device is gone from the XML.
 */
int libvirt_devices_xml_has(const char *xml, size_t size, const char *name, char **error_message);
