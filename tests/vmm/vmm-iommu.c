/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One DMA mapping interface over the two kernel backends. */
#include <errno.h>
#include <unistd.h>

#include "vmm.h"

int vmm_iommu_map_one(vmm_iommu *io, uint64_t iova, void *vaddr, uint64_t size)
{
	switch (io->backend) {
	case VMM_BACKEND_TYPE1:
		return vmm_type1_map(io, iova, vaddr, size);
	case VMM_BACKEND_IOMMUFD:
		return vmm_iommufd_map(io, iova, vaddr, size);
	}
	return -EINVAL;
}

int vmm_iommu_unmap_one(vmm_iommu *io, uint64_t iova, uint64_t size)
{
	switch (io->backend) {
	case VMM_BACKEND_TYPE1:
		return vmm_type1_unmap(io, iova, size);
	case VMM_BACKEND_IOMMUFD:
		return vmm_iommufd_unmap(io, iova, size);
	}
	return -EINVAL;
}

/* --viommu: every address space maps the same guest memory (vmm-spaces.c) */
int vmm_iommu_map(vmm_iommu *io, uint64_t iova, void *vaddr, uint64_t size)
{
	int r = vmm_iommu_map_one(io, iova, vaddr, size);

	if (r < 0 || !vmm_spaces_enabled())
		return r;
	r = vmm_spaces_map(iova, vaddr, size);
	if (r < 0)
		(void) vmm_iommu_unmap_one(io, iova, size);
	return r;
}

int vmm_iommu_unmap(vmm_iommu *io, uint64_t iova, uint64_t size)
{
	int r = vmm_iommu_unmap_one(io, iova, size);

	if (r < 0 || !vmm_spaces_enabled())
		return r;
	return vmm_spaces_unmap(iova, size);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void vmm_iommu_close(vmm_iommu *io)
{
	/* --viommu: the other spaces first, they borrow the primary's iommufd */
	vmm_spaces_close();
	/*
	 * The device goes first: its release unpins whatever an mdev driver
	 * still holds, while the container or IOAS those pins live in exists.
	 */
	close_fd(&io->device);
	close_fd(&io->group);
	close_fd(&io->container);
	close_fd(&io->iommufd);
}

const char *vmm_backend_to_string(vmm_backend b)
{
	switch (b) {
	case VMM_BACKEND_TYPE1:
		return "type1";
	case VMM_BACKEND_IOMMUFD:
		return "iommufd";
	}
	return "unknown";
}
