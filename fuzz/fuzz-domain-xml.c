/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A libvirt domain XML, untrusted (vfioctl memlock plan --domain-xml, the
 * libvirt hook, vfiod's libvirt client): the hardened reader
 * (lib/domain-xml.c, lib/xml-untrusted.c), the alias table read from the
 * same document, and the memlock plan built from what it found
 * (lib/memlock*.c) under every policy, formula, backend and accounting.
 */
#include "vfiod/domain-xml.h"
#include "fuzz-util.h"
#include "vfiod/memlock.h"

/*
 * Host facts the document does not carry, made up from the address so
 * that the same input always gives the same answers, and some of them
 * fail as a missing device would.
 */
static int fake_iommu_group(const vfd_pci_address *addr, void *userdata)
{
	if (addr->function == 7)
		return -ENOENT;
	return (addr->domain + addr->bus) % 5;
}

static int fake_mdev_type(const char *uuid, char **ret, void *userdata)
{
	if (uuid[0] == '0')
		return -ENODEV;
	*ret = strdup(uuid[0] < 'a' ? "nvidia-63" : "i915-GVTg_V5_4");
	return *ret ? 0 : -ENOMEM;
}

static void check_plan(const vfd_memlock_plan *plan)
{
	for (size_t i = 0; i < plan->n_entries; i++)
		FUZZ_CHECK(plan->entries[i].rule && plan->entries[i].detail);
}

static void plan_all_ways(const vfd_domain *dom, const vfd_memlock_config *cfg)
{
	static const vfd_memlock_host_lookup lookup = {
		.pci_iommu_group = fake_iommu_group,
		.mdev_type = fake_mdev_type,
	};

	for (int b = 0; b < _VFD_MEMLOCK_BACKEND_MAX; b++) {
		_cleanup_(vfd_memlock_spec_freep) vfd_memlock_spec *spec = NULL;
		_cleanup_free_ char *message = NULL;

		if (vfd_memlock_spec_from_domain(dom, &lookup, (vfd_memlock_backend)b, &spec, &message) < 0) {
			FUZZ_CHECK(message);
			continue;
		}
		FUZZ_CHECK(!message);
		for (int a = 0; a < _VFD_MEMLOCK_IOMMUFD_MAX; a++) {
			uint64_t bytes, slack;

			spec->iommufd_accounting = (vfd_memlock_iommufd_accounting)a;
			for (int p = 0; p < _VFD_MEMLOCK_POLICY_MAX; p++) {
				_cleanup_(vfd_memlock_plan_freep) vfd_memlock_plan *plan = NULL;
				_cleanup_free_ char *err = NULL;

				if (vfd_memlock_plan_compute(spec, cfg, (vfd_memlock_policy)p, &plan, &err) >= 0)
					check_plan(plan);
			}
			(void)vfd_memlock_expected_charge(spec, cfg, &bytes, &slack);
		}
		/* type1's mapping budget: the breakdown adds up, a warning or refusal has its sentence */
		for (uint64_t limit = 0; limit <= 64; limit += 64) {
			_cleanup_(vfd_dma_budget_freep) vfd_dma_budget *budget = NULL;
			_cleanup_free_ char *err = NULL;
			uint64_t sum = 0;

			if (vfd_dma_budget_compute(spec, limit, &budget, &err) < 0) {
				FUZZ_CHECK(err);
				continue;
			}
			for (size_t i = 0; i < budget->n_entries; i++)
				sum += budget->entries[i].count;
			FUZZ_CHECK(sum == budget->mappings);
			FUZZ_CHECK((budget->message != NULL) == (budget->verdict == VFD_DMA_VERDICT_NEAR ||
								  budget->verdict == VFD_DMA_VERDICT_OVER ||
								  budget->verdict == VFD_DMA_VERDICT_UNKNOWN));
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(vfd_domain_freep) vfd_domain *dom = NULL;
	_cleanup_free_ char *message = NULL;
	vfd_domain_alias *aliases = NULL;
	size_t n_aliases = 0;
	int r;

	/* the raw bytes, no NUL added: the reader takes a size */
	r = vfd_domain_parse_xml((const char *)data, size, &dom, &message);
	if (r < 0) {
		FUZZ_CHECK(message && !dom);
		free(TAKE_PTR(message));
	} else {
		_cleanup_(vfd_memlock_config_freep) vfd_memlock_config *cfg = NULL;

		FUZZ_CHECK(dom && !message);
		for (size_t i = 0; i < dom->n_hostdevs; i++)
			if (dom->hostdevs[i].kind == VFD_DOMAIN_HOSTDEV_MDEV)
				FUZZ_CHECK(vfd_uuid_validate(dom->hostdevs[i].mdev_uuid) == 0);
		if (dom->uuid)
			FUZZ_CHECK(vfd_uuid_validate(dom->uuid) == 0);

		plan_all_ways(dom, NULL);
		if (vfd_memlock_config_new(&cfg) >= 0) {
			cfg->libvirt_compat = VFD_MEMLOCK_LIBVIRT_LATER;
			plan_all_ways(dom, cfg);
		}
	}

	if (vfd_domain_hostdev_aliases((const char *)data, size, &aliases, &n_aliases, &message) >= 0) {
		for (size_t i = 0; i < n_aliases; i++)
			FUZZ_CHECK(aliases[i].alias);
		vfd_domain_aliases_free(aliases, n_aliases);
	}
	return 0;
}
