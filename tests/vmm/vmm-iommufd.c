/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * iommufd: an IOAS on /dev/iommu and the device's VFIO cdev bound to it.
 *
 * iommufd always charges pinned pages to mm->pinned_vm (VmPin). Where the
 * RLIMIT_MEMLOCK charge goes depends on IOMMU_OPTION_RLIMIT_MODE: 0 (the
 * default) charges the user, invisible in /proc; 1 charges the process's
 * locked_vm (VmLck) like type1. Mode 1 needs CAP_SYS_RESOURCE and must be
 * set before the first object exists on the descriptor.
 */
#include <sys/ioctl.h>
#include <unistd.h>

#include "vfiod/util.h"
#include "vfiod/vfio-uapi.h"
#include "vmm.h"

int vmm_iommufd_set_rlimit_mode(int iommufd, uint64_t mode)
{
	struct iommu_option opt = {
		.size = sizeof(opt),
		.option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = IOMMU_OPTION_OP_SET,
		.val64 = mode,
	};

	if (ioctl(iommufd, IOMMU_OPTION, &opt) < 0)
		return negative_errno();
	return 0;
}

int vmm_iommufd_get_rlimit_mode(int iommufd, uint64_t *ret)
{
	struct iommu_option opt = {
		.size = sizeof(opt),
		.option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = IOMMU_OPTION_OP_GET,
	};

	if (ioctl(iommufd, IOMMU_OPTION, &opt) < 0)
		return negative_errno();
	*ret = opt.val64;
	return 0;
}

int vmm_iommufd_setup(vmm_iommu *io, int iommufd, int device)
{
	_cleanup_close_ int iommufd_fd = iommufd, device_fd = device;
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind),
		.iommufd = iommufd,
	};
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };

	/* Bind first: the device is unusable, even for GET_INFO, until then. */
	if (ioctl(device_fd, VFIO_DEVICE_BIND_IOMMUFD, &bind) < 0)
		return negative_errno();
	if (ioctl(iommufd_fd, IOMMU_IOAS_ALLOC, &alloc) < 0)
		return negative_errno();
	attach.pt_id = alloc.out_ioas_id;
	if (ioctl(device_fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) < 0)
		return negative_errno();

	*io = (vmm_iommu) VMM_IOMMU_INIT;
	io->backend = VMM_BACKEND_IOMMUFD;
	io->iommufd = TAKE_FD(iommufd_fd);
	io->ioas_id = alloc.out_ioas_id;
	io->devid = bind.out_devid;
	io->device = TAKE_FD(device_fd);
	return 0;
}

/*
 * --map-file: guest memory is mapped with IOMMU_IOAS_MAP_FILE (Linux 6.13)
 * from its memfd, by offset, as QEMU does for cpr-transfer: the kernel
 * moves the charge of file mappings only (IOMMU_IOAS_CHANGE_PROCESS).
 * Newer than the 6.12 uAPI of vfiod/vfio-uapi.h: defined here.
 */
struct vmm_ioas_map_file {
	uint32_t size;
	uint32_t flags;
	uint32_t ioas_id;
	int32_t fd;
	uint64_t start;
	uint64_t length;
	uint64_t iova;
};
#define VMM_IOMMU_IOAS_MAP_FILE _IO(IOMMUFD_TYPE, 0x8f)

static int map_file_fd = -1;
static const uint8_t *map_file_base;

void vmm_iommufd_map_from_file(int memfd, const void *base)
{
	map_file_fd = memfd;
	map_file_base = base;
}

static int map_file(vmm_iommu *io, uint64_t iova, void *vaddr, uint64_t size)
{
	struct vmm_ioas_map_file map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = io->ioas_id,
		.fd = map_file_fd,
		.start = (uint64_t)((const uint8_t *)vaddr - map_file_base),
		.length = size,
		.iova = iova,
	};

	if (ioctl(io->iommufd, VMM_IOMMU_IOAS_MAP_FILE, &map) < 0)
		return negative_errno();
	return 0;
}

static int map_user(vmm_iommu *io, uint64_t iova, void *vaddr, uint64_t size)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = io->ioas_id,
		.user_va = (uint64_t)(uintptr_t)vaddr,
		.length = size,
		.iova = iova,
	};

	if (ioctl(io->iommufd, IOMMU_IOAS_MAP, &map) < 0)
		return negative_errno();
	return 0;
}

int vmm_iommufd_map(vmm_iommu *io, uint64_t iova, void *vaddr, uint64_t size)
{
	if (map_file_fd >= 0)
		return map_file(io, iova, vaddr, size);
	return map_user(io, iova, vaddr, size);
}

int vmm_iommufd_unmap(vmm_iommu *io, uint64_t iova, uint64_t size)
{
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap),
		.ioas_id = io->ioas_id,
		.iova = iova,
		.length = size,
	};

	if (ioctl(io->iommufd, IOMMU_IOAS_UNMAP, &unmap) < 0)
		return negative_errno();
	if (unmap.length != size)
		return -ENOENT;
	return 0;
}
