/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the memlock files (lib/memlock*.c); not part of the library contract. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "vfiod/error-message.h"
#include "vfiod/memlock.h"

#define KIB 1024ULL
#define MIB (1024ULL * KIB)
#define GIB (1024ULL * MIB)

/* Overflow-checked arithmetic: false when the result does not fit. */
static inline bool add_u64(uint64_t a, uint64_t b, uint64_t *ret)
{
	return !__builtin_add_overflow(a, b, ret);
}

static inline bool mul_u64(uint64_t a, uint64_t b, uint64_t *ret)
{
	return !__builtin_mul_overflow(a, b, ret);
}

/* Appends a breakdown entry; detail is printf-formatted. -ENOMEM. */
int vfd_memlock_plan_add(vfd_memlock_plan *plan, const char *rule, uint64_t bytes, bool counted,
			 const char *fmt, ...) __attribute__((format(printf, 5, 6)));


/* Device counts by kind; vdpa_disks are also counted in vdpa. */
typedef struct vfd_memlock_counts {
	size_t pci, mdev, nvme, vdpa, vdpa_disks;
} vfd_memlock_counts;

void vfd_memlock_count_devices(const vfd_memlock_spec *spec, vfd_memlock_counts *ret);

/* The policies (lib/memlock-libvirt.c, lib/memlock-precise.c); plan is empty on entry. */
int vfd_memlock_libvirt_compute(const vfd_memlock_spec *spec, vfd_memlock_libvirt_compat compat,
				vfd_memlock_plan *plan, char **error_message);
/* libvirt's pSeries formula, shared with the precise policy on ppc64 KVM. */
int vfd_memlock_libvirt_ppc64(const vfd_memlock_spec *spec, vfd_memlock_libvirt_compat compat,
			      vfd_memlock_plan *plan, char **error_message);
int vfd_memlock_precise_compute(const vfd_memlock_spec *spec, const vfd_memlock_config *cfg,
				vfd_memlock_plan *plan, char **error_message);
