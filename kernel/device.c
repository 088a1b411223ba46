// SPDX-License-Identifier: GPL-2.0
/*
 * Device users: who still holds the struct vfio_device of a PCI function.
 *
 * Unbinding a device from its VFIO driver drops the registration's own
 * reference and then waits in vfio_unregister_group_dev() until every open
 * file of the device has been released: interruptibly at first, then,
 * after a signal, without end. vfiod must not start such an unbind while
 * its VMM may still hold the device's cdev. On type1 a group detached from
 * its container proves the device closed; on iommufd nothing visible to
 * user space does, so this reports the references themselves.
 *
 * The struct vfio_device is found as the function's child in the
 * "vfio-dev" class: vfio_device_add() registers the embedded struct device
 * there, with the function as its parent, for every VFIO driver (vfio-pci
 * and the vfio_pci_core variant drivers alike), and vfio_device_del()
 * removes it before the unbind waits. That needs no guess about the type
 * behind the function's drvdata. The function's device lock keeps probe
 * and remove out while the references are read; it is only tried, because
 * an unbind stuck waiting for a user holds it for as long as that user
 * keeps the device open.
 */

#include <linux/device.h>
#include <linux/netlink.h>
#include <linux/pci.h>
#include <linux/refcount.h>
#include <linux/string.h>
#include <linux/vfio.h>

#include "vfiod_mm_priv.h"

#define VFIOD_MM_VFIO_CLASS "vfio-dev"

/*
 * device_for_each_child() callback: takes a reference to the first child
 * in the "vfio-dev" class and stops there. (Not device_find_child(): its
 * match callback's data became const in 6.14, and this builds on 6.12 and
 * 7.x alike.)
 */
static int vfiod_mm_take_vfio_dev(struct device *dev, void *data)
{
	struct device **ret = data;

	if (!dev->class || strcmp(dev->class->name, VFIOD_MM_VFIO_CLASS))
		return 0;
	*ret = get_device(dev);
	return 1;
}

static int vfiod_mm_read_users(struct device *dev,
			       struct netlink_ext_ack *extack,
			       struct vfiod_mm_device_users *ret)
{
	struct vfio_device *vdev;
	struct device *child = NULL;

	if (!dev->driver) {
		NL_SET_ERR_MSG_MOD(extack, "the function has no driver");
		return -EOPNOTSUPP;
	}
	device_for_each_child(dev, &child, vfiod_mm_take_vfio_dev);
	if (!child) {
		NL_SET_ERR_MSG_MOD(extack,
				   "the function's driver is not a VFIO driver");
		return -EOPNOTSUPP;
	}
	vdev = container_of(child, struct vfio_device, device);
	if (WARN_ON_ONCE(vdev->dev != dev)) {
		put_device(child);
		return -EOPNOTSUPP;
	}

	/* Snapshots: files open and close without the device lock. */
	ret->registrations = refcount_read(&vdev->refcount);
	ret->open_count = READ_ONCE(vdev->open_count);
	strscpy(ret->driver, dev->driver->name, sizeof(ret->driver));
	strscpy(ret->vfio_dev, dev_name(child), sizeof(ret->vfio_dev));
	strscpy(ret->name, dev_name(dev), sizeof(ret->name));
	put_device(child);
	return 0;
}

int vfiod_mm_device_users(const char *name, struct netlink_ext_ack *extack,
			  struct vfiod_mm_device_users *ret)
{
	struct device *dev;
	int err;

	dev = bus_find_device_by_name(&pci_bus_type, NULL, name);
	if (!dev) {
		NL_SET_ERR_MSG_MOD(extack, "no such PCI function");
		return -ENODEV;
	}
	if (!device_trylock(dev)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "the function is being probed or unbound");
		put_device(dev);
		return -EBUSY;
	}
	err = vfiod_mm_read_users(dev, extack, ret);
	device_unlock(dev);
	put_device(dev);
	return err;
}
