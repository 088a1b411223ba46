/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vfd-internal.h"
#include "vfiod/kernel-features.h"
#include "vfiod/util.h"
#include "vfiod/vfio-uapi.h"
#include "vfiod/vfio.h"

/* iommufd commands newer than the 6.12 uAPI of vfiod/vfio-uapi.h */
#define PROBE_CMD_IOAS_MAP_FILE       0x8f
#define PROBE_CMD_VIOMMU_ALLOC        0x90
#define PROBE_CMD_IOAS_CHANGE_PROCESS 0x92

/* 1: the kernel knows command nr, 0: it does not, <0: it answered neither way */
static int iommufd_knows(int iommufd, unsigned nr)
{
	uint64_t arg[8] = {}; /* size 0: too short for every command */

	if (ioctl(iommufd, _IO(IOMMUFD_TYPE, nr), arg) == 0)
		return 1;
	if (errno == EINVAL)
		return 1;
	if (errno == ENOTTY)
		return 0;
	return negative_errno();
}

static void probe_iommufd(vfd_context *ctx, vfd_kernel_features *f)
{
	_cleanup_close_ int fd = -1;
	bool per_process;

	fd = vfd_root_open(ctx, "dev/iommu", O_RDWR | O_NOCTTY);
	if (fd < 0)
		return;
	/* a fixture's regular file is no iommufd */
	if (vfd_iommufd_get_rlimit_mode(fd, &per_process) == -ENOTTY)
		return;
	f->iommufd = true;
	f->rlimit_mode = vfd_iommufd_get_rlimit_mode(fd, &per_process) >= 0;
	f->ioas_map_file = iommufd_knows(fd, PROBE_CMD_IOAS_MAP_FILE) == 1;
	f->viommu = iommufd_knows(fd, PROBE_CMD_VIOMMU_ALLOC) == 1;
	f->ioas_change_process = iommufd_knows(fd, PROBE_CMD_IOAS_CHANGE_PROCESS) == 1;
}

/* the character region "vfio-dev" exists only with CONFIG_VFIO_DEVICE_CDEV */
static bool has_vfio_cdev(vfd_context *ctx)
{
	_cleanup_free_ char *devices = NULL;
	char *save = NULL;
	bool block = false;

	if (vfd_root_read_string(ctx, "proc/devices", &devices) < 0)
		return false;
	for (char *line = strtok_r(devices, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *name;

		if (strncmp(line, "Block devices:", 14) == 0)
			block = true;
		name = strchr(line, ' ');
		if (!block && name && strcmp(name + 1, "vfio-dev") == 0)
			return true;
	}
	return false;
}

int vfd_kernel_features_probe(vfd_context *ctx, vfd_kernel_features *ret)
{
	vfd_kernel_features f = {};
	struct stat st;
	_cleanup_free_ char *noiommu = NULL;

	if (!ctx || !ret)
		return -EINVAL;
	probe_iommufd(ctx, &f);
	f.vfio_cdev = has_vfio_cdev(ctx);
	f.type1 = vfd_root_stat(ctx, "dev/vfio/vfio", &st) >= 0 && S_ISCHR(st.st_mode);
	if (vfd_root_read_string(ctx, "sys/module/vfio/parameters/enable_unsafe_noiommu_mode",
				 &noiommu) >= 0)
		f.noiommu = noiommu[0] == 'Y' || noiommu[0] == '1' ? VFD_NOIOMMU_ON : VFD_NOIOMMU_OFF;
	if (vfd_root_read_u64(ctx, "sys/module/vfio_iommu_type1/parameters/dma_entry_limit",
			      &f.dma_entry_limit) < 0)
		f.dma_entry_limit = 0;
	*ret = f;
	return 0;
}

const char *vfd_noiommu_to_string(vfd_noiommu n)
{
	switch (n) {
	case VFD_NOIOMMU_OFF:
		return "off";
	case VFD_NOIOMMU_ON:
		return "on";
	default:
		return "absent";
	}
}

const char *vfd_kernel_features_backend(const vfd_kernel_features *f)
{
	/* per-process accounting is what makes iommufd's limit the VMM's own */
	if (f->iommufd && f->vfio_cdev && f->rlimit_mode)
		return "iommufd";
	return "type1";
}
