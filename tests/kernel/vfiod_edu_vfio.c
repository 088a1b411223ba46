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
 * tests can show the selection by alias on a real kernel. It serves only
 * edu (1234:11e8) and counts the opens of each device in sysfs:
 *
 *   /sys/bus/pci/devices/<bdf>/edu_vfio_opens  (ro) times the device was opened
 *
 * which proves that a VMM's DMA went through this driver and not vfio-pci.
 */

#include <linux/atomic.h>
#include <linux/device.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/vfio_pci_core.h>

#define EDU_VENDOR_ID 0x1234
#define EDU_DEVICE_ID 0x11e8

struct edu_vfio_device {
	struct vfio_pci_core_device core;
	atomic_t opens;
};

static struct edu_vfio_device *to_edu(struct vfio_device *vdev)
{
	return container_of(vdev, struct edu_vfio_device, core.vdev);
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

static const struct vfio_device_ops edu_vfio_ops = {
	.name		= "vfiod-edu-vfio",
	.init		= vfio_pci_core_init_dev,
	.release	= vfio_pci_core_release_dev,
	.open_device	= edu_vfio_open_device,
	.close_device	= vfio_pci_core_close_device,
	.ioctl		= vfio_pci_core_ioctl,
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
	struct vfio_pci_core_device *core = dev_get_drvdata(dev);
	struct edu_vfio_device *edu = container_of(core, struct edu_vfio_device, core);

	return sysfs_emit(buf, "%d\n", atomic_read(&edu->opens));
}
static DEVICE_ATTR(edu_vfio_opens, 0444, edu_vfio_opens_show, NULL);

static int edu_vfio_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct edu_vfio_device *edu;
	int ret;

	edu = vfio_alloc_device(edu_vfio_device, core.vdev, &pdev->dev, &edu_vfio_ops);
	if (IS_ERR(edu))
		return PTR_ERR(edu);
	atomic_set(&edu->opens, 0);
	dev_set_drvdata(&pdev->dev, &edu->core);

	ret = vfio_pci_core_register_device(&edu->core);
	if (ret)
		goto err_put;
	ret = device_create_file(&pdev->dev, &dev_attr_edu_vfio_opens);
	if (ret)
		goto err_unregister;
	return 0;

err_unregister:
	vfio_pci_core_unregister_device(&edu->core);
err_put:
	vfio_put_device(&edu->core.vdev);
	return ret;
}

static void edu_vfio_remove(struct pci_dev *pdev)
{
	struct vfio_pci_core_device *core = dev_get_drvdata(&pdev->dev);

	device_remove_file(&pdev->dev, &dev_attr_edu_vfio_opens);
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
	.driver_managed_dma	= true,
};
module_pci_driver(edu_vfio_driver);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vfiod test: VFIO variant driver for QEMU's edu device");
