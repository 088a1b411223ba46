/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the running kernel offers for VFIO, probed, never guessed from its
 * version (lib/kernel-features.c): the nodes it created, the iommufd
 * ioctls it answers, and the VFIO modules' parameters. Through the root
 * layer, so a fixture tree answers as a kernel without VFIO does.
 *
 * An iommufd ioctl is known when the kernel answers a call whose size
 * field is 0 with -EINVAL (the command exists, its argument is too short)
 * rather than -ENOTTY (no such command): the uAPI's rule for every
 * iommufd ioctl.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "vfiod/inventory.h"

typedef enum vfd_noiommu {
	VFD_NOIOMMU_ABSENT, /* the kernel has no no-IOMMU mode (CONFIG_VFIO_NOIOMMU unset) */
	VFD_NOIOMMU_OFF,    /* it has one, not enabled */
	VFD_NOIOMMU_ON,     /* enable_unsafe_noiommu_mode=Y: devices without isolation */
} vfd_noiommu;

typedef struct vfd_kernel_features {
	bool iommufd;             /* /dev/iommu, a character device that opens */
	bool vfio_cdev;           /* VFIO device cdevs (the "vfio-dev" region in /proc/devices) */
	bool rlimit_mode;         /* IOMMU_OPTION_RLIMIT_MODE: per-process accounting */
	bool ioas_map_file;       /* IOMMU_IOAS_MAP_FILE (Linux 6.13) */
	bool ioas_change_process; /* IOMMU_IOAS_CHANGE_PROCESS (Linux 6.14): a VM's charge moved */
	bool viommu;              /* IOMMU_VIOMMU_ALLOC: vIOMMU objects (Linux 6.13) */
	bool type1;               /* the legacy container, /dev/vfio/vfio */
	vfd_noiommu noiommu;
	uint64_t dma_entry_limit; /* vfio_iommu_type1's dma_entry_limit; 0: module not loaded */
} vfd_kernel_features;

int vfd_kernel_features_probe(vfd_context *ctx, vfd_kernel_features *ret);

const char *vfd_noiommu_to_string(vfd_noiommu n);

/* the backend a VM gets when none is asked for: iommufd where the kernel has all it needs */
const char *vfd_kernel_features_backend(const vfd_kernel_features *f);
