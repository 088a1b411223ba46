/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Where the VMM's VFIO descriptors come from.
 *
 * For now the VMM opens the nodes itself while it still runs as root and
 * keeps the descriptors after dropping privileges, the way libvirt hands
 * QEMU pre-opened descriptors. Once vfiod passes them over D-Bus this file
 * is replaced; nothing else in the VMM knows a path.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "vfiod/vfio.h"
#include "vfiod/inventory.h"
#include "vmm.h"

/* "sys/bus/pci/devices/NAME" or "sys/bus/mdev/devices/NAME" for a strict name */
static int device_sysfs_dir(const char *device, char *buf, size_t size)
{
	vfd_pci_address addr;
	const char *bus;
	int n;

	if (vfd_pci_address_parse(device, &addr) == 0)
		bus = "pci";
	else if (vfd_uuid_validate(device) == 0)
		bus = "mdev";
	else
		return -EINVAL;

	n = snprintf(buf, size, "sys/bus/%s/devices/%s", bus, device);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* "DIR/NAME" into buf, refusing truncation */
static int join(char *buf, size_t size, const char *dir, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

int vmm_source_open_type1(const char *device, int *ret_container, int *ret_group)
{
	_cleanup_(vfd_context_freep) vfd_context *ctx = NULL;
	_cleanup_free_ char *group = NULL;
	_cleanup_close_ int container_fd = -1, group_fd = -1;
	char dir[128], path[160];
	int r;

	r = device_sysfs_dir(device, dir, sizeof(dir));
	if (r < 0)
		return r;
	r = vfd_context_new(NULL, &ctx);
	if (r < 0)
		return r;

	r = join(path, sizeof(path), dir, "iommu_group");
	if (r < 0)
		return r;
	r = vfd_root_readlink_basename(ctx, path, &group);
	if (r < 0)
		return r;

	container_fd = vfd_root_open(ctx, "dev/vfio/vfio", O_RDWR);
	if (container_fd < 0)
		return container_fd;
	r = join(path, sizeof(path), "dev/vfio", group);
	if (r < 0)
		return r;
	group_fd = vfd_root_open(ctx, path, O_RDWR);
	if (group_fd < 0)
		return group_fd;

	*ret_container = TAKE_FD(container_fd);
	*ret_group = TAKE_FD(group_fd);
	return 0;
}

int vmm_source_open_iommufd(const char *device, int *ret_iommufd, int *ret_device)
{
	_cleanup_(vfd_context_freep) vfd_context *ctx = NULL;
	_cleanup_(vfd_strv_freep) char **cdevs = NULL;
	_cleanup_close_ int iommufd = -1, device_fd = -1;
	char dir[128], path[160];
	int r;

	r = device_sysfs_dir(device, dir, sizeof(dir));
	if (r < 0)
		return r;
	r = vfd_context_new(NULL, &ctx);
	if (r < 0)
		return r;

	/* The device's cdev is named in its vfio-dev/ folder, e.g. "vfio0". */
	r = join(path, sizeof(path), dir, "vfio-dev");
	if (r < 0)
		return r;
	r = vfd_root_list_dir(ctx, path, &cdevs);
	if (r < 0)
		return r;
	if (vfd_strv_length(cdevs) != 1)
		return -ENODEV;

	iommufd = vfd_root_open(ctx, "dev/iommu", O_RDWR);
	if (iommufd < 0)
		return iommufd;
	r = join(path, sizeof(path), "dev/vfio/devices", cdevs[0]);
	if (r < 0)
		return r;
	device_fd = vfd_root_open(ctx, path, O_RDWR);
	if (device_fd < 0)
		return device_fd;

	*ret_iommufd = TAKE_FD(iommufd);
	*ret_device = TAKE_FD(device_fd);
	return 0;
}

int vmm_source_open_container(int *ret_container)
{
	_cleanup_(vfd_context_freep) vfd_context *ctx = NULL;
	int r;

	/* /dev/vfio/vfio is open to everyone: the unprivileged VMM opens it itself, as QEMU does */
	r = vfd_context_new(NULL, &ctx);
	if (r < 0)
		return r;
	return vfd_type1_container_open(ctx, ret_container);
}
