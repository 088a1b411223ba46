/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * type1's mapping budget of a VM vfiod is asked to hold (docs/memlock.md,
 * "type1 mapping budget"): a VM whose type1 container would hold more
 * DMA mappings than vfio_iommu_type1's dma_entry_limit is refused when
 * it is created, before any device is claimed.
 */
#pragma once

#include "manager.h"
#include "vm.h"

/*
 * 0: the VM may be created (a warning is logged near the limit, or when a
 * vIOMMU makes the count unknown). -EXFULL: refused, *ret_message (allocated)
 * names count and limit and suggests iommufd. Other backends: always 0.
 */
int vm_dma_budget_check(Manager *m, const VMConfig *config, char **ret_message);
