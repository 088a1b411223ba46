/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which device a libvirt device alias names, per domain.
 *
 * libvirt's DEVICE_ADDED and DEVICE_REMOVED events carry only the alias
 * ("hostdev0", "ua-..."). When a device is added the live XML still says
 * what the alias is; when it is removed the device is gone from the XML,
 * so the mapping has to be remembered from before: this table, filled
 * from the live XML when vfiod connects, when a domain starts and on
 * every DEVICE_ADDED, and emptied for a domain that stops.
 */
#pragma once

#define LIBVIRT_VFIOD_ALIAS_PREFIX "ua-vfiod-"

#include <stdbool.h>
#include <stddef.h>

#include "domain-xml.h"
#include "vfiod-mdev-ctl.h"

typedef struct LibvirtDevices LibvirtDevices;

typedef struct LibvirtDevice {
	char name[VFD_UUID_STRLEN]; /* canonical PCI address or lower-case mdev UUID, as VMDevice */
	bool is_mdev;
	bool libvirt_managed;       /* managed='yes': libvirt's own, not vfiod's to claim */
} LibvirtDevice;

int libvirt_devices_new(LibvirtDevices **ret);
LibvirtDevices *libvirt_devices_free(LibvirtDevices *t);
VFD_DEFINE_CLEANUP(LibvirtDevices, libvirt_devices_free)

/* Remembers (or replaces) what alias names in domain. */
int libvirt_devices_set(LibvirtDevices *t, const char *domain, const char *alias, const LibvirtDevice *dev);
/* -ENOENT when the alias is not known for domain. */
int libvirt_devices_get(const LibvirtDevices *t, const char *domain, const char *alias, LibvirtDevice *ret);
void libvirt_devices_forget(LibvirtDevices *t, const char *domain, const char *alias);
void libvirt_devices_forget_domain(LibvirtDevices *t, const char *domain);
size_t libvirt_devices_count(const LibvirtDevices *t, const char *domain);

/*
 * vfioctl names the hostdevs it attaches "ua-vfiod-" + the device, with
 * ':' and '.' as '-' (cli/vm-libvirt.c): "ua-vfiod-0000-01-00-0" is PCI
 * function 0000:01:00.0, "ua-vfiod-<uuid>" an mdev. -EINVAL for any other
 * alias. Such an alias needs no look at the domain XML.
 */
int libvirt_device_from_vfiod_alias(const char *alias, LibvirtDevice *ret);

/* What one entry of vfd_domain_hostdev_aliases() names. */
void libvirt_device_from_alias(const vfd_domain_alias *a, LibvirtDevice *ret);

/*
 * Reads a live domain XML (untrusted: lib/domain-xml.c) and remembers
 * every VFIO host device alias in it for domain. When alias is not NULL,
 * also returns what it names: -ENOENT when the XML has no VFIO host
 * device with that alias. Parse errors as vfd_domain_hostdev_aliases(),
 * with the message in *error_message.
 */
int libvirt_devices_learn(LibvirtDevices *t, const char *domain, const char *xml, size_t size,
			  const char *alias, LibvirtDevice *ret, char **error_message);
