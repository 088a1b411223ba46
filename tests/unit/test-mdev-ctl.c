/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mdev create/remove (lib/mdev-ctl.c) against a copy of the synthetic host
 * with the kernel-reaction simulator. Parents and types used (see
 * tests/fixtures/make-synthetic-host.sh):
 *   mtty: mtty-1 (24 available), mtty-2 (12)
 *   0000:00:02.0: i915-GVTg_V5_1 (0 available), i915-GVTg_V5_4 (1), with
 *   the existing mdev 83b8f4f2-509f-382f-3c1e-e6bfe0fa1001
 */
#include <ctype.h>

#include "sysfs-sim.h"
#include "vfd-test.h"
#include "vfiod/fault.h"
#include "vfiod/mdev-ctl.h"
#include "vfiod/inventory.h"

#define EXISTING_UUID "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"
#define UUID_A "5f0f4d4e-2a6b-4c1e-9d3a-0b1c2d3e4f50"
#define MTTY2_AVAILABLE "sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/available_instances"

typedef struct fixture {
	char *root;
	vfd_context *ctx;
	sim *sim;
	char *before;
} fixture;

static fixture setup(void)
{
	static const char *const mtty1_attrs[] = { "first", "sub/second", NULL };
	fixture f;

	f.root = tree_copy(vfd_test_synthetic_host());
	ASSERT_OK(vfd_context_new(f.root, &f.ctx));
	f.sim = sim_new(f.root);
	sim_set_mdev_attrs(f.sim, "mtty-1", mtty1_attrs);
	vfd_context_set_write_hook(f.ctx, sim_write_hook, f.sim);
	f.before = tree_snapshot(f.root);
	return f;
}

static void teardown(fixture *f)
{
	vfd_context_free(f->ctx);
	sim_free(f->sim);
	vfd_test_rm_rf(f->root);
	free(f->root);
	free(f->before);
}

static void assert_tree_unchanged(const fixture *f)
{
	char *now = tree_snapshot(f->root);

	tree_assert_same(f->before, now);
	free(now);
}

static bool mdev_exists(const fixture *f, const char *uuid)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "sys/bus/mdev/devices/%s", uuid);
	return fixture_exists(f->root, rel);
}

static void assert_available(const fixture *f, const char *rel, const char *want)
{
	char *v = fixture_read(f->root, rel);

	ASSERT_STREQ(v, want);
	free(v);
}

/* ---- create ---- */

static void test_create_with_uuid(void)
{
	fixture f = setup();
	char uuid[VFD_UUID_STRLEN] = "";
	vfd_op_error e = { 0 };
	char *type;

	ASSERT_OK(vfd_mdev_create(f.ctx, "mtty", "mtty-2", UUID_A, NULL, 0, &e, uuid));
	ASSERT_EQ(e.error, 0);
	ASSERT_STREQ(uuid, UUID_A);
	ASSERT_TRUE(mdev_exists(&f, UUID_A));
	ASSERT_STREQ(sim_write_at(f.sim, 0),
		     "sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/create=" UUID_A);
	ASSERT_EQ(sim_n_writes(f.sim), 1);
	type = fixture_read(f.root, "sys/bus/mdev/devices/" UUID_A "/mdev_type/name");
	ASSERT_STREQ(type, "Dual port serial");
	free(type);
	assert_available(&f, MTTY2_AVAILABLE, "11");
	teardown(&f);
}

static void test_create_upper_case_uuid_names_it_lower_case(void)
{
	fixture f = setup();
	char uuid[VFD_UUID_STRLEN] = "";
	vfd_op_error e = { 0 };

	ASSERT_OK(vfd_mdev_create(f.ctx, "mtty", "mtty-2", "5F0F4D4E-2A6B-4C1E-9D3A-0B1C2D3E4F50",
				  NULL, 0, &e, uuid));
	ASSERT_STREQ(uuid, UUID_A);
	ASSERT_TRUE(mdev_exists(&f, UUID_A));
	teardown(&f);
}

static void assert_uuid_v4(const char *u)
{
	size_t i;

	ASSERT_OK(vfd_uuid_validate(u));
	for (i = 0; i < 36; i++)
		ASSERT_FALSE(isupper((unsigned char)u[i]));
	ASSERT_EQ(u[14], '4');
	ASSERT_TRUE(strchr("89ab", u[19]) != NULL);
}

static void test_create_generates_uuid(void)
{
	fixture f = setup();
	char a[VFD_UUID_STRLEN] = "", b[VFD_UUID_STRLEN] = "";
	vfd_op_error e = { 0 };

	ASSERT_OK(vfd_mdev_create(f.ctx, "mtty", "mtty-2", NULL, NULL, 0, &e, a));
	ASSERT_OK(vfd_mdev_create(f.ctx, "mtty", "mtty-2", NULL, NULL, 0, &e, b));
	assert_uuid_v4(a);
	assert_uuid_v4(b);
	ASSERT_TRUE(strcmp(a, b) != 0);
	ASSERT_TRUE(mdev_exists(&f, a));
	ASSERT_TRUE(mdev_exists(&f, b));
	assert_available(&f, MTTY2_AVAILABLE, "10");
	teardown(&f);
}

static void test_uuid_generate(void)
{
	char u[VFD_UUID_STRLEN];
	int i;

	for (i = 0; i < 64; i++) {
		ASSERT_OK(vfd_mdev_uuid_generate(u));
		assert_uuid_v4(u);
	}
	ASSERT_ERRNO(vfd_mdev_uuid_generate(NULL), -EINVAL);
}

static void test_create_writes_attributes_in_order(void)
{
	fixture f = setup();
	const vfd_mdev_attr attrs[] = {
		{ "first", "0x1" },
		{ "sub/second", "two" },
		{ "first", "0x3" },
	};
	char uuid[VFD_UUID_STRLEN] = "";
	vfd_op_error e = { 0 };
	char *v;

	ASSERT_OK(vfd_mdev_create(f.ctx, "mtty", "mtty-1", UUID_A, attrs, 3, &e, uuid));
	ASSERT_EQ(sim_n_writes(f.sim), 4);
	ASSERT_STREQ(sim_write_at(f.sim, 1), "sys/bus/mdev/devices/" UUID_A "/first=0x1");
	ASSERT_STREQ(sim_write_at(f.sim, 2), "sys/bus/mdev/devices/" UUID_A "/sub/second=two");
	ASSERT_STREQ(sim_write_at(f.sim, 3), "sys/bus/mdev/devices/" UUID_A "/first=0x3");
	v = fixture_read(f.root, "sys/bus/mdev/devices/" UUID_A "/first");
	ASSERT_STREQ(v, "0x3");
	free(v);
	v = fixture_read(f.root, "sys/bus/mdev/devices/" UUID_A "/sub/second");
	ASSERT_STREQ(v, "two");
	free(v);
	teardown(&f);
}

/* ---- refusals before anything is written ---- */

static void assert_create_refused(const char *parent, const char *type, const char *uuid,
				  const vfd_mdev_attr *attrs, size_t n, int err, const char *subject)
{
	fixture f = setup();
	char out[VFD_UUID_STRLEN] = "untouched";
	vfd_op_error e = { 0 };

	ASSERT_ERRNO(vfd_mdev_create(f.ctx, parent, type, uuid, attrs, n, &e, out), err);
	ASSERT_EQ(e.error, err);
	if (subject)
		ASSERT_STREQ(e.subject, subject);
	ASSERT_TRUE(e.message[0] != '\0');
	ASSERT_STREQ(out, "untouched");
	ASSERT_EQ(sim_n_writes(f.sim), 0);
	assert_tree_unchanged(&f);
	teardown(&f);
}

static void test_refuse_type_without_instances(void)
{
	assert_create_refused("0000:00:02.0", "i915-GVTg_V5_1", UUID_A, NULL, 0, -ENOSPC,
			      "i915-GVTg_V5_1");
}

static void test_refuse_existing_uuid(void)
{
	assert_create_refused("0000:00:02.0", "i915-GVTg_V5_8", EXISTING_UUID, NULL, 0, -EEXIST,
			      EXISTING_UUID);
	/* the existing one, in upper case */
	assert_create_refused("mtty", "mtty-1", "83B8F4F2-509F-382F-3C1E-E6BFE0FA1001", NULL, 0,
			      -EEXIST, EXISTING_UUID);
}

static void test_refuse_unknown_parent_and_type(void)
{
	assert_create_refused("0000:00:05.0", "mtty-1", UUID_A, NULL, 0, -ENODEV, "0000:00:05.0");
	assert_create_refused("mtty", "mtty-9", UUID_A, NULL, 0, -ENOENT, "mtty-9");
}

static void test_refuse_malformed_arguments(void)
{
	const vfd_mdev_attr dotdot[] = { { "../remove", "1" } };
	const vfd_mdev_attr absolute[] = { { "/etc/passwd", "x" } };
	const vfd_mdev_attr empty[] = { { "", "x" } };
	const vfd_mdev_attr no_value[] = { { "first", NULL } };

	assert_create_refused("mtty", "mtty-1", "not-a-uuid", NULL, 0, -EINVAL, NULL);
	assert_create_refused("mtty", "mtty-1", UUID_A "0", NULL, 0, -EINVAL, NULL);
	assert_create_refused("../mtty", "mtty-1", UUID_A, NULL, 0, -EINVAL, NULL);
	assert_create_refused("mtty", "mtty-1/..", UUID_A, NULL, 0, -EINVAL, NULL);
	assert_create_refused("mtty", "", UUID_A, NULL, 0, -EINVAL, NULL);
	assert_create_refused("mtty", "mtty-1", UUID_A, dotdot, 1, -EINVAL, NULL);
	assert_create_refused("mtty", "mtty-1", UUID_A, absolute, 1, -EINVAL, NULL);
	assert_create_refused("mtty", "mtty-1", UUID_A, empty, 1, -EINVAL, NULL);
	assert_create_refused("mtty", "mtty-1", UUID_A, no_value, 1, -EINVAL, NULL);
	assert_create_refused("mtty", "mtty-1", UUID_A, NULL, 1, -EINVAL, NULL);
}

/* ---- failures after the mdev exists remove it again ---- */

static void assert_create_rolled_back(fixture *f, const char *type, const vfd_mdev_attr *attrs,
				      size_t n, int err)
{
	char out[VFD_UUID_STRLEN] = "untouched";
	vfd_op_error e = { 0 };

	ASSERT_ERRNO(vfd_mdev_create(f->ctx, "mtty", type, UUID_A, attrs, n, &e, out), err);
	ASSERT_EQ(e.error, err);
	ASSERT_STREQ(e.subject, UUID_A);
	ASSERT_STREQ(out, "untouched");
	/* it was created, then removed */
	ASSERT_TRUE(sim_wrote_path_suffix(f->sim, "/create"));
	ASSERT_TRUE(sim_wrote_path_suffix(f->sim, UUID_A "/remove"));
	ASSERT_FALSE(mdev_exists(f, UUID_A));
	assert_tree_unchanged(f);
}

static void test_rollback_when_attribute_write_fails(void)
{
	fixture f = setup();
	const vfd_mdev_attr attrs[] = { { "first", "1" }, { "sub/second", "bad" } };

	sim_fail_write(f.sim, "sys/bus/mdev/devices/" UUID_A "/sub/second", EINVAL);
	assert_create_rolled_back(&f, "mtty-1", attrs, 2, -EINVAL);
	teardown(&f);
}

static void test_rollback_when_attribute_missing(void)
{
	fixture f = setup();
	const vfd_mdev_attr attrs[] = { { "first", "1" }, { "assign_adapter", "5" } };

	assert_create_rolled_back(&f, "mtty-1", attrs, 2, -EINVAL);
	/* the first attribute was written before the second turned out missing */
	ASSERT_TRUE(sim_wrote_path_suffix(f.sim, UUID_A "/first"));
	teardown(&f);
}

static void test_rollback_on_injected_fault(void)
{
	fixture f = setup();
	const vfd_mdev_attr attrs[] = { { "first", "1" }, { "sub/second", "2" } };

	ASSERT_OK(vfd_fault_arm(f.ctx, VFD_FAULT_MDEV_ATTR, 2, -EIO));
	assert_create_rolled_back(&f, "mtty-1", attrs, 2, -EIO);
	ASSERT_FALSE(sim_wrote_path_suffix(f.sim, UUID_A "/sub/second"));
	teardown(&f);
}

static void test_refuse_attribute_through_link_or_remove(void)
{
	fixture f = setup();
	const vfd_mdev_attr via_link[] = { { "mdev_type/create", UUID_A } };
	const vfd_mdev_attr remove[] = { { "remove", "1" } };

	/* "mdev_type/create" would make a second mdev; "remove" is not a setting */
	assert_create_rolled_back(&f, "mtty-1", via_link, 1, -EINVAL);
	ASSERT_FALSE(sim_wrote_path_suffix(f.sim, "mdev_type/create"));
	teardown(&f);

	f = setup();
	assert_create_rolled_back(&f, "mtty-1", remove, 1, -EINVAL);
	teardown(&f);
}

static void test_kernel_out_of_instances_is_enospc(void)
{
	fixture f = setup();
	char out[VFD_UUID_STRLEN];
	vfd_op_error e = { 0 };

	/* the last instance went between the check and the write: the kernel says EUSERS */
	sim_fail_write(f.sim, "sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/create", EUSERS);
	ASSERT_ERRNO(vfd_mdev_create(f.ctx, "mtty", "mtty-2", UUID_A, NULL, 0, &e, out), -ENOSPC);
	ASSERT_STREQ(e.subject, "mtty-2");
	ASSERT_FALSE(mdev_exists(&f, UUID_A));
	assert_tree_unchanged(&f);
	teardown(&f);
}

/* ---- remove ---- */

static void test_remove_restores_tree(void)
{
	fixture f = setup();
	const vfd_mdev_attr attrs[] = { { "first", "1" } };
	char uuid[VFD_UUID_STRLEN];
	vfd_op_error e = { 0 };

	ASSERT_OK(vfd_mdev_create(f.ctx, "mtty", "mtty-1", UUID_A, attrs, 1, &e, uuid));
	ASSERT_TRUE(mdev_exists(&f, UUID_A));
	ASSERT_OK(vfd_mdev_remove(f.ctx, uuid, &e));
	ASSERT_EQ(e.error, 0);
	ASSERT_FALSE(mdev_exists(&f, UUID_A));
	assert_tree_unchanged(&f);

	/* the pre-existing mdev, named in upper case */
	ASSERT_OK(vfd_mdev_remove(f.ctx, "83B8F4F2-509F-382F-3C1E-E6BFE0FA1001", &e));
	ASSERT_FALSE(mdev_exists(&f, EXISTING_UUID));
	assert_available(&f, "sys/class/mdev_bus/0000:00:02.0/mdev_supported_types/"
			 "i915-GVTg_V5_4/available_instances", "2");
	teardown(&f);
}

static void test_remove_refusals(void)
{
	fixture f = setup();
	vfd_op_error e = { 0 };

	ASSERT_ERRNO(vfd_mdev_remove(f.ctx, UUID_A, &e), -ENODEV);
	ASSERT_STREQ(e.subject, UUID_A);
	vfd_op_error_clear(&e);
	ASSERT_ERRNO(vfd_mdev_remove(f.ctx, "../../x", &e), -EINVAL);
	ASSERT_ERRNO(vfd_mdev_remove(f.ctx, NULL, NULL), -EINVAL);
	ASSERT_EQ(sim_n_writes(f.sim), 0);

	/* the kernel refuses while a VMM holds the device open */
	sim_fail_write(f.sim, "sys/bus/mdev/devices/" EXISTING_UUID "/remove", EBUSY);
	vfd_op_error_clear(&e);
	ASSERT_ERRNO(vfd_mdev_remove(f.ctx, EXISTING_UUID, &e), -EBUSY);
	ASSERT_STREQ(e.subject, EXISTING_UUID);
	ASSERT_TRUE(mdev_exists(&f, EXISTING_UUID));
	assert_tree_unchanged(&f);
	teardown(&f);
}

VFD_TEST_MAIN(
	VFD_TEST(test_create_with_uuid),
	VFD_TEST(test_create_upper_case_uuid_names_it_lower_case),
	VFD_TEST(test_create_generates_uuid),
	VFD_TEST(test_uuid_generate),
	VFD_TEST(test_create_writes_attributes_in_order),
	VFD_TEST(test_refuse_type_without_instances),
	VFD_TEST(test_refuse_existing_uuid),
	VFD_TEST(test_refuse_unknown_parent_and_type),
	VFD_TEST(test_refuse_malformed_arguments),
	VFD_TEST(test_rollback_when_attribute_write_fails),
	VFD_TEST(test_rollback_when_attribute_missing),
	VFD_TEST(test_rollback_on_injected_fault),
	VFD_TEST(test_refuse_attribute_through_link_or_remove),
	VFD_TEST(test_kernel_out_of_instances_is_enospc),
	VFD_TEST(test_remove_restores_tree),
	VFD_TEST(test_remove_refusals),
)
