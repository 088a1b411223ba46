/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libvirt policy: the same number libvirt's qemuDomainGetMemLockLimitBytes()
 * gives for the same domain, so vfiod can stand beside libvirt and agree.
 * Written from a reading of libvirt 9.0.0 (src/qemu/qemu_domain.c), the
 * version Debian 12 ships, and of its later form; docs/memlock.md lists
 * the differences. libvirt works in KiB and shifts to bytes at the end;
 * so do we, so that rounding matches. Unlike libvirt, a sum that does not
 * fit in 64 bits is an error here rather than a wrapped number.
 */
#include <errno.h>

#include "memlock-internal.h"

#define FAIL_OVERFLOW(e) vfd_error_setf((e), -EOVERFLOW, "the limit does not fit in 64 bits")

/*
 * libvirt's pSeries helper (getPPC64MemLockLimitBytes). On ppc64 KVM the
 * kernel charges the guest's hashed page table and the TCE (DMA window)
 * tables to the QEMU process, and with VFIO the sPAPR IOMMU pre-registers
 * guest memory once, whatever the number of PHBs it is mapped through.
 * libvirt's NVLink2 branch needs the host's device tree and is not modelled.
 */
int vfd_memlock_libvirt_ppc64(const vfd_memlock_spec *spec, vfd_memlock_libvirt_compat compat,
			      vfd_memlock_plan *plan, char **error_message)
{
	uint64_t memory = spec->memory_kib;
	uint64_t max_memory = spec->max_memory_kib ? spec->max_memory_kib : spec->memory_kib;
	uint64_t nphb = spec->n_phbs;
	uint64_t hpt, windows, index_kib, pass = 0, total, c = 0, de = 0, t;
	vfd_memlock_counts n;
	bool needs_passthrough;
	int r;

	vfd_memlock_count_devices(spec, &n);

	/* baseLimit = maxMemory / 128 (a) + 4 MiB * #PHBs + 8 MiB (b) */
	hpt = max_memory / 128;
	if (!mul_u64(4096, nphb, &windows))
		return FAIL_OVERFLOW(error_message);
	index_kib = 8192;

	/*
	 * qemuDomainNeedsVFIO(): a VFIO or mdev hostdev or an NVMe disk; or a
	 * vDPA interface (vDPA disks are not looked at here, in either version);
	 * 9.0 also honours forceVFIO.
	 */
	needs_passthrough = n.pci || n.mdev || n.nvme || (n.vdpa - n.vdpa_disks) ||
			    (compat == VFD_MEMLOCK_LIBVIRT_9_0 && spec->libvirt_force_vfio);
	if (needs_passthrough) {
		/* passthroughLimit = MAX(2 GiB * #PHBs (c), memory + memory/512 * #PHBs + 8 MiB (d)+(e)) */
		if (!mul_u64(2 * 1024 * 1024, nphb, &c) ||
		    !mul_u64(memory / 512, nphb, &t) || !add_u64(memory, t, &de) || !add_u64(de, 8192, &de))
			return FAIL_OVERFLOW(error_message);
		pass = c > de ? c : de;
	}

	if (!add_u64(hpt, windows, &total) || !add_u64(total, index_kib, &total) ||
	    !add_u64(total, pass, &total) || total > UINT64_MAX / KIB)
		return FAIL_OVERFLOW(error_message);

	r = vfd_memlock_plan_add(plan, "ppc64-hash-table", hpt * KIB, true,
				 "guest hashed page table: maximum memory %llu KiB / 128",
				 (unsigned long long)max_memory);
	if (r >= 0)
		r = vfd_memlock_plan_add(plan, "ppc64-dma-windows", windows * KIB, true,
					 "32-bit DMA window TCE tables: 4 MiB for each of %llu PHBs",
					 (unsigned long long)nphb);
	if (r >= 0)
		r = vfd_memlock_plan_add(plan, "ppc64-tce-index", index_kib * KIB, true,
					 "TCE table index and spapr-vlan/vscsi devices: 8 MiB");
	if (r >= 0 && needs_passthrough)
		r = vfd_memlock_plan_add(plan, "ppc64-passthrough", pass * KIB, true,
					 c >= de ?
					 "VFIO/vDPA: the pre-DDW DMA windows, 2 GiB for each of %llu PHBs, "
					 "exceed memory + memory/512 per PHB + 8 MiB" :
					 "VFIO/vDPA: guest memory once (pre-registered) + a 64-bit DMA window "
					 "of memory/512 for each of %llu PHBs + 8 MiB",
					 (unsigned long long)nphb);
	if (r < 0)
		return vfd_error_setf(error_message, r, "out of memory");

	plan->limit_bytes = total * KIB;
	return 0;
}

int vfd_memlock_libvirt_compute(const vfd_memlock_spec *spec, vfd_memlock_libvirt_compat compat,
				vfd_memlock_plan *plan, char **error_message)
{
	uint64_t memory = spec->memory_kib, nvfio, nnvme, nvdpa, vfio_factor = 0, kib, total;
	bool force = compat == VFD_MEMLOCK_LIBVIRT_9_0 && spec->libvirt_force_vfio;
	vfd_memlock_counts n;
	int r;

	/* the hard limit wins: the process cannot use more memory than that anyway */
	if (spec->has_hard_limit) {
		r = vfd_memlock_plan_add(plan, "hard-limit", spec->hard_limit_kib * KIB, true,
					 "<memtune><hard_limit> is %llu KiB: libvirt prefers it to any computation",
					 (unsigned long long)spec->hard_limit_kib);
		if (r < 0)
			return vfd_error_setf(error_message, r, "out of memory");
		plan->limit_bytes = spec->hard_limit_kib * KIB;
		return 0;
	}

	/* QEMU's own allocations get locked too and cannot be predicted */
	if (spec->memory_locked) {
		r = vfd_memlock_plan_add(plan, "memory-locked", VFD_MEMLOCK_UNLIMITED, true,
					 "<memoryBacking><locked/> without a hard limit: QEMU locks all its memory, "
					 "of no predictable size, so libvirt lifts the limit (VIR_DOMAIN_MEMORY_PARAM_UNLIMITED)");
		if (r < 0)
			return vfd_error_setf(error_message, r, "out of memory");
		plan->limit_bytes = VFD_MEMLOCK_UNLIMITED;
		return 0;
	}

	if (spec->ppc64 && spec->kvm)
		return vfd_memlock_libvirt_ppc64(spec, compat, plan, error_message);

	vfd_memlock_count_devices(spec, &n);
	if (compat == VFD_MEMLOCK_LIBVIRT_9_0) {
		/* qemuDomainGetNumVFIODevices(): VFIO and mdev hostdevs and NVMe disks together */
		nvfio = n.pci + n.mdev + n.nvme;
		nnvme = 0;
		/* qemuDomainGetNumVDPANetDevices(): interfaces only */
		nvdpa = n.vdpa - n.vdpa_disks;
	} else {
		/* later: NVMe disks and vhost-vdpa disks each map all memory themselves */
		nvfio = n.pci + n.mdev;
		nnvme = n.nvme;
		nvdpa = n.vdpa;
	}

	if (!force && !nvfio && !nnvme && !nvdpa) {
		r = vfd_memlock_plan_add(plan, "no-dma-devices", 0, true,
					 "no VFIO, NVMe or vDPA device: libvirt leaves the limit alone");
		if (r < 0)
			return vfd_error_setf(error_message, r, "out of memory");
		plan->limit_bytes = 0;
		return 0;
	}

	/*
	 * factor = vDPA devices (+ NVMe disks, later) + VFIO: one copy of all
	 * memory per VFIO device behind a vIOMMU (each has its own address
	 * space and container), one copy for all of them without.
	 */
	if (nvfio || force)
		vfio_factor = (nvfio && spec->viommu) ? nvfio : 1;

	if (!mul_u64(vfio_factor + nnvme + nvdpa, memory, &kib) || !add_u64(kib, 1024 * 1024, &total) ||
	    total > UINT64_MAX / KIB)
		return FAIL_OVERFLOW(error_message);

	r = 0;
	if (vfio_factor > 0) {
		if (nvfio && spec->viommu)
			r = vfd_memlock_plan_add(plan, "vfio-devices", vfio_factor * memory * KIB, true,
						 "%llu VFIO devices (PCI %zu, mdev %zu%s) behind a vIOMMU: "
						 "guest memory (%llu KiB) once per device",
						 (unsigned long long)nvfio, n.pci, n.mdev,
						 compat == VFD_MEMLOCK_LIBVIRT_9_0 && n.nvme ? ", NVMe disks included" : "",
						 (unsigned long long)memory);
		else
			r = vfd_memlock_plan_add(plan, "vfio-devices", memory * KIB, true,
						 "%s: guest memory (%llu KiB) once, shared by all VFIO devices "
						 "(PCI %zu, mdev %zu%s)",
						 nvfio ? "VFIO devices without a vIOMMU" : "a VFIO device is being added",
						 (unsigned long long)memory, n.pci, n.mdev,
						 compat == VFD_MEMLOCK_LIBVIRT_9_0 && n.nvme ? ", NVMe disks included" : "");
	}
	if (r >= 0 && nnvme)
		r = vfd_memlock_plan_add(plan, "nvme-disks", nnvme * memory * KIB, true,
					 "%llu NVMe disks: guest memory (%llu KiB) once per disk",
					 (unsigned long long)nnvme, (unsigned long long)memory);
	if (r >= 0 && nvdpa)
		r = vfd_memlock_plan_add(plan, "vdpa-devices", nvdpa * memory * KIB, true,
					 "%llu vDPA devices: guest memory (%llu KiB) once per device",
					 (unsigned long long)nvdpa, (unsigned long long)memory);
	if (r >= 0)
		r = vfd_memlock_plan_add(plan, "mmio-window", 1024 * 1024 * KIB, true,
					 "1 GiB for the MMIO of emulated devices (libvirt's x86 assumption)");
	if (r < 0)
		return vfd_error_setf(error_message, r, "out of memory");

	plan->limit_bytes = total * KIB;
	return 0;
}
