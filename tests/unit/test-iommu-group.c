/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IOMMU groups and the VFIO viability of each member. */
#include "vfd-test.h"
#include "vfiod/inventory.h"

static vfd_context *synthetic(void)
{
	vfd_context *ctx = NULL;

	ASSERT_OK(vfd_context_new(vfd_test_synthetic_host(), &ctx));
	return ctx;
}

static vfd_iommu_group *load(vfd_context *ctx, unsigned id)
{
	vfd_iommu_group *g = NULL;

	ASSERT_OK(vfd_iommu_group_load(ctx, id, &g));
	ASSERT_NOT_NULL(g);
	ASSERT_EQ(g->id, id);
	return g;
}

static void assert_member(const vfd_group_member *m, const char *name, const char *bus,
			  const char *driver, bool is_bridge, vfd_member_state state,
			  const char *reason)
{
	ASSERT_STREQ(m->name, name);
	ASSERT_STREQ(m->bus, bus);
	if (driver)
		ASSERT_STREQ(m->driver, driver);
	else
		ASSERT_NULL(m->driver);
	ASSERT_EQ(m->is_bridge, is_bridge);
	ASSERT_STREQ(vfd_member_state_to_string(m->state), vfd_member_state_to_string(state));
	ASSERT_EQ(m->viable, state != VFD_MEMBER_HOST_DRIVER);
	ASSERT_STREQ(m->reason, reason);
}

static void test_enumerate_sorted(void)
{
	vfd_context *ctx = synthetic();
	vfd_iommu_group **groups = NULL;
	size_t n = 0, i;

	ASSERT_OK(vfd_iommu_group_enumerate(ctx, &groups, &n));
	/* groups 0..11; listed as "0", "1", "10", "11", "2"... sorted by number */
	ASSERT_EQ(n, 12);
	for (i = 0; i < n; i++)
		ASSERT_EQ(groups[i]->id, i);
	ASSERT_NULL(groups[n]);
	vfd_iommu_group_array_free(groups, n);
	vfd_context_free(ctx);
}

static void test_non_acs_group_not_viable(void)
{
	vfd_context *ctx = synthetic();
	vfd_iommu_group *g = load(ctx, 8);

	ASSERT_EQ(g->n_members, 4);
	assert_member(&g->members[0], "0000:00:1e.0", "pci", NULL, true, VFD_MEMBER_UNBOUND,
		      "not bound to any driver");
	assert_member(&g->members[1], "0000:03:00.0", "pci", "e1000e", false, VFD_MEMBER_HOST_DRIVER,
		      "bound to host driver e1000e, which uses DMA");
	assert_member(&g->members[2], "0000:03:01.0", "pci", "vfio-pci", false, VFD_MEMBER_VFIO,
		      "bound to vfio-pci, a VFIO driver");
	assert_member(&g->members[3], "0000:03:02.0", "pci", NULL, false, VFD_MEMBER_UNBOUND,
		      "not bound to any driver");
	/* one host driver in the group makes all of it unusable */
	ASSERT_FALSE(g->viable);
	vfd_iommu_group_free(g);
	vfd_context_free(ctx);
}

static void test_gpu_and_audio_viable(void)
{
	vfd_context *ctx = synthetic();
	vfd_iommu_group *g = load(ctx, 2);

	ASSERT_EQ(g->n_members, 2);
	assert_member(&g->members[0], "0000:01:00.0", "pci", "vfio-pci", false, VFD_MEMBER_VFIO,
		      "bound to vfio-pci, a VFIO driver");
	assert_member(&g->members[1], "0000:01:00.1", "pci", "vfio-pci", false, VFD_MEMBER_VFIO,
		      "bound to vfio-pci, a VFIO driver");
	ASSERT_TRUE(g->viable);
	vfd_iommu_group_free(g);
	vfd_context_free(ctx);
}

static void test_variant_drivers_viable(void)
{
	vfd_context *ctx = synthetic();
	vfd_iommu_group *g;

	/* in the driver_managed_dma table of 6.12 */
	g = load(ctx, 9);
	ASSERT_EQ(g->n_members, 1);
	assert_member(&g->members[0], "0000:00:03.0", "pci", "nvgrace_gpu_vfio_pci", false,
		      VFD_MEMBER_VFIO, "bound to nvgrace_gpu_vfio_pci, a VFIO driver");
	ASSERT_TRUE(g->viable);
	vfd_iommu_group_free(g);

	/* only recognisable as a holder of vfio_pci_core */
	g = load(ctx, 10);
	ASSERT_EQ(g->n_members, 1);
	assert_member(&g->members[0], "0000:00:04.0", "pci", "ice_vfio_pci", false, VFD_MEMBER_VFIO,
		      "bound to ice_vfio_pci, a VFIO variant driver (module ice_vfio_pci uses vfio_pci_core)");
	ASSERT_TRUE(g->viable);
	vfd_iommu_group_free(g);
	vfd_context_free(ctx);
}

static void test_other_groups(void)
{
	vfd_context *ctx = synthetic();
	vfd_iommu_group *g;

	g = load(ctx, 1);
	ASSERT_EQ(g->n_members, 1);
	assert_member(&g->members[0], "0000:00:01.0", "pci", "pcieport", true, VFD_MEMBER_DMA_MANAGED,
		      "bound to pcieport, which leaves DMA to its user (driver_managed_dma)");
	ASSERT_TRUE(g->viable);
	vfd_iommu_group_free(g);

	g = load(ctx, 0);
	ASSERT_EQ(g->n_members, 1);
	assert_member(&g->members[0], "0000:00:00.0", "pci", NULL, false, VFD_MEMBER_UNBOUND,
		      "not bound to any driver");
	ASSERT_TRUE(g->viable);
	vfd_iommu_group_free(g);

	/* SR-IOV VFs: each in its own group, one usable, one not */
	g = load(ctx, 6);
	ASSERT_EQ(g->n_members, 1);
	ASSERT_STREQ(g->members[0].name, "0000:02:10.0");
	ASSERT_TRUE(g->viable);
	vfd_iommu_group_free(g);
	g = load(ctx, 7);
	ASSERT_EQ(g->n_members, 1);
	assert_member(&g->members[0], "0000:02:10.2", "pci", "igbvf", false, VFD_MEMBER_HOST_DRIVER,
		      "bound to host driver igbvf, which uses DMA");
	ASSERT_FALSE(g->viable);
	vfd_iommu_group_free(g);

	/* an mdev in its own (emulated) group */
	g = load(ctx, 11);
	ASSERT_EQ(g->n_members, 1);
	assert_member(&g->members[0], "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001", "mdev", "intel_vgpu_mdev",
		      false, VFD_MEMBER_VFIO,
		      "mediated device bound to intel_vgpu_mdev, a VFIO mdev driver");
	ASSERT_TRUE(g->viable);
	vfd_iommu_group_free(g);

	/* the iGPU is bound to i915 */
	g = load(ctx, 3);
	ASSERT_FALSE(g->viable);
	ASSERT_EQ(g->members[0].state, VFD_MEMBER_HOST_DRIVER);
	vfd_iommu_group_free(g);
	vfd_context_free(ctx);
}

static void test_group_membership_matches_devices(void)
{
	vfd_context *ctx = synthetic();
	vfd_pci_device **devs = NULL;
	size_t n = 0, i, j;

	/* every function's iommu_group link agrees with the group's member list */
	ASSERT_OK(vfd_pci_device_enumerate(ctx, &devs, &n));
	for (i = 0; i < n; i++) {
		vfd_iommu_group *g;
		bool found = false;

		if (devs[i]->iommu_group < 0)
			continue;
		g = load(ctx, (unsigned)devs[i]->iommu_group);
		for (j = 0; j < g->n_members; j++)
			if (strcmp(g->members[j].name, devs[i]->name) == 0) {
				found = true;
				ASSERT_EQ(g->members[j].is_bridge, devs[i]->is_bridge);
				if (devs[i]->driver)
					ASSERT_STREQ(g->members[j].driver, devs[i]->driver);
				else
					ASSERT_NULL(g->members[j].driver);
			}
		ASSERT_TRUE(found);
		vfd_iommu_group_free(g);
	}
	vfd_pci_device_array_free(devs, n);
	vfd_context_free(ctx);
}

static void test_missing_group(void)
{
	vfd_context *ctx = synthetic();
	vfd_iommu_group *g = (vfd_iommu_group *)0x1;

	ASSERT_ERRNO(vfd_iommu_group_load(ctx, 12, &g), -ENODEV);
	ASSERT_ERRNO(vfd_iommu_group_load(ctx, 4294967295u, &g), -ENODEV);
	ASSERT_ERRNO(vfd_iommu_group_load(ctx, 1, NULL), -EINVAL);
	ASSERT_TRUE(g == (vfd_iommu_group *)0x1);
	vfd_context_free(ctx);
}

static void test_state_names(void)
{
	ASSERT_STREQ(vfd_member_state_to_string(VFD_MEMBER_VFIO), "vfio");
	ASSERT_STREQ(vfd_member_state_to_string(VFD_MEMBER_UNBOUND), "unbound");
	ASSERT_STREQ(vfd_member_state_to_string(VFD_MEMBER_DMA_MANAGED), "dma-managed");
	ASSERT_STREQ(vfd_member_state_to_string(VFD_MEMBER_HOST_DRIVER), "host-driver");
	ASSERT_NULL(vfd_member_state_to_string(_VFD_MEMBER_STATE_MAX));
	ASSERT_NULL(vfd_member_state_to_string((vfd_member_state)-1));
}

/* ---- hand-made trees ---- */

static void member(const char *root, unsigned group, const char *bdf, const char *driver)
{
	char rel[512], target[512];

	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/class", bdf);
	vfd_test_write_file(root, rel, "0x020000\n");
	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/subsystem", bdf);
	vfd_test_symlink(root, rel, "../../../bus/pci");
	if (driver) {
		snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/driver", bdf);
		snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", driver);
		vfd_test_symlink(root, rel, target);
	}
	snprintf(rel, sizeof(rel), "sys/kernel/iommu_groups/%u/devices/%s", group, bdf);
	snprintf(target, sizeof(target), "../../../../devices/pci0000:00/%s", bdf);
	vfd_test_symlink(root, rel, target);
}

static void test_hand_made_groups(void)
{
	vfd_iommu_group *g = (vfd_iommu_group *)0x1, **groups = (vfd_iommu_group **)0x1;
	vfd_context *ctx = NULL;
	char *tmp = vfd_test_mkdtemp();
	char path[4200];
	size_t n = 99;

	/* pci-stub claims a device without using DMA: viable */
	member(tmp, 3, "0000:00:03.0", "pci-stub");
	member(tmp, 3, "0000:00:03.1", "vfio-pci");
	/* an empty group cannot be used */
	vfd_test_mkdir(tmp, "sys/kernel/iommu_groups/4/devices");
	/* a member without a subsystem link is a broken tree, not a vanished device */
	vfd_test_write_file(tmp, "sys/devices/pci0000:00/0000:00:05.0/class", "0x020000\n");
	vfd_test_symlink(tmp, "sys/kernel/iommu_groups/5/devices/0000:00:05.0",
			 "../../../../devices/pci0000:00/0000:00:05.0");
	/* a member that vanished while we listed is skipped */
	member(tmp, 6, "0000:00:06.0", NULL);
	vfd_test_symlink(tmp, "sys/kernel/iommu_groups/6/devices/0000:00:06.1",
			 "../../../../devices/pci0000:00/0000:00:06.1");
	/* not a group number: ignored */
	vfd_test_mkdir(tmp, "sys/kernel/iommu_groups/not-a-number/devices");

	ASSERT_OK(vfd_context_new(tmp, &ctx));
	ASSERT_OK(vfd_iommu_group_load(ctx, 3, &g));
	ASSERT_EQ(g->n_members, 2);
	assert_member(&g->members[0], "0000:00:03.0", "pci", "pci-stub", false, VFD_MEMBER_DMA_MANAGED,
		      "bound to pci-stub, which leaves DMA to its user (driver_managed_dma)");
	ASSERT_TRUE(g->viable);
	vfd_iommu_group_free(g);

	ASSERT_OK(vfd_iommu_group_load(ctx, 4, &g));
	ASSERT_EQ(g->n_members, 0);
	ASSERT_FALSE(g->viable);
	vfd_iommu_group_free(g);

	ASSERT_OK(vfd_iommu_group_load(ctx, 6, &g));
	ASSERT_EQ(g->n_members, 1);
	ASSERT_STREQ(g->members[0].name, "0000:00:06.0");
	ASSERT_TRUE(g->viable);
	vfd_iommu_group_free(g);

	g = (vfd_iommu_group *)0x1;
	ASSERT_ERRNO(vfd_iommu_group_load(ctx, 5, &g), -ENOENT);
	ASSERT_TRUE(g == (vfd_iommu_group *)0x1);
	ASSERT_ERRNO(vfd_iommu_group_enumerate(ctx, &groups, &n), -ENOENT);
	ASSERT_TRUE(groups == (vfd_iommu_group **)0x1);
	ASSERT_EQ(n, 99);

	snprintf(path, sizeof(path), "%s/sys/kernel/iommu_groups/5", tmp);
	vfd_test_rm_rf(path);
	ASSERT_OK(vfd_iommu_group_enumerate(ctx, &groups, &n));
	ASSERT_EQ(n, 3);
	ASSERT_EQ(groups[0]->id, 3);
	ASSERT_EQ(groups[1]->id, 4);
	ASSERT_EQ(groups[2]->id, 6);
	vfd_iommu_group_array_free(groups, n);
	vfd_context_free(ctx);

	/* no iommu_groups directory (no IOMMU): no groups */
	snprintf(path, sizeof(path), "%s/sys/kernel", tmp);
	vfd_test_rm_rf(path);
	ASSERT_OK(vfd_context_new(tmp, &ctx));
	ASSERT_OK(vfd_iommu_group_enumerate(ctx, &groups, &n));
	ASSERT_EQ(n, 0);
	vfd_iommu_group_array_free(groups, n);
	vfd_context_free(ctx);

	vfd_test_rm_rf(tmp);
	free(tmp);
}

VFD_TEST_MAIN(
	VFD_TEST(test_enumerate_sorted),
	VFD_TEST(test_non_acs_group_not_viable),
	VFD_TEST(test_gpu_and_audio_viable),
	VFD_TEST(test_variant_drivers_viable),
	VFD_TEST(test_other_groups),
	VFD_TEST(test_group_membership_matches_devices),
	VFD_TEST(test_missing_group),
	VFD_TEST(test_state_names),
	VFD_TEST(test_hand_made_groups),
)
