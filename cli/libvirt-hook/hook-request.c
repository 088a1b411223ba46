/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vfiod/domain-xml.h"
#include "vfiod/error-message.h"
#include "hook-request.h"
#include "vfiod/inventory.h"

#define streq(a, b) (strcmp((a), (b)) == 0)

HookOp hook_op_from_string(const char *s)
{
	static const struct {
		const char *name;
		HookOp op;
	} ops[] = {
		{ "prepare",   HOOK_OP_PREPARE   },
		{ "started",   HOOK_OP_STARTED   },
		{ "stopped",   HOOK_OP_STOPPED   },
		{ "release",   HOOK_OP_RELEASE   },
		{ "reconnect", HOOK_OP_RECONNECT },
	};

	for (size_t i = 0; s && i < ELEMENTSOF(ops); i++)
		if (streq(s, ops[i].name))
			return ops[i].op;
	return HOOK_OP_OTHER;
}

int hook_check_name_arg(const char *name, char **error_message)
{
	size_t n = name ? strnlen(name, HOOK_ARG_NAME_MAX + 1) : 0;

	if (n == 0)
		return vfd_error_setf(error_message, -EINVAL, "the domain name argument is empty");
	if (n > HOOK_ARG_NAME_MAX)
		return vfd_error_setf(error_message, -EINVAL, "the domain name argument is longer than %d bytes",
				      HOOK_ARG_NAME_MAX);
	/* it ends up in messages and logs: no line breaks or escapes */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return vfd_error_setf(error_message, -EINVAL,
					      "the domain name argument contains a control character");
	return 0;
}

HookVM *hook_vm_free(HookVM *vm)
{
	if (!vm)
		return NULL;
	free(vm->name);
	free(vm->uuid);
	for (size_t i = 0; i < vm->n_pci_devices; i++)
		free(vm->pci_devices[i]);
	free(vm->pci_devices);
	for (size_t i = 0; i < vm->n_mdevs; i++)
		free(vm->mdevs[i]);
	free(vm->mdevs);
	vfd_memlock_spec_free(vm->spec);
	free(vm);
	return NULL;
}

/* appends a copy of s; -ENOMEM */
static int push_copy(char ***list, size_t *n, const char *s)
{
	char **l, *copy;

	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	l = realloc(*list, (*n + 1) * sizeof(*l));
	if (!l) {
		free(copy);
		return -ENOMEM;
	}
	l[(*n)++] = copy;
	*list = l;
	return 0;
}

static bool contains(char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (streq(list[i], s))
			return true;
	return false;
}

static int add_devices(HookVM *vm, const vfd_domain *d)
{
	for (size_t i = 0; i < d->n_hostdevs; i++) {
		const vfd_domain_hostdev *h = &d->hostdevs[i];
		char addr[VFD_PCI_ADDRESS_STRLEN];
		int r;

		if (h->kind == VFD_DOMAIN_HOSTDEV_MDEV) {
			if (contains(vm->mdevs, vm->n_mdevs, h->mdev_uuid))
				continue;
			r = push_copy(&vm->mdevs, &vm->n_mdevs, h->mdev_uuid);
		} else if (!h->vfio) {
			continue; /* legacy KVM or Xen assignment: no VFIO, nothing for vfiod */
		} else if (h->managed) {
			/* libvirt detaches and reattaches it itself: claiming it too would race */
			vm->n_managed_skipped++;
			continue;
		} else {
			vfd_pci_address_format(&h->source, addr);
			if (contains(vm->pci_devices, vm->n_pci_devices, addr))
				continue;
			r = push_copy(&vm->pci_devices, &vm->n_pci_devices, addr);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* every VFIO host device goes through iommufd (libvirt >= 12): no type1 container, no dma_entry_limit */
static bool all_hostdevs_iommufd(const vfd_domain *d)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n_hostdevs; i++) {
		const vfd_domain_hostdev *h = &d->hostdevs[i];

		if (h->kind == VFD_DOMAIN_HOSTDEV_PCI && !h->vfio)
			continue;
		if (h->kind != VFD_DOMAIN_HOSTDEV_PCI || !h->iommufd)
			return false;
		n++;
	}
	return n > 0;
}

int hook_vm_from_xml(const char *name_arg, const char *xml, size_t size, HookVM **ret,
		     char **error_message)
{
	_cleanup_(vfd_domain_freep) vfd_domain *d = NULL;
	_cleanup_(hook_vm_freep) HookVM *vm = NULL;
	int r;

	if (!name_arg || !ret)
		return vfd_error_setf(error_message, -EINVAL, "invalid arguments");
	r = vfd_domain_parse_xml(xml, size, &d, error_message);
	if (r < 0)
		return r;
	if (!d->name)
		return vfd_error_setf(error_message, -EINVAL, "the domain XML has no <name>");
	if (!streq(d->name, name_arg))
		return vfd_error_setf(error_message, -EINVAL,
				      "the domain XML is for '%.80s', the hook was called for '%.80s'",
				      d->name, name_arg);
	if (!d->uuid)
		return vfd_error_setf(error_message, -EINVAL, "the domain XML has no <uuid>");

	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	vm->name = TAKE_PTR(d->name);
	vm->uuid = TAKE_PTR(d->uuid);
	/* NUMA cells may add up to more than a uint64_t of bytes */
	if (d->memory_kib > UINT64_MAX / 1024)
		return vfd_error_setf(error_message, -ERANGE, "the domain's memory size is too large");
	vm->memory_bytes = d->memory_kib * 1024;
	vm->viommu = d->iommu_model != NULL;
	r = add_devices(vm, d);
	if (r < 0)
		return vfd_error_setf(error_message, r, "out of memory");
	/* no host lookups: the PHB count of pSeries does not enter the mapping count */
	r = vfd_memlock_spec_from_domain(d, NULL,
					 all_hostdevs_iommufd(d) ? VFD_MEMLOCK_BACKEND_IOMMUFD : VFD_MEMLOCK_BACKEND_TYPE1,
					 &vm->spec, error_message);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(vm);
	return 0;
}

int hook_vm_check_dma_budget(const HookVM *vm, uint64_t limit, uint64_t *ret_mappings, char **ret_warning,
			     char **error_message)
{
	_cleanup_(vfd_dma_budget_freep) vfd_dma_budget *b = NULL;
	int r;

	if (!vm || !vm->spec || !ret_mappings || !ret_warning)
		return vfd_error_setf(error_message, -EINVAL, "invalid arguments");
	r = vfd_dma_budget_compute(vm->spec, limit, &b, error_message);
	if (r < 0)
		return r;
	if (b->verdict == VFD_DMA_VERDICT_OVER)
		return vfd_error_setf(error_message, -EXFULL, "%s", b->message);
	/* nothing for vfiod to check where the guest decides, or where no type1 container is made */
	*ret_mappings = b->verdict == VFD_DMA_VERDICT_UNKNOWN || b->verdict == VFD_DMA_VERDICT_NONE ? 0 : b->mappings;
	*ret_warning = TAKE_PTR(b->message);
	return 0;
}
