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
/*
 * The same, with the VFIO driver a claim of the function takes
 * ("vfio_driver", "vfio_driver_source": explicit, alias or fallback;
 * lib/include/vfiod/vfio-variant.h) when vfio is not NULL.
 */
int bus_append_device_record_vfio(sd_bus_message *m, const Inventory *inv, const vfd_pci_device *d,
				  const vfd_vfio_choice *vfio);
int bus_append_group_record(sd_bus_message *m, const Inventory *inv, const vfd_iommu_group *g);
int bus_append_mdev_parent_record(sd_bus_message *m, const vfd_mdev_parent *p);
int bus_append_mdev_type_record(sd_bus_message *m, const vfd_mdev_type *t);
int bus_append_mdev_record(sd_bus_message *m, const vfd_mdev *mdev);
