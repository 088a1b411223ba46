/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdev parents, their types, and mdev instances. */
#include "vfd-test.h"
#include "vfiod/inventory.h"

#define GVT_UUID "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"

static vfd_context *synthetic(void)
{
	vfd_context *ctx = NULL;

	ASSERT_OK(vfd_context_new(vfd_test_synthetic_host(), &ctx));
	return ctx;
}

static void assert_type(const vfd_mdev_type *t, const char *parent, const char *id,
			const char *name, const char *description, unsigned available)
{
	ASSERT_STREQ(t->parent, parent);
	ASSERT_STREQ(t->id, id);
	ASSERT_STREQ(t->name, name);
	if (description)
		ASSERT_STREQ(t->description, description);
	else
		ASSERT_NULL(t->description);
	ASSERT_STREQ(t->device_api, "vfio-pci");
	ASSERT_EQ(t->available_instances, available);
}

static void test_parents(void)
{
	vfd_context *ctx = synthetic();
	vfd_mdev_parent **parents = NULL, *p;
	size_t n = 0;

	ASSERT_OK(vfd_mdev_parent_enumerate(ctx, &parents, &n));
	ASSERT_EQ(n, 2);
	ASSERT_NULL(parents[2]);

	p = parents[0];
	ASSERT_STREQ(p->name, "0000:00:02.0");
	ASSERT_STREQ(p->bus, "pci");
	ASSERT_STREQ(p->driver, "i915");
	ASSERT_EQ(p->n_types, 3);
	assert_type(p->types[0], "0000:00:02.0", "i915-GVTg_V5_1", "GVTg_V5_1",
		    "low_gm_size: 512MB\nhigh_gm_size: 2048MB\nfence: 4\nresolution: 1920x1200\nweight: 16",
		    0);
	assert_type(p->types[1], "0000:00:02.0", "i915-GVTg_V5_4", "GVTg_V5_4",
		    "low_gm_size: 128MB\nhigh_gm_size: 512MB\nfence: 4\nresolution: 1920x1200\nweight: 4",
		    1);
	assert_type(p->types[2], "0000:00:02.0", "i915-GVTg_V5_8", "GVTg_V5_8",
		    "low_gm_size: 64MB\nhigh_gm_size: 384MB\nfence: 4\nresolution: 1024x768\nweight: 2",
		    5);

	/* a virtual parent: no bus, no driver, types without description */
	p = parents[1];
	ASSERT_STREQ(p->name, "mtty");
	ASSERT_STREQ(p->bus, "");
	ASSERT_NULL(p->driver);
	ASSERT_EQ(p->n_types, 2);
	assert_type(p->types[0], "mtty", "mtty-1", "Single port serial", NULL, 24);
	assert_type(p->types[1], "mtty", "mtty-2", "Dual port serial", NULL, 12);

	vfd_mdev_parent_array_free(parents, n);
	vfd_context_free(ctx);
}

static void test_parent_load(void)
{
	vfd_context *ctx = synthetic();
	vfd_mdev_parent *p = (vfd_mdev_parent *)0x1;

	ASSERT_ERRNO(vfd_mdev_parent_load(ctx, "0000:00:03.0", &p), -ENODEV);
	ASSERT_ERRNO(vfd_mdev_parent_load(ctx, "", &p), -EINVAL);
	ASSERT_ERRNO(vfd_mdev_parent_load(ctx, "..", &p), -EINVAL);
	ASSERT_ERRNO(vfd_mdev_parent_load(ctx, "../mdev_bus/mtty", &p), -EINVAL);
	ASSERT_ERRNO(vfd_mdev_parent_load(ctx, NULL, &p), -EINVAL);
	ASSERT_TRUE(p == (vfd_mdev_parent *)0x1);

	ASSERT_OK(vfd_mdev_parent_load(ctx, "mtty", &p));
	ASSERT_STREQ(p->name, "mtty");
	ASSERT_EQ(p->n_types, 2);
	ASSERT_NULL(vfd_mdev_parent_free(p));
	ASSERT_NULL(vfd_mdev_parent_free(NULL));
	vfd_context_free(ctx);
}

static void test_instances(void)
{
	vfd_context *ctx = synthetic();
	vfd_mdev **mdevs = NULL, *m = (vfd_mdev *)0x1;
	size_t n = 0;

	ASSERT_OK(vfd_mdev_enumerate(ctx, &mdevs, &n));
	ASSERT_EQ(n, 1);
	ASSERT_NULL(mdevs[1]);
	ASSERT_STREQ(mdevs[0]->uuid, GVT_UUID);
	ASSERT_STREQ(mdevs[0]->type_id, "i915-GVTg_V5_4");
	ASSERT_STREQ(mdevs[0]->parent, "0000:00:02.0");
	ASSERT_STREQ(mdevs[0]->driver, "intel_vgpu_mdev");
	ASSERT_EQ(mdevs[0]->iommu_group, 11);
	vfd_mdev_array_free(mdevs, n);

	ASSERT_ERRNO(vfd_mdev_load(ctx, "00000000-0000-0000-0000-000000000000", &m), -ENODEV);
	ASSERT_ERRNO(vfd_mdev_load(ctx, "../../../devices", &m), -EINVAL);
	ASSERT_ERRNO(vfd_mdev_load(ctx, NULL, &m), -EINVAL);
	ASSERT_TRUE(m == (vfd_mdev *)0x1);

	ASSERT_OK(vfd_mdev_load(ctx, GVT_UUID, &m));
	ASSERT_STREQ(m->parent, "0000:00:02.0");
	vfd_mdev_free(m);
	vfd_context_free(ctx);
}

/* ---- hand-made trees ---- */

#define UUID_A "11111111-2222-3333-4444-555555555555"
#define UUID_B "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

static void mtty_parent(const char *root)
{
	vfd_test_symlink(root, "sys/devices/virtual/mtty/mtty/subsystem", "../../../../class/mtty");
	vfd_test_symlink(root, "sys/class/mdev_bus/mtty", "../../devices/virtual/mtty/mtty");
	vfd_test_write_file(root, "sys/devices/virtual/mtty/mtty/mdev_supported_types/mtty-2/name",
			    "Dual port serial\n");
	vfd_test_write_file(root, "sys/devices/virtual/mtty/mtty/mdev_supported_types/mtty-2/device_api",
			    "vfio-pci\n");
	vfd_test_write_file(root,
			    "sys/devices/virtual/mtty/mtty/mdev_supported_types/mtty-2/available_instances",
			    "7\n");
}

static void test_parent_found_by_inode(void)
{
	vfd_context *ctx = NULL;
	char *tmp = vfd_test_mkdtemp();
	vfd_mdev **mdevs = NULL;
	size_t n = 0;

	mtty_parent(tmp);
	/*
	 * The bus link reaches the instance through an alias directory, so
	 * its text does not name the parent; the inode comparison still
	 * finds it. No driver and no group: both optional.
	 */
	vfd_test_symlink(tmp, "sys/devices/virtual/alias", "mtty/mtty");
	vfd_test_symlink(tmp, "sys/devices/virtual/mtty/mtty/" UUID_A "/mdev_type",
			 "../mdev_supported_types/mtty-2");
	vfd_test_symlink(tmp, "sys/bus/mdev/devices/" UUID_A, "../../../devices/virtual/alias/" UUID_A);
	/* not a UUID: ignored */
	vfd_test_mkdir(tmp, "sys/bus/mdev/devices/not-a-uuid");

	ASSERT_OK(vfd_context_new(tmp, &ctx));
	ASSERT_OK(vfd_mdev_enumerate(ctx, &mdevs, &n));
	ASSERT_EQ(n, 1);
	ASSERT_STREQ(mdevs[0]->uuid, UUID_A);
	ASSERT_STREQ(mdevs[0]->parent, "mtty");
	ASSERT_STREQ(mdevs[0]->type_id, "mtty-2");
	ASSERT_NULL(mdevs[0]->driver);
	ASSERT_EQ(mdevs[0]->iommu_group, -1);
	vfd_mdev_array_free(mdevs, n);
	vfd_context_free(ctx);
	vfd_test_rm_rf(tmp);
	free(tmp);
}

static void test_broken_trees(void)
{
	vfd_mdev_parent **parents = (vfd_mdev_parent **)0x1;
	vfd_mdev **mdevs = (vfd_mdev **)0x1, *m = (vfd_mdev *)0x1;
	vfd_context *ctx = NULL;
	char *tmp = vfd_test_mkdtemp();
	char path[4200];
	size_t n = 99;

	mtty_parent(tmp);
	/* an instance whose directory is under no mdev parent */
	vfd_test_write_file(tmp, "sys/devices/virtual/other/dev/mdev_supported_types/x-1/device_api",
			    "vfio-pci\n");
	vfd_test_symlink(tmp, "sys/devices/virtual/other/dev/" UUID_B "/mdev_type",
			 "../mdev_supported_types/x-1");
	vfd_test_symlink(tmp, "sys/bus/mdev/devices/" UUID_B, "../../../devices/virtual/other/dev/" UUID_B);
	/* a type without device_api */
	vfd_test_write_file(tmp, "sys/devices/virtual/mtty/mtty/mdev_supported_types/mtty-1/name", "x\n");

	ASSERT_OK(vfd_context_new(tmp, &ctx));
	ASSERT_ERRNO(vfd_mdev_load(ctx, UUID_B, &m), -EBADMSG);
	ASSERT_ERRNO(vfd_mdev_enumerate(ctx, &mdevs, &n), -EBADMSG);
	ASSERT_ERRNO(vfd_mdev_parent_enumerate(ctx, &parents, &n), -ENOENT);
	ASSERT_TRUE(m == (vfd_mdev *)0x1);
	ASSERT_TRUE(mdevs == (vfd_mdev **)0x1);
	ASSERT_TRUE(parents == (vfd_mdev_parent **)0x1);
	ASSERT_EQ(n, 99);
	vfd_context_free(ctx);

	/* without the mdev module there is nothing, and that is no error */
	snprintf(path, sizeof(path), "%s/sys", tmp);
	vfd_test_rm_rf(path);
	vfd_test_mkdir(tmp, "sys");
	ASSERT_OK(vfd_context_new(tmp, &ctx));
	ASSERT_OK(vfd_mdev_enumerate(ctx, &mdevs, &n));
	ASSERT_EQ(n, 0);
	vfd_mdev_array_free(mdevs, n);
	ASSERT_OK(vfd_mdev_parent_enumerate(ctx, &parents, &n));
	ASSERT_EQ(n, 0);
	vfd_mdev_parent_array_free(parents, n);
	vfd_context_free(ctx);
	vfd_test_rm_rf(tmp);
	free(tmp);
}

VFD_TEST_MAIN(
	VFD_TEST(test_parents),
	VFD_TEST(test_parent_load),
	VFD_TEST(test_instances),
	VFD_TEST(test_parent_found_by_inode),
	VFD_TEST(test_broken_trees),
)
