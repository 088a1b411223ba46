/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The count is the caller's when it gives one (option dma_mappings: the
 * libvirt hook's prediction from the domain XML, virtio-mem included),
 * else libvfiod's for guest memory of memory_bytes in one piece. The
 * limit is the host's now; a container takes it when its IOMMU type is
 * set, so the check runs at creation, and unreadable (vfio_iommu_type1
 * not loaded yet) means the module's default.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "vm-dma-budget.h"
#include "vfiod/memlock.h"

static uint64_t host_dma_entry_limit(Manager *m)
{
	uint64_t v;

	if (vfd_root_read_u64(m->ctx, "sys/module/vfio_iommu_type1/parameters/dma_entry_limit", &v) < 0)
		return 0;
	return v;
}

/* libvfiod's count for a VM of memory_bytes with one assigned device */
static int predict(const VMConfig *config, uint64_t limit, vfd_dma_budget **ret)
{
	_cleanup_(vfd_memlock_spec_freep) vfd_memlock_spec *spec = NULL;
	int r;

	r = vfd_memlock_spec_new(&spec);
	if (r < 0)
		return r;
	spec->memory_kib = config->memory_bytes / 1024 + (config->memory_bytes % 1024 != 0);
	spec->viommu = config->viommu;
	spec->backend = VFD_MEMLOCK_BACKEND_TYPE1;
	r = vfd_memlock_spec_add_device(spec, VFD_MEMLOCK_DEVICE_PCI, NULL, NULL, VFD_MEMLOCK_SPACE_AUTO);
	if (r < 0)
		return r;
	return vfd_dma_budget_compute(spec, limit, ret, NULL);
}

int vm_dma_budget_check(Manager *m, const VMConfig *config, char **ret_message)
{
	_cleanup_(vfd_dma_budget_freep) vfd_dma_budget *b = NULL;
	uint64_t limit;
	int r;

	if (config->backend != VM_BACKEND_TYPE1)
		return 0;
	limit = host_dma_entry_limit(m);
	r = predict(config, limit, &b);
	if (r < 0) {
		/* a model that cannot answer does not stop a VM: the kernel still refuses at map time */
		log_warning_errno(r, "VM %s: cannot predict its type1 DMA mappings: %m", config->name);
		return 0;
	}
	if (config->dma_mappings > 0) {
		/* the caller knows the guest's layout (e.g. virtio-mem): its count replaces ours */
		b->mappings = config->dma_mappings;
		if (b->verdict != VFD_DMA_VERDICT_UNKNOWN)
			b->verdict = vfd_dma_verdict_for(b->mappings, b->limit);
	}

	switch (b->verdict) {
	case VFD_DMA_VERDICT_OVER:
		if (asprintf(ret_message,
			     "VM %s: its type1 container would need %" PRIu64 " DMA mappings, more than "
			     "vfio_iommu_type1's dma_entry_limit of %" PRIu64 "%s; use the iommufd backend, "
			     "which has no such limit (or a larger virtio-mem block size)",
			     config->name, b->mappings, b->limit,
			     b->limit_from_host ? "" : " (the default)") < 0)
			*ret_message = NULL;
		return -EXFULL;
	case VFD_DMA_VERDICT_NEAR:
		log_warning("VM %s: its type1 container will need %" PRIu64 " DMA mappings, more than %u%% of "
			    "dma_entry_limit %" PRIu64 "; the iommufd backend has no such limit",
			    config->name, b->mappings, VFD_DMA_BUDGET_WARN_PERCENT, b->limit);
		return 0;
	case VFD_DMA_VERDICT_UNKNOWN:
		log_warning("VM %s: behind a vIOMMU the guest decides how many DMA mappings its type1 "
			    "container takes (dma_entry_limit %" PRIu64 "); the iommufd backend has no such limit",
			    config->name, b->limit);
		return 0;
	default:
		return 0;
	}
}
