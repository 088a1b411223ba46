/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * From a parsed libvirt domain to the memlock spec: what libvirt 9.0's
 * qemuDomainGetMemLockLimitBytes() sees after libvirt has post-processed
 * the definition. Two things are not in the XML and come from the host:
 * the mdev type of an mdev (for the precise policy's budgets) and, on
 * pSeries, the IOMMU group of each PCI hostdev, because libvirt puts every
 * isolation group on a PCI host bridge of its own and the PHB count is
 * part of the pSeries formula.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "memlock-internal.h"

#define streq(a, b) (strcmp((a), (b)) == 0)

static bool arch_is_ppc64(const char *arch)
{
	if (!arch) {
		/* libvirt defaults the guest architecture to the host's */
#if defined(__powerpc64__)
		return true;
#else
		return false;
#endif
	}
	return streq(arch, "ppc64") || streq(arch, "ppc64le");
}

static bool bus_used(const vfd_domain *dom, unsigned bus)
{
	return bus < 256 && (dom->guest_bus_used[bus / 8] & (1u << (bus % 8)));
}

/*
 * libvirt (qemuDomainSetupIsolationGroups, virDomainPCIAddressGetNextAddr):
 * PHB 0 is locked to isolation group 0, for emulated devices. A PCI
 * hostdev's isolation group is its host IOMMU group + 1 (0 when the group
 * cannot be looked up: no isolation). Devices of one group share a PHB; a
 * group takes an empty, unlocked PHB first and otherwise makes a new one.
 * Hostdevs with an explicit guest address keep it.
 */
static unsigned count_pseries_phbs(const vfd_domain *dom, const vfd_memlock_host_lookup *lookup)
{
	int groups[256];
	size_t n_groups = 0, empty_explicit = 0;
	unsigned phbs = 1; /* index 0, written or implicit */

	for (size_t i = 0; i < dom->n_pci_root_indexes; i++) {
		if (dom->pci_root_indexes[i] == 0)
			continue;
		phbs++;
		if (!bus_used(dom, dom->pci_root_indexes[i]))
			empty_explicit++;
	}

	for (size_t i = 0; i < dom->n_hostdevs; i++) {
		const vfd_domain_hostdev *h = &dom->hostdevs[i];
		bool seen = false;
		int g;

		if (h->kind != VFD_DOMAIN_HOSTDEV_PCI || h->has_guest_pci_address)
			continue;
		if (!lookup || !lookup->pci_iommu_group)
			continue;
		g = lookup->pci_iommu_group(&h->source, lookup->userdata);
		if (g < 0)
			continue;
		for (size_t j = 0; j < n_groups; j++)
			if (groups[j] == g)
				seen = true;
		if (seen || n_groups >= ELEMENTSOF(groups))
			continue;
		groups[n_groups++] = g;
		if (empty_explicit > 0)
			empty_explicit--;
		else if (phbs < 32) /* QEMU has 32 PHBs at most (target index 0..31) */
			phbs++;
	}
	return phbs;
}

int vfd_memlock_spec_from_domain(const vfd_domain *dom, const vfd_memlock_host_lookup *lookup,
				 vfd_memlock_backend backend, vfd_memlock_spec **ret,
				 char **error_message)
{
	_cleanup_(vfd_memlock_spec_freep) vfd_memlock_spec *spec = NULL;
	char name[VFD_PCI_ADDRESS_STRLEN];
	bool pseries;
	int r;

	if (!dom || !ret || (unsigned)backend >= _VFD_MEMLOCK_BACKEND_MAX)
		return vfd_error_setf(error_message, -EINVAL, "invalid arguments");
	r = vfd_memlock_spec_new(&spec);
	if (r < 0)
		return vfd_error_setf(error_message, r, "out of memory");

	spec->memory_kib = dom->memory_kib;
	spec->max_memory_kib = dom->max_memory_kib;
	spec->has_hard_limit = dom->has_hard_limit;
	spec->hard_limit_kib = dom->hard_limit_kib;
	spec->memory_locked = dom->memory_locked;
	spec->kvm = dom->virt_type && streq(dom->virt_type, "kvm");
	spec->ppc64 = arch_is_ppc64(dom->arch);
	spec->viommu = dom->iommu_model != NULL;
	spec->backend = backend;

	/* qemuDomainIsPSeries(): ppc64 with a pseries* machine, pseries being the default */
	pseries = spec->ppc64 && (!dom->machine || strncmp(dom->machine, "pseries", 7) == 0);
	spec->n_phbs = pseries ? count_pseries_phbs(dom, lookup) : 0;

	for (size_t i = 0; i < dom->n_hostdevs; i++) {
		const vfd_domain_hostdev *h = &dom->hostdevs[i];
		_cleanup_free_ char *type = NULL;

		if (h->kind == VFD_DOMAIN_HOSTDEV_PCI) {
			/* only VFIO-backed PCI hostdevs pin (virHostdevIsVFIODevice) */
			if (!h->vfio)
				continue;
			r = vfd_memlock_spec_add_device(spec, VFD_MEMLOCK_DEVICE_PCI,
							vfd_pci_address_format(&h->source, name), NULL,
							VFD_MEMLOCK_SPACE_AUTO);
		} else {
			if (lookup && lookup->mdev_type && lookup->mdev_type(h->mdev_uuid, &type, lookup->userdata) < 0)
				type = NULL;
			r = vfd_memlock_spec_add_device(spec, VFD_MEMLOCK_DEVICE_MDEV, h->mdev_uuid, type,
							VFD_MEMLOCK_SPACE_AUTO);
		}
		if (r < 0)
			return vfd_error_setf(error_message, r, "out of memory");
	}
	for (size_t i = 0; i < dom->n_nvme_disks; i++) {
		const vfd_domain_nvme_disk *d = &dom->nvme_disks[i];

		r = vfd_memlock_spec_add_device(spec, VFD_MEMLOCK_DEVICE_NVME,
						d->target ? d->target : vfd_pci_address_format(&d->source, name),
						NULL, VFD_MEMLOCK_SPACE_AUTO);
		if (r < 0)
			return vfd_error_setf(error_message, r, "out of memory");
	}
	for (size_t i = 0; i < dom->n_vdpa_devices; i++) {
		r = vfd_memlock_spec_add_device(spec, VFD_MEMLOCK_DEVICE_VDPA, dom->vdpa_devices[i].device, NULL,
						VFD_MEMLOCK_SPACE_AUTO);
		if (r < 0)
			return vfd_error_setf(error_message, r, "out of memory");
		spec->devices[spec->n_devices - 1].vdpa_disk = dom->vdpa_devices[i].is_disk;
	}

	r = vfd_memlock_spec_validate(spec, error_message);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(spec);
	return 0;
}
