/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which drivers let VFIO take an IOMMU group.
 *
 * Since Linux 5.19 VFIO's group viability is iommu_group_claim_dma_owner()
 * (drivers/iommu/iommu.c): it fails while group->owner_cnt is non-zero, and
 * the bus code raises owner_cnt (iommu_device_use_default_domain()) for
 * every bound driver that does not set driver_managed_dma, see
 * pci_dma_configure() in drivers/pci/pci-driver.c. So a group is viable
 * when each member is unbound or bound to a driver_managed_dma driver.
 *
 * VFIO drivers set driver_managed_dma themselves. PCI variant drivers are
 * all built on vfio-pci-core, so any module that holds vfio_pci_core is
 * treated as one, which also covers variants newer than the table below.
 * Where vfio_pci_core is built in (no holders to read), a module that
 * declares a vfio_pci: alias in the running kernel's module index is one
 * (lib/vfio-variant.c): that alias is what makes it a VFIO driver for
 * user space.
 */
#include <stdio.h>
#include <string.h>

#include "vfd-internal.h"
#include "vfiod/inventory.h"
#include "vfiod/vfio-variant.h"

typedef struct known_driver {
	const char *name;
	vfd_member_state state;
} known_driver;

/*
 * Every driver with .driver_managed_dma = true in linux-source-6.12
 * (grep -rn driver_managed_dma drivers/), by the name it registers
 * (KBUILD_MODNAME when the source uses that).
 */
static const known_driver known_drivers[] = {
	/* drivers/pci/pci-stub.c */
	{ "pci-stub", VFD_MEMBER_DMA_MANAGED },
	/* drivers/pci/pcie/portdrv.c */
	{ "pcieport", VFD_MEMBER_DMA_MANAGED },
	/* drivers/vfio/pci/vfio_pci.c */
	{ "vfio-pci", VFD_MEMBER_VFIO },
	/* drivers/vfio/pci/hisilicon/hisi_acc_vfio_pci.c */
	{ "hisi_acc_vfio_pci", VFD_MEMBER_VFIO },
	/* drivers/vfio/pci/mlx5/main.c */
	{ "mlx5_vfio_pci", VFD_MEMBER_VFIO },
	/* drivers/vfio/pci/nvgrace-gpu/main.c */
	{ "nvgrace_gpu_vfio_pci", VFD_MEMBER_VFIO },
	/* drivers/vfio/pci/pds/pci_drv.c */
	{ "pds_vfio_pci", VFD_MEMBER_VFIO },
	/* drivers/vfio/pci/qat/main.c */
	{ "qat_vfio_pci", VFD_MEMBER_VFIO },
	/* drivers/vfio/pci/virtio/main.c */
	{ "virtio_vfio_pci", VFD_MEMBER_VFIO },
	/* drivers/vfio/platform/vfio_platform.c, vfio_amba.c */
	{ "vfio-platform", VFD_MEMBER_VFIO },
	{ "vfio-amba", VFD_MEMBER_VFIO },
	/* drivers/vfio/fsl-mc/vfio_fsl_mc.c */
	{ "vfio-fsl-mc", VFD_MEMBER_VFIO },
	/* drivers/vfio/cdx/main.c */
	{ "vfio-cdx", VFD_MEMBER_VFIO },
};

static const char *const member_state_names[_VFD_MEMBER_STATE_MAX] = {
	[VFD_MEMBER_VFIO] = "vfio",
	[VFD_MEMBER_UNBOUND] = "unbound",
	[VFD_MEMBER_DMA_MANAGED] = "dma-managed",
	[VFD_MEMBER_HOST_DRIVER] = "host-driver",
};

const char *vfd_member_state_to_string(vfd_member_state s)
{
	if ((unsigned)s >= _VFD_MEMBER_STATE_MAX)
		return NULL;
	return member_state_names[s];
}

static const known_driver *find_known_driver(const char *name)
{
	size_t i;

	for (i = 0; i < ELEMENTSOF(known_drivers); i++)
		if (strcmp(known_drivers[i].name, name) == 0)
			return &known_drivers[i];
	return NULL;
}

/*
 * 1 and the module name when the driver's module holds vfio_pci_core (or,
 * with vfio_pci_core built in, declares a vfio_pci: alias), 0 otherwise
 * (built-in drivers have no module link).
 */
static int driver_holds_vfio_pci_core(vfd_context *ctx, const char *bus, const char *driver,
				      char **ret_module)
{
	_cleanup_free_ char *module = NULL;
	char path[VFD_PATH_MAX];
	int r;

	r = vfd_pathf(path, sizeof(path), "sys/bus/%s/drivers/%s/module", bus, driver);
	if (r < 0)
		return r;
	r = vfd_root_readlink_basename(ctx, path, &module);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;

	r = vfd_pathf(path, sizeof(path), "sys/module/vfio_pci_core/holders/%s", module);
	if (r < 0)
		return r;
	r = vfd_root_exists(ctx, path);
	if (r < 0)
		return r;
	if (r == 0) {
		r = vfd_root_exists(ctx, "sys/module/vfio_pci_core/holders");
		if (r != 0)
			return r < 0 ? r : 0; /* a module: its holders are authoritative */
		r = vfd_module_is_vfio_variant(ctx, module);
		if (r <= 0)
			return r == -ENOMEM ? r : 0; /* no module index: not known as VFIO */
	}
	if (ret_module)
		*ret_module = TAKE_PTR(module);
	return 1;
}

int vfd_driver_is_vfio(vfd_context *ctx, const char *driver)
{
	const known_driver *k;

	if (!ctx || !vfd_name_is_component(driver))
		return -EINVAL;
	k = find_known_driver(driver);
	if (k)
		return k->state == VFD_MEMBER_VFIO;
	return driver_holds_vfio_pci_core(ctx, "pci", driver, NULL);
}

int vfd_driver_classify(vfd_context *ctx, const char *bus, const char *driver,
			vfd_member_state *ret_state, char **ret_reason)
{
	_cleanup_free_ char *module = NULL;
	const known_driver *k;
	vfd_member_state state;
	char *reason = NULL;
	int r;

	if (!ctx || !vfd_name_is_component(bus) || (driver && !vfd_name_is_component(driver)))
		return -EINVAL;

	if (!driver) {
		state = VFD_MEMBER_UNBOUND;
		r = asprintf(&reason, "not bound to any driver");
	} else if (strcmp(bus, "mdev") == 0) {
		/*
		 * An mdev driver registers a VFIO device for each mdev; the
		 * mdev sits alone in an emulated IOMMU group that VFIO never
		 * claims DMA ownership of.
		 */
		state = VFD_MEMBER_VFIO;
		r = asprintf(&reason, "mediated device bound to %s, a VFIO mdev driver", driver);
	} else if ((k = find_known_driver(driver))) {
		state = k->state;
		if (state == VFD_MEMBER_VFIO)
			r = asprintf(&reason, "bound to %s, a VFIO driver", driver);
		else
			r = asprintf(&reason, "bound to %s, which leaves DMA to its user "
				     "(driver_managed_dma)", driver);
	} else {
		r = driver_holds_vfio_pci_core(ctx, bus, driver, &module);
		if (r < 0)
			return r;
		if (r > 0) {
			state = VFD_MEMBER_VFIO;
			r = asprintf(&reason, "bound to %s, a VFIO variant driver "
				     "(module %s uses vfio_pci_core)", driver, module);
		} else {
			state = VFD_MEMBER_HOST_DRIVER;
			r = asprintf(&reason, "bound to host driver %s, which uses DMA", driver);
		}
	}
	if (r < 0)
		return -ENOMEM;

	*ret_state = state;
	*ret_reason = reason;
	return 0;
}
