/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The legacy VFIO container with the type1 IOMMU driver.
 *
 * type1 pins at MAP_DMA time when the container holds an IOMMU-backed group
 * and charges mm->locked_vm (VmLck); with only emulated-IOMMU devices (an
 * mdev) nothing is pinned until the mdev driver calls vfio_pin_pages().
 */
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vfiod/util.h"
#include "vfiod/vfio-uapi.h"
#include "vmm.h"

int vmm_type1_setup(vmm_iommu *io, int container, int group, const char *device)
{
	_cleanup_close_ int container_fd = container, group_fd = group;
	struct vfio_group_status status = { .argsz = sizeof(status) };
	int device_fd;

	if (ioctl(container_fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		return -EPROTO;
	if (ioctl(container_fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0)
		return -EOPNOTSUPP;

	if (ioctl(group_fd, VFIO_GROUP_GET_STATUS, &status) < 0)
		return negative_errno();
	/* Not viable: some device of the group is bound to a host driver. */
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		return -EBUSY;

	if (ioctl(group_fd, VFIO_GROUP_SET_CONTAINER, &container_fd) < 0)
		return negative_errno();
	if (ioctl(container_fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
		return negative_errno();

	device_fd = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, device);
	if (device_fd < 0)
		return negative_errno();

	*io = (vmm_iommu) VMM_IOMMU_INIT;
	io->backend = VMM_BACKEND_TYPE1;
	io->container = TAKE_FD(container_fd);
	io->group = TAKE_FD(group_fd);
	io->device = device_fd;
	return 0;
}

int vmm_type1_map(vmm_iommu *io, uint64_t iova, void *vaddr, uint64_t size)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uint64_t)(uintptr_t)vaddr,
		.iova = iova,
		.size = size,
	};

	if (ioctl(io->container, VFIO_IOMMU_MAP_DMA, &map) < 0)
		return negative_errno();
	return 0;
}

int vmm_type1_unmap(vmm_iommu *io, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = size,
	};

	if (ioctl(io->container, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0)
		return negative_errno();
	/* The kernel reports what it removed; nothing mapped there is an error. */
	if (unmap.size != size)
		return -ENOENT;
	return 0;
}
