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

/* how QEMU lays out guest RAM for this machine type (the mapping count only) */
static vfd_memlock_machine machine_layout(const char *arch, const char *machine)
{
	bool x86;

	if (!arch)
#if defined(__x86_64__) || defined(__i386__)
		x86 = true;
#else
		x86 = false;
#endif
	else
		x86 = streq(arch, "x86_64") || streq(arch, "i686");
	if (!x86)
		return VFD_MEMLOCK_MACHINE_OTHER;
	/* "q35", "pc-q35-7.2"; "pc", "pc-i440fx-7.2" and QEMU's default pc */
	if (machine && (streq(machine, "q35") || strncmp(machine, "pc-q35-", 7) == 0))
		return VFD_MEMLOCK_MACHINE_X86_Q35;
	if (!machine || streq(machine, "pc") || strncmp(machine, "pc-", 3) == 0)
		return VFD_MEMLOCK_MACHINE_X86_PC;
	return VFD_MEMLOCK_MACHINE_OTHER; /* microvm, isapc, ... */
}

static int add_memory_devices(const vfd_domain *dom, vfd_memlock_spec *spec)
{
	int r;

	spec->machine = machine_layout(dom->arch, dom->machine);
	spec->n_numa_cells = dom->n_numa_cells;
	spec->max_memory_slots = dom->max_memory_slots;
	for (size_t i = 0; i < dom->n_memory_devices; i++) {
		const vfd_domain_memory_device *m = &dom->memory_devices[i];

		r = vfd_memlock_spec_add_memory_device(spec, m->model && streq(m->model, "virtio-mem"),
						       m->size_kib * 1024, m->block_kib * 1024);
		if (r < 0)
			return r;
	}
	return 0;
}

static bool bus_used(const vfd_domain *dom, unsigned bus)
{
	return bus < 256 && (dom->guest_bus_used[bus / 8] & (1u << (bus % 8)));
}

/* the model of the PCI controller numbered index; *ret_found false when there is none */
static const char *pci_controller_model(const vfd_domain *dom, unsigned index, bool *ret_found)
{
	for (size_t i = 0; i < dom->n_pci_controllers; i++)
		if (dom->pci_controllers[i].index == index) {
			*ret_found = true;
			return dom->pci_controllers[i].model;
		}
	*ret_found = false;
	return NULL;
}

/*
 * pSeries PHBs before the hostdevs are placed, as libvirt's address
 * assignment leaves them (qemuDomainPCIAddressSetCreate): bus 0, every
 * pci-root controller, and a pci-root for each bus that has no controller
 * of its own up to the highest bus in use (a controller index or a guest
 * address), pci-root being pSeries' default bus model; a controller
 * written without a model gets that default too. *ret_empty: how many of
 * them no guest address names, where isolated hostdevs go first.
 */
static unsigned count_pseries_buses(const vfd_domain *dom, unsigned *ret_empty)
{
	unsigned phbs = 1, empty = 0, max_bus = 0;

	for (size_t i = 0; i < dom->n_pci_controllers; i++) {
		const vfd_domain_pci_controller *c = &dom->pci_controllers[i];

		if (c->index > max_bus)
			max_bus = c->index;
		/* beyond the bus numbers: counted here, not by the walk below */
		if (c->index > 255 && (!c->model || streq(c->model, "pci-root"))) {
			phbs++;
			empty++;
		}
	}
	for (unsigned b = 0; b < 256; b++)
		if (bus_used(dom, b) && b > max_bus)
			max_bus = b;

	for (unsigned b = 1; b <= max_bus && b < 256; b++) {
		bool found;
		const char *model = pci_controller_model(dom, b, &found);

		if (found && model && !streq(model, "pci-root"))
			continue;
		phbs++;
		if (!bus_used(dom, b))
			empty++;
	}
	*ret_empty = empty;
	return phbs;
}

/*
 * libvirt (qemuDomainSetupIsolationGroups, virDomainPCIAddressGetNextAddr):
 * PHB 0 is locked to isolation group 0, for emulated devices. A PCI
 * hostdev's isolation group is its host IOMMU group + 1 (0 when the group
 * cannot be looked up: no isolation). Devices of one group share a PHB; a
 * group takes an empty, unlocked PHB first and otherwise makes a new one.
 * Hostdevs with an explicit guest address keep it. *ret_unknown counts
 * the hostdevs placed here whose IOMMU group could not be read.
 */
static unsigned count_pseries_phbs(const vfd_domain *dom, const vfd_memlock_host_lookup *lookup,
				   size_t *ret_placed, size_t *ret_unknown)
{
	int groups[256];
	size_t n_groups = 0, placed = 0, unknown = 0;
	unsigned empty;
	unsigned phbs = count_pseries_buses(dom, &empty);

	for (size_t i = 0; i < dom->n_hostdevs; i++) {
		const vfd_domain_hostdev *h = &dom->hostdevs[i];
		bool seen = false;
		int g = -1;

		if (h->kind != VFD_DOMAIN_HOSTDEV_PCI || h->has_guest_pci_address)
			continue;
		placed++;
		if (lookup && lookup->pci_iommu_group)
			g = lookup->pci_iommu_group(&h->source, lookup->userdata);
		if (g < 0) {
			unknown++;
			continue;
		}
		for (size_t j = 0; j < n_groups; j++)
			if (groups[j] == g)
				seen = true;
		if (seen || n_groups >= ELEMENTSOF(groups))
			continue;
		groups[n_groups++] = g;
		if (empty > 0)
			empty--;
		else if (phbs < 32) /* QEMU has 32 PHBs at most (target index 0..31) */
			phbs++;
	}
	*ret_placed = placed;
	*ret_unknown = unknown;
	return phbs;
}

/*
 * What libvirt adds to a domain or resolves only later, and that this
 * reading of the XML can only assume: said in the plan (spec notes).
 */
static int note_unexpanded(const vfd_domain *dom, bool pseries, size_t placed, size_t unknown,
			   vfd_memlock_spec *spec)
{
	int r = 0;

	if (pseries && placed > 0)
		r = vfd_memlock_spec_add_note(spec,
			"the domain XML is not expanded: %zu PCI host device(s) without a guest <address>; "
			"their PHBs are counted as libvirt adds them (one per host IOMMU group). "
			"The definition libvirt stores (virsh dumpxml) has them written out",
			placed);
	if (r >= 0 && pseries && unknown > 0)
		r = vfd_memlock_spec_add_note(spec,
			"%zu PCI host device(s) of unknown IOMMU group (not on this host?) are counted on "
			"the default PHB; libvirt gives each group a PHB of its own, so the limit may be "
			"too low: plan with the domain's host or its live XML (virsh dumpxml)", unknown);
	if (r >= 0 && dom->n_network_interfaces > 0)
		r = vfd_memlock_spec_add_note(spec,
			"%zu <interface type='network'> counted as no VFIO device: libvirt resolves each "
			"when the domain starts, to a VFIO host device if its network is a hostdev pool "
			"(<forward mode='hostdev'>); the live XML (virsh dumpxml of the running domain) "
			"shows which", dom->n_network_interfaces);
	return r;
}

int vfd_memlock_spec_from_domain(const vfd_domain *dom, const vfd_memlock_host_lookup *lookup,
				 vfd_memlock_backend backend, vfd_memlock_spec **ret,
				 char **error_message)
{
	_cleanup_(vfd_memlock_spec_freep) vfd_memlock_spec *spec = NULL;
	char name[VFD_PCI_ADDRESS_STRLEN];
	size_t placed = 0, unknown = 0;
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
	if (pseries)
		spec->n_phbs = count_pseries_phbs(dom, lookup, &placed, &unknown);
	r = add_memory_devices(dom, spec);
	if (r >= 0)
		r = note_unexpanded(dom, pseries, placed, unknown, spec);
	if (r < 0)
		return vfd_error_setf(error_message, r, "out of memory");

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
