/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/fixtures/lab-host: sysfs captured (tests/fixtures/capture-sysfs.sh)
 * inside the nested lab VM: q35 with a vIOMMU, edu, e1000e and nvme each
 * behind its own root port, the ICH9 functions at 00:1f.x in one group,
 * and an mtty parent with one instance. Real kernel output, so the checks
 * name devices by vendor:device, not by address.
 */
#include "vfd-test.h"
#include "vfiod/inventory.h"

static vfd_context *lab(void)
{
	const char *root = getenv("VFD_LAB_HOST");
	vfd_context *ctx = NULL;

	if (!root || !*root)
		vfd_test_fail(__FILE__, __LINE__, "VFD_LAB_HOST is not set (run through meson test)");
	ASSERT_OK(vfd_context_new(root, &ctx));
	return ctx;
}

typedef struct inventory {
	vfd_pci_device **devs;
	size_t n_devs;
	vfd_iommu_group **groups;
	size_t n_groups;
} inventory;

static void inventory_load(vfd_context *ctx, inventory *inv)
{
	ASSERT_OK(vfd_pci_device_enumerate(ctx, &inv->devs, &inv->n_devs));
	ASSERT_OK(vfd_iommu_group_enumerate(ctx, &inv->groups, &inv->n_groups));
}

static void inventory_done(inventory *inv)
{
	vfd_pci_device_array_free(inv->devs, inv->n_devs);
	vfd_iommu_group_array_free(inv->groups, inv->n_groups);
}

static const vfd_pci_device *find_one(const inventory *inv, uint16_t vendor, uint16_t device)
{
	const vfd_pci_device *found = NULL;
	size_t i;

	for (i = 0; i < inv->n_devs; i++)
		if (inv->devs[i]->vendor_id == vendor && inv->devs[i]->device_id == device) {
			if (found)
				vfd_test_fail(__FILE__, __LINE__, "%04x:%04x found twice", vendor, device);
			found = inv->devs[i];
		}
	if (!found)
		vfd_test_fail(__FILE__, __LINE__, "%04x:%04x not found", vendor, device);
	return found;
}

static const vfd_iommu_group *find_group(const inventory *inv, int id)
{
	size_t i;

	ASSERT_TRUE(id >= 0);
	for (i = 0; i < inv->n_groups; i++)
		if (inv->groups[i]->id == (unsigned)id)
			return inv->groups[i];
	vfd_test_fail(__FILE__, __LINE__, "group %d not found", id);
}

/* The endpoint is the only non-bridge function of its group. */
static void assert_isolated(const inventory *inv, const vfd_pci_device *d, uint32_t class_code)
{
	const vfd_iommu_group *g;
	size_t i;

	ASSERT_EQ(d->class_code, class_code);
	ASSERT_FALSE(d->is_bridge);
	g = find_group(inv, d->iommu_group);
	for (i = 0; i < g->n_members; i++)
		if (strcmp(g->members[i].name, d->name) != 0)
			ASSERT_TRUE(g->members[i].is_bridge);
}

static void test_endpoints_in_own_groups(void)
{
	vfd_context *ctx = lab();
	inventory inv = { 0 };

	inventory_load(ctx, &inv);
	assert_isolated(&inv, find_one(&inv, 0x1234, 0x11e8), 0x00ff00); /* edu */
	assert_isolated(&inv, find_one(&inv, 0x8086, 0x10d3), 0x020000); /* e1000e */
	assert_isolated(&inv, find_one(&inv, 0x1b36, 0x0010), 0x010802); /* nvme */
	inventory_done(&inv);
	vfd_context_free(ctx);
}

static void test_ich9_multi_function_group(void)
{
	static const uint16_t ich9[][2] = {
		{ 0x2918, 0x060100 >> 8 }, /* 00:1f.0 LPC */
		{ 0x2922, 0x010601 >> 8 }, /* 00:1f.2 AHCI */
		{ 0x2930, 0x0c0500 >> 8 }, /* 00:1f.3 SMBus */
	};
	vfd_context *ctx = lab();
	inventory inv = { 0 };
	const vfd_iommu_group *g;
	int group = -1;
	size_t i, j;

	inventory_load(ctx, &inv);
	for (i = 0; i < sizeof(ich9) / sizeof(ich9[0]); i++) {
		const vfd_pci_device *d = find_one(&inv, 0x8086, ich9[i][0]);

		ASSERT_EQ(d->address.bus, 0);
		ASSERT_EQ(d->address.slot, 0x1f);
		ASSERT_EQ(d->class_code >> 8, ich9[i][1]);
		if (group < 0)
			group = d->iommu_group;
		ASSERT_EQ(d->iommu_group, group);
	}
	g = find_group(&inv, group);
	ASSERT_TRUE(g->n_members >= 3);
	for (j = 0; j < g->n_members; j++) {
		ASSERT_STREQ(g->members[j].bus, "pci");
		ASSERT_TRUE(strncmp(g->members[j].name, "0000:00:1f.", 11) == 0);
	}
	inventory_done(&inv);
	vfd_context_free(ctx);
}

static void test_groups_consistent(void)
{
	vfd_context *ctx = lab();
	inventory inv = { 0 };
	const vfd_pci_device *nic;
	size_t i, j;

	inventory_load(ctx, &inv);
	ASSERT_TRUE(inv.n_groups > 0);
	for (i = 0; i < inv.n_groups; i++) {
		bool all = inv.groups[i]->n_members > 0;

		for (j = 0; j < inv.groups[i]->n_members; j++)
			all = all && inv.groups[i]->members[j].viable;
		ASSERT_EQ(inv.groups[i]->viable, all);
	}
	/* every function with a group link is a member of that group */
	for (i = 0; i < inv.n_devs; i++) {
		const vfd_iommu_group *g;
		bool found = false;

		if (inv.devs[i]->iommu_group < 0)
			continue;
		g = find_group(&inv, inv.devs[i]->iommu_group);
		for (j = 0; j < g->n_members; j++)
			found = found || strcmp(g->members[j].name, inv.devs[i]->name) == 0;
		ASSERT_TRUE(found);
	}

	/* with e1000e bound to its own driver, its group cannot go to VFIO */
	nic = find_one(&inv, 0x8086, 0x10d3);
	if (nic->driver && strcmp(nic->driver, "e1000e") == 0) {
		const vfd_iommu_group *g = find_group(&inv, nic->iommu_group);

		ASSERT_FALSE(g->viable);
		for (j = 0; j < g->n_members; j++)
			if (strcmp(g->members[j].name, nic->name) == 0)
				ASSERT_STREQ(g->members[j].reason, "bound to host driver e1000e, which uses DMA");
	}
	inventory_done(&inv);
	vfd_context_free(ctx);
}

static void test_mtty(void)
{
	vfd_context *ctx = lab();
	vfd_mdev_parent *p = NULL;
	vfd_mdev **mdevs = NULL;
	vfd_iommu_group *g = NULL;
	size_t n = 0, i;
	bool member = false;

	ASSERT_OK(vfd_mdev_parent_load(ctx, "mtty", &p));
	ASSERT_STREQ(p->bus, "");
	ASSERT_EQ(p->n_types, 2);
	ASSERT_STREQ(p->types[0]->id, "mtty-1");
	ASSERT_STREQ(p->types[0]->name, "Single port serial");
	ASSERT_STREQ(p->types[1]->id, "mtty-2");
	ASSERT_STREQ(p->types[1]->name, "Dual port serial");
	for (i = 0; i < p->n_types; i++)
		ASSERT_STREQ(p->types[i]->device_api, "vfio-pci");
	vfd_mdev_parent_free(p);

	ASSERT_OK(vfd_mdev_enumerate(ctx, &mdevs, &n));
	ASSERT_EQ(n, 1);
	ASSERT_STREQ(mdevs[0]->parent, "mtty");
	ASSERT_TRUE(strncmp(mdevs[0]->type_id, "mtty-", 5) == 0);
	ASSERT_TRUE(mdevs[0]->iommu_group >= 0);

	ASSERT_OK(vfd_iommu_group_load(ctx, (unsigned)mdevs[0]->iommu_group, &g));
	for (i = 0; i < g->n_members; i++)
		if (strcmp(g->members[i].name, mdevs[0]->uuid) == 0) {
			member = true;
			ASSERT_STREQ(g->members[i].bus, "mdev");
		}
	ASSERT_TRUE(member);
	vfd_iommu_group_free(g);
	vfd_mdev_array_free(mdevs, n);
	vfd_context_free(ctx);
}

VFD_TEST_MAIN(
	VFD_TEST(test_endpoints_in_own_groups),
	VFD_TEST(test_ich9_multi_function_group),
	VFD_TEST(test_groups_consistent),
	VFD_TEST(test_mtty),
)
