/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Address spaces behind a vIOMMU (--viommu), for vm-reaccount-viommu.
 *
 * QEMU gives every device behind a virtual IOMMU an address space of its
 * own: type1, a container per group, each opened by QEMU on
 * /dev/vfio/vfio; iommufd, an IOAS per device on the one iommufd. Each
 * maps guest memory by itself, so each pins and charges it again
 * (docs/memlock.md). vfd-vmm does the same: its setup device stays in the
 * container or IOAS it was set up with, and every device it attaches
 * later (the hotadd step) gets a new one, into which every current
 * mapping is mapped first; map and unmap steps go to all of them.
 *
 * The attach happens with the VMM's own mm and before any mapping of the
 * new space, so nothing is replayed on anyone else's behalf (the attach
 * rule of lib/include/vfiod/vfio.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vfiod/util.h"
#include "vfiod/vfio-uapi.h"
#include "vmm.h"

#define SPACES_MAX 8
#define RANGES_MAX 64

typedef struct space {
	char device[64];
	vmm_iommu io; /* type1: container (group and device stay the caller's); iommufd: ioas_id */
} space;

typedef struct range {
	uint64_t iova;
	void *vaddr;
	uint64_t size;
} range;

static bool enabled;
static space spaces[SPACES_MAX];
static size_t n_spaces;
static range ranges[RANGES_MAX];
static size_t n_ranges;

void vmm_spaces_enable(void)
{
	enabled = true;
}

bool vmm_spaces_enabled(void)
{
	return enabled;
}

static int ioas_destroy(int iommufd, uint32_t id)
{
	struct iommu_destroy d = { .size = sizeof(d), .id = id };

	return ioctl(iommufd, IOMMU_DESTROY, &d) < 0 ? negative_errno() : 0;
}

/* closes the container (type1) or destroys the IOAS (iommufd), and its mappings with it */
static void space_close(space *s)
{
	if (s->io.backend == VMM_BACKEND_TYPE1) {
		if (s->io.container >= 0)
			close(s->io.container);
	} else if (s->io.ioas_id != 0)
		(void) ioas_destroy(s->io.iommufd, s->io.ioas_id);
	*s = (space) { .io = VMM_IOMMU_INIT };
}

static int space_map_all(space *s)
{
	for (size_t i = 0; i < n_ranges; i++) {
		int r = vmm_iommu_map_one(&s->io, ranges[i].iova, ranges[i].vaddr, ranges[i].size);

		if (r < 0)
			return r;
	}
	return 0;
}

/* type1: a container of our own, the group attached with our mm, the type1v2 IOMMU set */
static int space_new_type1(space *s, int group)
{
	_cleanup_close_ int container = -1;
	int r;

	r = vmm_source_open_container(&container);
	if (r < 0)
		return r;
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0)
		return negative_errno();
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) {
		r = negative_errno();
		(void) ioctl(group, VFIO_GROUP_UNSET_CONTAINER);
		return r;
	}
	s->io.backend = VMM_BACKEND_TYPE1;
	s->io.container = TAKE_FD(container);
	return 0;
}

/* iommufd: the cdev bound to our iommufd, attached to an IOAS of its own */
static int space_new_iommufd(space *s, const vmm_iommu *primary, int device)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = primary->iommufd };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	int r;

	if (ioctl(device, VFIO_DEVICE_BIND_IOMMUFD, &bind) < 0)
		return negative_errno();
	if (ioctl(primary->iommufd, IOMMU_IOAS_ALLOC, &alloc) < 0)
		return negative_errno();
	attach.pt_id = alloc.out_ioas_id;
	if (ioctl(device, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) < 0) {
		r = negative_errno();
		(void) ioas_destroy(primary->iommufd, alloc.out_ioas_id);
		return r;
	}
	s->io.backend = VMM_BACKEND_IOMMUFD;
	s->io.iommufd = primary->iommufd; /* borrowed: closed with the primary */
	s->io.ioas_id = alloc.out_ioas_id;
	s->io.devid = bind.out_devid;
	return 0;
}

int vmm_space_attach(const vmm_iommu *primary, const char *device, int group, int *device_fd)
{
	space s = { .io = VMM_IOMMU_INIT };
	int r;

	if (n_spaces == SPACES_MAX)
		return -ENOSPC;
	snprintf(s.device, sizeof(s.device), "%s", device);

	if (primary->backend == VMM_BACKEND_TYPE1) {
		if (group < 0 || *device_fd >= 0)
			return -EPROTO; /* a group attached elsewhere is no space of its own */
		r = space_new_type1(&s, group);
		if (r < 0)
			return r;
	} else {
		if (*device_fd < 0)
			return -EPROTO;
		r = space_new_iommufd(&s, primary, *device_fd);
		if (r < 0)
			return r;
	}

	/* guest memory as mapped so far: the device sees what the others see */
	r = space_map_all(&s);
	if (r < 0)
		goto fail;
	if (primary->backend == VMM_BACKEND_TYPE1) {
		*device_fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, device);
		if (*device_fd < 0) {
			r = negative_errno();
			*device_fd = -1;
			goto fail;
		}
	}
	spaces[n_spaces++] = s;
	/* one descriptor each from now on: a hot-remove that closes it releases the device */
	vmm_source_vfiod_release_same(group);
	vmm_source_vfiod_release_same(*device_fd);
	return 0;
fail:
	if (primary->backend == VMM_BACKEND_TYPE1)
		(void) ioctl(group, VFIO_GROUP_UNSET_CONTAINER);
	space_close(&s);
	return r;
}

void vmm_space_forget(const char *device)
{
	for (size_t i = 0; i < n_spaces; i++)
		if (strcmp(spaces[i].device, device) == 0) {
			space_close(&spaces[i]);
			spaces[i] = spaces[--n_spaces];
			return;
		}
}

int vmm_spaces_map(uint64_t iova, void *vaddr, uint64_t size)
{
	size_t done;
	int r = 0;

	if (n_ranges == RANGES_MAX)
		return -ENOSPC;
	for (done = 0; done < n_spaces; done++) {
		r = vmm_iommu_map_one(&spaces[done].io, iova, vaddr, size);
		if (r < 0)
			break;
	}
	if (r < 0) {
		while (done-- > 0)
			(void) vmm_iommu_unmap_one(&spaces[done].io, iova, size);
		return r;
	}
	ranges[n_ranges++] = (range) { .iova = iova, .vaddr = vaddr, .size = size };
	return 0;
}

int vmm_spaces_unmap(uint64_t iova, uint64_t size)
{
	int r, first = 0;

	for (size_t i = 0; i < n_spaces; i++) {
		r = vmm_iommu_unmap_one(&spaces[i].io, iova, size);
		if (r < 0 && first == 0)
			first = r;
	}
	for (size_t i = 0; i < n_ranges; i++)
		if (ranges[i].iova == iova && ranges[i].size == size) {
			ranges[i] = ranges[--n_ranges];
			break;
		}
	return first;
}

void vmm_spaces_close(void)
{
	while (n_spaces > 0)
		space_close(&spaces[--n_spaces]);
	n_ranges = 0;
}
