/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfioctl vm add-device|remove-device NAME DEVICE --libvirt: hotplug into
 * a running libvirt domain (named like the VM) in the order that keeps
 * QEMU's RLIMIT_MEMLOCK ahead of its pins (docs/libvirt.md):
 *
 *   add     vfiod claims the device and raises the limit (AddDevice),
 *           then libvirt attaches <hostdev managed='no'> to the live
 *           domain. When the attach fails, vfiod gives the device back
 *           (RemoveDevice), which restores the drivers and the limit,
 *           and the one error names libvirt's reason.
 *   remove  libvirt detaches the device; once it reports the device
 *           removed (DEVICE_REMOVED: QEMU let go of it), vfiod gives it
 *           back and lowers the limit. vfiod may have done so already
 *           on the same event (daemon/libvirt/libvirt-events.c): that is success.
 *
 * A libvirt connection failure or an unknown domain changes nothing.
 */
#pragma once

#include <systemd/sd-bus.h>

typedef struct VmLibvirtOptions {
	const char *uri;      /* NULL: qemu:///system */
	unsigned timeout_sec; /* remove: how long libvirt may take to detach */
} VmLibvirtOptions;

#define VM_LIBVIRT_DEFAULT_TIMEOUT_SEC 30u

/* path: the VM's object; both print their one error line and return the exit status */
int vm_libvirt_add_device(sd_bus *bus, const char *path, const char *vm, const char *device,
			  const VmLibvirtOptions *o);
int vm_libvirt_remove_device(sd_bus *bus, const char *path, const char *vm, const char *device,
			     const VmLibvirtOptions *o);
