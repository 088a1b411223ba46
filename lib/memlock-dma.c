/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * type1's DMA mapping budget: how many VFIO_IOMMU_MAP_DMA entries a VM's
 * type1 container will hold, against vfio_iommu_type1's dma_entry_limit.
 *
 * The kernel (drivers/vfio/vfio_iommu_type1.c) gives each container
 * dma_avail = dma_entry_limit when its IOMMU type is set, takes one per
 * successful MAP_DMA whatever its size, gives it back on unmap, and fails
 * a MAP_DMA with -ENOSPC at 0. QEMU's VFIO memory listener maps each RAM
 * section of the address space once per container: the pieces of boot
 * RAM, each memory device, firmware ROMs, and the mmap'ed BARs of
 * assigned devices (peer-to-peer; a failure there is only a warning). A
 * virtio-mem device is mapped per plugged block (its RamDiscardManager
 * populates block by block), which is how a VM reaches 65535. Behind a
 * vIOMMU in translation mode QEMU maps what the guest maps, one entry
 * per guest IOMMU mapping: no bound we can know.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memlock-internal.h"

/* q35 (hw/i386/pc_q35.c): low RAM ends at 2 GiB once RAM reaches 0xb0000000 */
#define Q35_LOWMEM_THRESHOLD 0xb0000000ULL
#define Q35_LOWMEM 0x80000000ULL
/* i440fx (hw/i386/pc_piix.c): at 3.5 GiB once RAM reaches it */
#define PC_LOWMEM 0xe0000000ULL

vfd_dma_budget *vfd_dma_budget_free(vfd_dma_budget *b)
{
	if (!b)
		return NULL;
	for (size_t i = 0; i < b->n_entries; i++) {
		free(b->entries[i].rule);
		free(b->entries[i].detail);
	}
	free(b->entries);
	free(b->message);
	free(b);
	return NULL;
}

static int budget_add(vfd_dma_budget *b, const char *rule, uint64_t count, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int budget_add(vfd_dma_budget *b, const char *rule, uint64_t count, const char *fmt, ...)
{
	_cleanup_free_ char *r = NULL, *d = NULL;
	vfd_dma_entry *a;
	va_list ap;
	int k;

	if (!add_u64(b->mappings, count, &b->mappings))
		return -EOVERFLOW;
	r = strdup(rule);
	va_start(ap, fmt);
	k = vasprintf(&d, fmt, ap);
	va_end(ap);
	if (k < 0)
		d = NULL;
	if (!r || k < 0)
		return -ENOMEM;
	a = realloc(b->entries, (b->n_entries + 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	b->entries = a;
	b->entries[b->n_entries++] = (vfd_dma_entry){ .rule = TAKE_PTR(r), .count = count, .detail = TAKE_PTR(d) };
	return 0;
}

vfd_dma_verdict vfd_dma_verdict_for(uint64_t count, uint64_t limit)
{
	/* floor(limit * percent / 100), without overflow: limit = 100q + r */
	uint64_t warn_above = limit / 100 * VFD_DMA_BUDGET_WARN_PERCENT +
			      limit % 100 * VFD_DMA_BUDGET_WARN_PERCENT / 100;

	/* the limit-th mapping still succeeds: dma_avail reaches 0 with it */
	if (count > limit)
		return VFD_DMA_VERDICT_OVER;
	if (count > warn_above)
		return VFD_DMA_VERDICT_NEAR;
	return VFD_DMA_VERDICT_OK;
}

const char *vfd_dma_verdict_to_string(vfd_dma_verdict v)
{
	static const char *const names[] = {
		[VFD_DMA_VERDICT_NONE] = "none",
		[VFD_DMA_VERDICT_OK] = "ok",
		[VFD_DMA_VERDICT_NEAR] = "near",
		[VFD_DMA_VERDICT_OVER] = "over",
		[VFD_DMA_VERDICT_UNKNOWN] = "unknown",
	};

	return (unsigned)v < ELEMENTSOF(names) ? names[v] : NULL;
}

static uint64_t div_round_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

/* boot RAM (memory devices apart): one section per NUMA node, plus one where x86 splits it at 4 GiB */
static int count_boot_memory(const vfd_memlock_spec *spec, uint64_t boot_bytes, vfd_dma_budget *b)
{
	uint64_t nodes = spec->n_numa_cells > 0 ? spec->n_numa_cells : 1;
	uint64_t lowmem = UINT64_MAX;
	bool split;

	if (spec->machine == VFD_MEMLOCK_MACHINE_X86_Q35)
		lowmem = boot_bytes >= Q35_LOWMEM_THRESHOLD ? Q35_LOWMEM : boot_bytes;
	else if (spec->machine == VFD_MEMLOCK_MACHINE_X86_PC)
		lowmem = boot_bytes >= PC_LOWMEM ? PC_LOWMEM : boot_bytes;
	split = boot_bytes > lowmem;
	return budget_add(b, "boot-memory", nodes + split,
			  "%" PRIu64 " MiB of boot RAM in %" PRIu64 " NUMA node(s)%s", boot_bytes >> 20, nodes,
			  split ? ", split at the PCI hole below 4 GiB: one section more" : "");
}

static int count_memory_devices(const vfd_memlock_spec *spec, vfd_dma_budget *b, bool *ret_virtio_mem)
{
	size_t plain = 0;
	int r;

	*ret_virtio_mem = false;
	for (size_t i = 0; i < spec->n_memory_devices; i++) {
		const vfd_memlock_memory_device *m = &spec->memory_devices[i];
		uint64_t block = m->block_bytes ? m->block_bytes : VFD_DMA_VIRTIO_MEM_DEFAULT_BLOCK;

		if (!m->virtio_mem) {
			plain++;
			continue;
		}
		*ret_virtio_mem = true;
		r = budget_add(b, "virtio-mem", div_round_up(m->size_bytes, block),
			       "virtio-mem device of %" PRIu64 " MiB in blocks of %" PRIu64 " KiB%s: one "
			       "mapping per plugged block, all of them plugged",
			       m->size_bytes >> 20, block >> 10, m->block_bytes ? "" : " (QEMU's default)");
		if (r < 0)
			return r;
	}
	if (plain > 0) {
		r = budget_add(b, "memory-device", plain, "%zu DIMM/NVDIMM-like memory device(s): one section each",
			       plain);
		if (r < 0)
			return r;
	}
	/* a slot without a device takes a hot-plugged DIMM later */
	if (spec->max_memory_slots > spec->n_memory_devices) {
		r = budget_add(b, "memory-slot", spec->max_memory_slots - spec->n_memory_devices,
			       "%zu free memory slot(s) of <maxMemory>: one section per DIMM hot-plugged later",
			       (size_t)(spec->max_memory_slots - spec->n_memory_devices));
		if (r < 0)
			return r;
	}
	return 0;
}

static int set_message(vfd_dma_budget *b, bool virtio_mem)
{
	const char *source = b->limit_from_host ? "" : " (the default; the host's value cannot be read)";
	int k = 0;

	switch (b->verdict) {
	case VFD_DMA_VERDICT_OVER:
		k = asprintf(&b->message,
			     "a type1 container of this VM would need about %" PRIu64 " DMA mappings, more than "
			     "vfio_iommu_type1's dma_entry_limit of %" PRIu64 "%s: a DMA map would fail with ENOSPC. "
			     "Use iommufd, which has no such limit (libvirt >= 12: <driver iommufd='yes'/> on the "
			     "hostdevs)%s",
			     b->mappings, b->limit, source,
			     virtio_mem ? ", or a larger virtio-mem <block> size" : "");
		break;
	case VFD_DMA_VERDICT_NEAR:
		k = asprintf(&b->message,
			     "a type1 container of this VM would need about %" PRIu64 " DMA mappings, more than "
			     "%u%% of vfio_iommu_type1's dma_entry_limit of %" PRIu64 "%s. iommufd has no such "
			     "limit%s",
			     b->mappings, VFD_DMA_BUDGET_WARN_PERCENT, b->limit, source,
			     virtio_mem ? "; a larger virtio-mem <block> size needs fewer" : "");
		break;
	case VFD_DMA_VERDICT_UNKNOWN:
		k = asprintf(&b->message,
			     "behind the vIOMMU the guest decides how many DMA mappings a type1 container takes "
			     "(one per guest IOMMU mapping, without bound; about %" PRIu64 " in passthrough mode), "
			     "and vfio_iommu_type1's dma_entry_limit is %" PRIu64 "%s. iommufd has no such limit",
			     b->mappings, b->limit, source);
		break;
	default:
		return 0;
	}
	if (k < 0) {
		b->message = NULL;
		return -ENOMEM;
	}
	return 0;
}

int vfd_dma_budget_compute(const vfd_memlock_spec *spec, uint64_t limit, vfd_dma_budget **ret,
			   char **error_message)
{
	_cleanup_(vfd_dma_budget_freep) vfd_dma_budget *b = NULL;
	vfd_memlock_counts counts;
	uint64_t devices_bytes = 0, memory_bytes, p2p;
	bool virtio_mem = false;
	int r;

	if (!ret)
		return vfd_error_setf(error_message, -EINVAL, "invalid arguments");
	r = vfd_memlock_spec_validate(spec, error_message);
	if (r < 0)
		return r;
	memory_bytes = spec->memory_kib * KIB;
	for (size_t i = 0; i < spec->n_memory_devices; i++)
		if (!add_u64(devices_bytes, spec->memory_devices[i].size_bytes, &devices_bytes))
			return vfd_error_setf(error_message, -EINVAL, "memory devices: total size too large");
	if (devices_bytes > memory_bytes)
		return vfd_error_setf(error_message, -EINVAL,
				      "memory devices (%" PRIu64 " bytes) exceed the guest memory (%" PRIu64 " bytes)",
				      devices_bytes, memory_bytes);

	b = calloc(1, sizeof(*b));
	if (!b)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	b->limit_from_host = limit > 0;
	b->limit = limit > 0 ? limit : VFD_TYPE1_DEFAULT_DMA_ENTRY_LIMIT;

	vfd_memlock_count_devices(spec, &counts);
	r = budget_add(b, "fixed-sections", VFD_DMA_FIXED_SECTIONS,
		       "allowance for firmware and option ROMs and low RAM split around the legacy VGA and BIOS areas");
	if (r >= 0)
		r = count_boot_memory(spec, memory_bytes - devices_bytes, b);
	if (r >= 0)
		r = count_memory_devices(spec, b, &virtio_mem);
	/* every assigned device's BARs are in the address space of every container */
	if (r >= 0 && counts.pci + counts.mdev > 0) {
		p2p = (uint64_t)(counts.pci + counts.mdev) * VFD_DMA_DEVICE_P2P_REGIONS;
		r = budget_add(b, "device-p2p", p2p,
			       "at most %u mmap'ed regions per assigned device (%zu) mapped for peer-to-peer DMA",
			       VFD_DMA_DEVICE_P2P_REGIONS, counts.pci + counts.mdev);
	}
	if (r == -EOVERFLOW)
		return vfd_error_setf(error_message, r, "the mapping count does not fit in 64 bits");
	if (r < 0)
		return vfd_error_setf(error_message, r, "out of memory");

	if (spec->backend != VFD_MEMLOCK_BACKEND_TYPE1 || counts.pci + counts.mdev == 0)
		b->verdict = VFD_DMA_VERDICT_NONE;
	else if (spec->viommu)
		b->verdict = VFD_DMA_VERDICT_UNKNOWN;
	else
		b->verdict = vfd_dma_verdict_for(b->mappings, b->limit);
	r = set_message(b, virtio_mem);
	if (r < 0)
		return vfd_error_setf(error_message, r, "out of memory");

	*ret = TAKE_PTR(b);
	return 0;
}
