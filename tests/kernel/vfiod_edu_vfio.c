// SPDX-License-Identifier: GPL-2.0
/*
 * vfiod_edu_vfio - a test VFIO variant driver for QEMU's edu device
 *
 * Vendors ship VFIO "variant" drivers: PCI drivers built on vfio_pci_core
 * that offer the whole vfio-pci interface plus device-specific extras
 * (migration, vendor regions). They declare the devices they serve with
 * PCI_DRIVER_OVERRIDE_DEVICE_VFIO, so that
 *   - the kernel never binds them on its own (override_only: they match a
 *     device only once driver_override names them), and
 *   - depmod writes a "vfio_pci:" alias for them into modules.alias, from
 *     which user space (libvirt, vfiod) picks the best VFIO driver.
 *
 * This one adds nothing to vfio-pci; it exists so that vfiod's nested-VM
 * tests can show the selection by alias on a real kernel, and how vfiod
 * deals with a reset that fails. It serves only edu (1234:11e8) and has,
 * per device, in sysfs:
 *
 *   /sys/bus/pci/devices/<bdf>/edu_vfio_opens       (ro) times the device was opened
 *   /sys/bus/pci/devices/<bdf>/edu_vfio_resets      (ro) VFIO_DEVICE_RESETs that
 *                                                  reached vfio_pci_core
 *   /sys/bus/pci/devices/<bdf>/edu_vfio_fail_reset  (rw) test hook for
 *                                                  VFIO_DEVICE_RESET:
 *       off   as vfio-pci (default)
 *       eio   fails with -EIO and leaves the device alone, as a device
 *             whose reset times out would
 *       noop  answers success without resetting, as a driver that
 *             believes a reset the device ignored
 *
 * The opens prove that a VMM's DMA went through this driver and not
 * vfio-pci; the hook makes vfiod's reset between VMs fail on demand.
 * Only VFIO_DEVICE_RESET is hooked: the resets vfio_pci_core does by
 * itself (at open and at the last close) still happen.
 */

#include <linux/atomic.h>
#include <linux/device.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/vfio_pci_core.h>

#define EDU_VENDOR_ID 0x1234
#define EDU_DEVICE_ID 0x11e8

enum edu_vfio_fail_reset {
	EDU_VFIO_RESET_OFF,
	EDU_VFIO_RESET_EIO,
	EDU_VFIO_RESET_NOOP,
};

static const char * const edu_vfio_fail_reset_names[] = {
	[EDU_VFIO_RESET_OFF]	= "off",
	[EDU_VFIO_RESET_EIO]	= "eio",
	[EDU_VFIO_RESET_NOOP]	= "noop",
};

struct edu_vfio_device {
	struct vfio_pci_core_device core;
	atomic_t opens;
	atomic_t resets;
	int fail_reset;		/* enum edu_vfio_fail_reset, READ_ONCE/WRITE_ONCE */
};

static struct edu_vfio_device *to_edu(struct vfio_device *vdev)
{
	return container_of(vdev, struct edu_vfio_device, core.vdev);
}

static struct edu_vfio_device *dev_to_edu(struct device *dev)
{
	struct vfio_pci_core_device *core = dev_get_drvdata(dev);

	return container_of(core, struct edu_vfio_device, core);
}

static int edu_vfio_open_device(struct vfio_device *vdev)
{
	struct edu_vfio_device *edu = to_edu(vdev);
	int ret;

	ret = vfio_pci_core_enable(&edu->core);
	if (ret)
		return ret;
	vfio_pci_core_finish_enable(&edu->core);
	atomic_inc(&edu->opens);
	return 0;
}

static long edu_vfio_ioctl(struct vfio_device *vdev, unsigned int cmd, unsigned long arg)
{
	struct edu_vfio_device *edu = to_edu(vdev);

	if (cmd == VFIO_DEVICE_RESET) {
		switch (READ_ONCE(edu->fail_reset)) {
		case EDU_VFIO_RESET_EIO:
			return -EIO;
		case EDU_VFIO_RESET_NOOP:
			return 0;
		default:
			atomic_inc(&edu->resets);
			break;
		}
	}
	return vfio_pci_core_ioctl(vdev, cmd, arg);
}

static const struct vfio_device_ops edu_vfio_ops = {
	.name		= "vfiod-edu-vfio",
	.init		= vfio_pci_core_init_dev,
	.release	= vfio_pci_core_release_dev,
	.open_device	= edu_vfio_open_device,
	.close_device	= vfio_pci_core_close_device,
	.ioctl		= edu_vfio_ioctl,
#ifdef EDU_VFIO_GET_REGION_INFO_CAPS
	.get_region_info_caps = vfio_pci_ioctl_get_region_info,
#endif
	.device_feature	= vfio_pci_core_ioctl_feature,
	.read		= vfio_pci_core_read,
	.write		= vfio_pci_core_write,
	.mmap		= vfio_pci_core_mmap,
	.request	= vfio_pci_core_request,
	.match		= vfio_pci_core_match,
	.bind_iommufd	= vfio_iommufd_physical_bind,
	.unbind_iommufd	= vfio_iommufd_physical_unbind,
	.attach_ioas	= vfio_iommufd_physical_attach_ioas,
	.detach_ioas	= vfio_iommufd_physical_detach_ioas,
};

static ssize_t edu_vfio_opens_show(struct device *dev, struct device_attribute *attr,
				   char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&dev_to_edu(dev)->opens));
}
static DEVICE_ATTR_RO(edu_vfio_opens);

static ssize_t edu_vfio_resets_show(struct device *dev, struct device_attribute *attr,
				    char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&dev_to_edu(dev)->resets));
}
static DEVICE_ATTR_RO(edu_vfio_resets);

static ssize_t edu_vfio_fail_reset_show(struct device *dev, struct device_attribute *attr,
					char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  edu_vfio_fail_reset_names[READ_ONCE(dev_to_edu(dev)->fail_reset)]);
}

static ssize_t edu_vfio_fail_reset_store(struct device *dev, struct device_attribute *attr,
					 const char *buf, size_t count)
{
	int mode = sysfs_match_string(edu_vfio_fail_reset_names, buf);

	if (mode < 0)
		return mode;
	WRITE_ONCE(dev_to_edu(dev)->fail_reset, mode);
	return count;
}
static DEVICE_ATTR_RW(edu_vfio_fail_reset);

/* created by the driver core after probe, removed before remove */
static struct attribute *edu_vfio_attrs[] = {
	&dev_attr_edu_vfio_opens.attr,
	&dev_attr_edu_vfio_resets.attr,
	&dev_attr_edu_vfio_fail_reset.attr,
	NULL
};
ATTRIBUTE_GROUPS(edu_vfio);

static int edu_vfio_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct edu_vfio_device *edu;
	int ret;

	edu = vfio_alloc_device(edu_vfio_device, core.vdev, &pdev->dev, &edu_vfio_ops);
	if (IS_ERR(edu))
		return PTR_ERR(edu);
	atomic_set(&edu->opens, 0);
	atomic_set(&edu->resets, 0);
	edu->fail_reset = EDU_VFIO_RESET_OFF;
	dev_set_drvdata(&pdev->dev, &edu->core);

	ret = vfio_pci_core_register_device(&edu->core);
	if (ret)
		goto err_put;
	return 0;

err_put:
	vfio_put_device(&edu->core.vdev);
	return ret;
}

static void edu_vfio_remove(struct pci_dev *pdev)
{
	struct vfio_pci_core_device *core = dev_get_drvdata(&pdev->dev);

	vfio_pci_core_unregister_device(core);
	vfio_put_device(&core->vdev);
}

static const struct pci_device_id edu_vfio_table[] = {
	{ PCI_DRIVER_OVERRIDE_DEVICE_VFIO(EDU_VENDOR_ID, EDU_DEVICE_ID) },
	{}
};
MODULE_DEVICE_TABLE(pci, edu_vfio_table);

static struct pci_driver edu_vfio_driver = {
	.name			= KBUILD_MODNAME,
	.id_table		= edu_vfio_table,
	.probe			= edu_vfio_probe,
	.remove			= edu_vfio_remove,
	.err_handler		= &vfio_pci_core_err_handlers,
	.dev_groups		= edu_vfio_groups,
	.driver_managed_dma	= true,
};
module_pci_driver(edu_vfio_driver);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vfiod test: VFIO variant driver for QEMU's edu device");
