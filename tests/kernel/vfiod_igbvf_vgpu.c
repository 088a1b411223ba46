// SPDX-License-Identifier: GPL-2.0
/*
 * vfiod_igbvf_vgpu - a test VFIO variant driver with a vendor vGPU interface
 *
 * NVIDIA's vGPU manager (vGPU 17 and later) no longer uses mdevs: each vGPU
 * is an SR-IOV VF driven by a vendor VFIO variant driver, and the VF's
 * profile is chosen through two files in the VF's sysfs folder:
 *
 *   nvidia/creatable_vgpu_types  (ro) the types this VF can take now, as
 *                                 "ID    : vGPU Name" then one "%-5u : %s"
 *                                 line per type; only the header once the
 *                                 VF has a type or nothing fits any more
 *   nvidia/current_vgpu_type     (rw) the VF's type, 0 for none
 *
 * This driver offers that interface on the VFs of QEMU's igb (82576 VF,
 * 8086:10ca) so that vfiod's nested-VM tests can manage vGPUs on a real
 * kernel. It is vfio-pci otherwise (built on vfio_pci_core), and behaves
 * the way the real one is documented to:
 *   - a type change while the VF's VFIO device is open is refused (-EBUSY),
 *     so is a change from one type to another without 0 in between;
 *   - the VFIO device cannot be opened while the type is 0 (-ENODEV);
 *   - each type has a maximum count per PF, and a PF runs one type at a
 *     time (homogeneous mode): the creatable list of every VF of the PF
 *     shrinks, then empties, as VFs take types. An unknown type is -EINVAL,
 *     a type the PF cannot take now -ENOSPC.
 *
 * The state is in memory only: a VF leaving the driver loses its type.
 */

#include <linux/device.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/vfio_pci_core.h>

#define IGBVF_VENDOR_ID 0x8086
#define IGBVF_DEVICE_ID 0x10ca /* 82576 Virtual Function, as QEMU's igb exposes it */

struct igbvf_vgpu_type {
	u32 id;
	const char *name;
	unsigned int max_per_pf;
};

/* fake profiles: a bigger framebuffer share, fewer instances per PF */
static const struct igbvf_vgpu_type igbvf_vgpu_types[] = {
	{ 11, "VFIOD-IGBVF-1Q", 4 },
	{ 12, "VFIOD-IGBVF-2Q", 2 },
	{ 14, "VFIOD-IGBVF-4Q", 1 },
};

/* one per PF with a VF on this driver; counts the VFs of each type */
struct igbvf_vgpu_pf {
	struct list_head node;
	struct pci_dev *pdev;
	unsigned int vfs;		/* VFs bound to this driver */
	unsigned int used[ARRAY_SIZE(igbvf_vgpu_types)];
};

struct igbvf_vgpu_device {
	struct vfio_pci_core_device core;
	struct igbvf_vgpu_pf *pf;
	const struct igbvf_vgpu_type *type;	/* NULL: none */
	bool open;
};

/* serializes type changes and opens across all VFs, and the PF list */
static DEFINE_MUTEX(igbvf_vgpu_lock);
static LIST_HEAD(igbvf_vgpu_pfs);

static struct igbvf_vgpu_device *to_igbvf(struct vfio_device *vdev)
{
	return container_of(vdev, struct igbvf_vgpu_device, core.vdev);
}

static struct igbvf_vgpu_device *dev_to_igbvf(struct device *dev)
{
	struct vfio_pci_core_device *core = dev_get_drvdata(dev);

	return container_of(core, struct igbvf_vgpu_device, core);
}

static const struct igbvf_vgpu_type *igbvf_vgpu_find_type(u32 id)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(igbvf_vgpu_types); i++)
		if (igbvf_vgpu_types[i].id == id)
			return &igbvf_vgpu_types[i];
	return NULL;
}

static unsigned int igbvf_vgpu_type_index(const struct igbvf_vgpu_type *type)
{
	return type - igbvf_vgpu_types;
}

/* the PF can take one more VF of type now; under igbvf_vgpu_lock */
static bool igbvf_vgpu_creatable(const struct igbvf_vgpu_pf *pf,
				 const struct igbvf_vgpu_type *type)
{
	unsigned int idx = igbvf_vgpu_type_index(type);
	int i;

	for (i = 0; i < ARRAY_SIZE(igbvf_vgpu_types); i++)
		if (i != idx && pf->used[i])
			return false;	/* homogeneous: another type runs */
	return pf->used[idx] < type->max_per_pf;
}

/* under igbvf_vgpu_lock */
static struct igbvf_vgpu_pf *igbvf_vgpu_pf_get(struct pci_dev *pf_pdev)
{
	struct igbvf_vgpu_pf *pf;

	list_for_each_entry(pf, &igbvf_vgpu_pfs, node)
		if (pf->pdev == pf_pdev)
			goto found;
	pf = kzalloc(sizeof(*pf), GFP_KERNEL);
	if (!pf)
		return NULL;
	pf->pdev = pci_dev_get(pf_pdev);
	list_add(&pf->node, &igbvf_vgpu_pfs);
found:
	pf->vfs++;
	return pf;
}

/* under igbvf_vgpu_lock */
static void igbvf_vgpu_pf_put(struct igbvf_vgpu_pf *pf)
{
	if (--pf->vfs)
		return;
	list_del(&pf->node);
	pci_dev_put(pf->pdev);
	kfree(pf);
}

/* under igbvf_vgpu_lock */
static void igbvf_vgpu_set_type(struct igbvf_vgpu_device *vf,
				const struct igbvf_vgpu_type *type)
{
	if (vf->type)
		vf->pf->used[igbvf_vgpu_type_index(vf->type)]--;
	vf->type = type;
	if (type)
		vf->pf->used[igbvf_vgpu_type_index(type)]++;
}

static ssize_t creatable_vgpu_types_show(struct device *dev,
					 struct device_attribute *attr, char *buf)
{
	struct igbvf_vgpu_device *vf = dev_to_igbvf(dev);
	ssize_t len;
	int i;

	len = sysfs_emit(buf, "ID    : vGPU Name\n");
	mutex_lock(&igbvf_vgpu_lock);
	for (i = 0; !vf->type && i < ARRAY_SIZE(igbvf_vgpu_types); i++) {
		const struct igbvf_vgpu_type *type = &igbvf_vgpu_types[i];

		if (igbvf_vgpu_creatable(vf->pf, type))
			len += sysfs_emit_at(buf, len, "%-5u : %s\n", type->id,
					     type->name);
	}
	mutex_unlock(&igbvf_vgpu_lock);
	return len;
}
static DEVICE_ATTR_RO(creatable_vgpu_types);

static ssize_t current_vgpu_type_show(struct device *dev,
				      struct device_attribute *attr, char *buf)
{
	struct igbvf_vgpu_device *vf = dev_to_igbvf(dev);
	u32 id;

	mutex_lock(&igbvf_vgpu_lock);
	id = vf->type ? vf->type->id : 0;
	mutex_unlock(&igbvf_vgpu_lock);
	return sysfs_emit(buf, "%u\n", id);
}

static ssize_t current_vgpu_type_store(struct device *dev,
				       struct device_attribute *attr,
				       const char *buf, size_t count)
{
	struct igbvf_vgpu_device *vf = dev_to_igbvf(dev);
	const struct igbvf_vgpu_type *type = NULL;
	u32 id;
	int ret;

	ret = kstrtou32(buf, 0, &id);
	if (ret)
		return ret;
	if (id) {
		type = igbvf_vgpu_find_type(id);
		if (!type)
			return -EINVAL;
	}

	mutex_lock(&igbvf_vgpu_lock);
	if (vf->type == type) {
		ret = 0;
	} else if (vf->open) {
		ret = -EBUSY;	/* never under a running VM */
	} else if (type && vf->type) {
		ret = -EBUSY;	/* back to 0 first */
	} else if (type && !igbvf_vgpu_creatable(vf->pf, type)) {
		ret = -ENOSPC;
	} else {
		igbvf_vgpu_set_type(vf, type);
		ret = 0;
	}
	mutex_unlock(&igbvf_vgpu_lock);
	if (ret)
		return ret;
	pci_info(to_pci_dev(dev), "vGPU type %u\n", id);
	return count;
}
static DEVICE_ATTR_RW(current_vgpu_type);

static struct attribute *igbvf_vgpu_attrs[] = {
	&dev_attr_creatable_vgpu_types.attr,
	&dev_attr_current_vgpu_type.attr,
	NULL
};

static const struct attribute_group igbvf_vgpu_group = {
	.name	= "nvidia",
	.attrs	= igbvf_vgpu_attrs,
};

static int igbvf_vgpu_open_device(struct vfio_device *vdev)
{
	struct igbvf_vgpu_device *vf = to_igbvf(vdev);
	int ret;

	mutex_lock(&igbvf_vgpu_lock);
	if (!vf->type) {
		mutex_unlock(&igbvf_vgpu_lock);
		return -ENODEV;
	}
	vf->open = true;
	mutex_unlock(&igbvf_vgpu_lock);

	ret = vfio_pci_core_enable(&vf->core);
	if (ret) {
		mutex_lock(&igbvf_vgpu_lock);
		vf->open = false;
		mutex_unlock(&igbvf_vgpu_lock);
		return ret;
	}
	vfio_pci_core_finish_enable(&vf->core);
	return 0;
}

static void igbvf_vgpu_close_device(struct vfio_device *vdev)
{
	struct igbvf_vgpu_device *vf = to_igbvf(vdev);

	vfio_pci_core_close_device(vdev);
	mutex_lock(&igbvf_vgpu_lock);
	vf->open = false;
	mutex_unlock(&igbvf_vgpu_lock);
}

static const struct vfio_device_ops igbvf_vgpu_ops = {
	.name		= "vfiod-igbvf-vgpu",
	.init		= vfio_pci_core_init_dev,
	.release	= vfio_pci_core_release_dev,
	.open_device	= igbvf_vgpu_open_device,
	.close_device	= igbvf_vgpu_close_device,
	.ioctl		= vfio_pci_core_ioctl,
#ifdef IGBVF_VGPU_GET_REGION_INFO_CAPS
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

static int igbvf_vgpu_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct igbvf_vgpu_device *vf;
	int ret;

	/* a vGPU lives on a VF; the PF's own function is not one */
	if (!pdev->is_virtfn)
		return -ENODEV;

	vf = vfio_alloc_device(igbvf_vgpu_device, core.vdev, &pdev->dev,
			       &igbvf_vgpu_ops);
	if (IS_ERR(vf))
		return PTR_ERR(vf);
	dev_set_drvdata(&pdev->dev, &vf->core);

	mutex_lock(&igbvf_vgpu_lock);
	vf->pf = igbvf_vgpu_pf_get(pci_physfn(pdev));
	mutex_unlock(&igbvf_vgpu_lock);
	if (!vf->pf) {
		ret = -ENOMEM;
		goto err_put;
	}

	ret = vfio_pci_core_register_device(&vf->core);
	if (ret)
		goto err_pf;
	ret = sysfs_create_group(&pdev->dev.kobj, &igbvf_vgpu_group);
	if (ret)
		goto err_unregister;
	return 0;

err_unregister:
	vfio_pci_core_unregister_device(&vf->core);
err_pf:
	mutex_lock(&igbvf_vgpu_lock);
	igbvf_vgpu_pf_put(vf->pf);
	mutex_unlock(&igbvf_vgpu_lock);
err_put:
	vfio_put_device(&vf->core.vdev);
	return ret;
}

static void igbvf_vgpu_remove(struct pci_dev *pdev)
{
	struct igbvf_vgpu_device *vf = dev_to_igbvf(&pdev->dev);

	sysfs_remove_group(&pdev->dev.kobj, &igbvf_vgpu_group);
	vfio_pci_core_unregister_device(&vf->core);
	mutex_lock(&igbvf_vgpu_lock);
	igbvf_vgpu_set_type(vf, NULL);
	igbvf_vgpu_pf_put(vf->pf);
	mutex_unlock(&igbvf_vgpu_lock);
	vfio_put_device(&vf->core.vdev);
}

static const struct pci_device_id igbvf_vgpu_table[] = {
	{ PCI_DRIVER_OVERRIDE_DEVICE_VFIO(IGBVF_VENDOR_ID, IGBVF_DEVICE_ID) },
	{}
};
MODULE_DEVICE_TABLE(pci, igbvf_vgpu_table);

static struct pci_driver igbvf_vgpu_driver = {
	.name			= KBUILD_MODNAME,
	.id_table		= igbvf_vgpu_table,
	.probe			= igbvf_vgpu_probe,
	.remove			= igbvf_vgpu_remove,
	.err_handler		= &vfio_pci_core_err_handlers,
	.driver_managed_dma	= true,
};
module_pci_driver(igbvf_vgpu_driver);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vfiod test: vendor vGPU interface on igb VFs (vfio_pci_core)");
