/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How libvfiod's inventory objects become D-Bus records: one a{sv} per
 * object, with exactly the keys documented in docs/org.vfiod1.Manager.xml
 * (vfioctl's JSON uses the same keys). Each function appends one whole
 * a{sv} container.
 */
#pragma once

#include <systemd/sd-bus.h>

#include "inventory.h" /* the daemon's, which includes vfiod/inventory.h */
#include "vfiod/vfio-variant.h"

/* inv: the functions' names (inventory_device_names()); d and g are inv's */
int bus_append_device_record(sd_bus_message *m, const Inventory *inv, const vfd_pci_device *d);
/* what GetDevice adds to one function's record (ListDevices: none) */
typedef struct DeviceRecordExtras {
	/* the VFIO driver a claim takes ("vfio_driver", "vfio_driver_source"); NULL: left out */
	const vfd_vfio_choice *vfio;
	/* "quarantined" (false or true), and with true "quarantine_reason" and "quarantine_vm" */
	bool quarantine_known;
	const char *quarantine_reason; /* NULL: not quarantined */
	const char *quarantine_vm;     /* the VM the function left; NULL: not known (key left out) */
} DeviceRecordExtras;

/* the same, with extras (lib/include/vfiod/vfio-variant.h, daemon/quarantine.h) */
int bus_append_device_record_extras(sd_bus_message *m, const Inventory *inv, const vfd_pci_device *d,
				    const DeviceRecordExtras *extras);
int bus_append_group_record(sd_bus_message *m, const Inventory *inv, const vfd_iommu_group *g);
int bus_append_mdev_parent_record(sd_bus_message *m, const vfd_mdev_parent *p);
int bus_append_mdev_type_record(sd_bus_message *m, const vfd_mdev_type *t);
int bus_append_mdev_record(sd_bus_message *m, const vfd_mdev *mdev);
