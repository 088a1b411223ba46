/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The few iommufd definitions lib/vfio-iommufd.c needs, for builds against
 * kernel headers that predate them (Debian 12 ships 6.1 uAPI headers,
 * without <linux/iommufd.h>). Written down from the stable ABI documented
 * in include/uapi/linux/iommufd.h of Linux 6.12; where the system headers
 * have the definitions, theirs are used. Library-internal.
 */
#pragma once

#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/vfio.h>

#if __has_include(<linux/iommufd.h>)
#include <linux/iommufd.h>
#endif

#ifndef IOMMU_OPTION
#ifndef IOMMUFD_TYPE
#define IOMMUFD_TYPE (';')
#endif

/* enum iommufd_option, enum iommufd_option_ops */
#define IOMMU_OPTION_RLIMIT_MODE 0
#define IOMMU_OPTION_OP_SET 0
#define IOMMU_OPTION_OP_GET 1

struct iommu_option {
	__u32 size;
	__u32 option_id;
	__u16 op;
	__u16 __reserved;
	__u32 object_id;
	__aligned_u64 val64;
};

/* IOMMUFD_CMD_OPTION = 0x87 */
#define IOMMU_OPTION _IO(IOMMUFD_TYPE, 0x87)
#endif /* IOMMU_OPTION */
