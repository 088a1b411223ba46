/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/vfio-variant.c: the VFIO driver of a PCI function, chosen by the
 * vfio_pci: aliases of a module directory made by the real depmod from
 * fake modules (tests/unit/kmod-fixture/: objects with a .modinfo section,
 * which is all depmod and libkmod read of a module).
 *
 * The fixture root:
 *   0000:01:00.0  edu, subsystem 1af4:1100
 *   0000:02:00.0  edu, subsystem 0000:0000
 *   0000:03:00.0  QEMU nvme (1b36:0010)
 * and the modules (wildcards of their best alias for edu in brackets):
 *   fx_edu_subsys  edu with subsystem 1af4:1100 [3], any 1234 device [6]
 *   fx_edu_exact, fx_edu_exact2   edu [5], a tie
 *   fx_vendor      any 1234 device [6]
 *   fx_virtio      virtio-net only
 *   vfio_pci       everything [7]
 *   e1000e         plain pci: aliases (one for edu), no vfio_pci: one
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "vfd-test.h"
#include "vfiod/inventory.h"
#include "vfiod/vfio-variant.h"

#define RELEASE "6.0.0-vfd-test"
#define EDU_SUBSYS "0000:01:00.0"
#define EDU_PLAIN "0000:02:00.0"
#define NVME "0000:03:00.0"

static const char *const fixture_modules[] = {
	"vfio_pci", "fx_edu_exact", "fx_edu_exact2", "fx_edu_subsys", "fx_vendor", "fx_virtio",
	"e1000e",
};

static void add_device(const char *root, const char *name, const char *modalias)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/modalias", name);
	vfd_test_write_file(root, rel, modalias);
}

/* with_modules false: the running kernel has no module directory at all */
static char *make_root(bool with_modules)
{
	const char *objs = getenv("VFD_KMOD_FIXTURES"), *depmod = getenv("VFD_DEPMOD");
	char *root = vfd_test_mkdtemp();
	char cmd[4096];

	if (!objs || !depmod)
		vfd_test_fail(__FILE__, __LINE__, "VFD_KMOD_FIXTURES and VFD_DEPMOD must be set");

	vfd_test_write_file(root, "proc/sys/kernel/osrelease", RELEASE "\n");
	add_device(root, EDU_SUBSYS, "pci:v00001234d000011E8sv00001AF4sd00001100bc00scFFi00\n");
	add_device(root, EDU_PLAIN, "pci:v00001234d000011E8sv00000000sd00000000bc00scFFi00\n");
	add_device(root, NVME, "pci:v00001B36d00000010sv00001AF4sd00001100bc01sc08i02\n");
	if (!with_modules)
		return root;

	vfd_test_mkdir(root, "lib/modules/" RELEASE "/extra");
	/* what a kernel build leaves, so that depmod has nothing to warn about */
	vfd_test_write_file(root, "lib/modules/" RELEASE "/modules.order", "");
	vfd_test_write_file(root, "lib/modules/" RELEASE "/modules.builtin", "");
	vfd_test_write_file(root, "lib/modules/" RELEASE "/modules.builtin.modinfo", "");
	for (size_t i = 0; i < sizeof(fixture_modules) / sizeof(fixture_modules[0]); i++) {
		snprintf(cmd, sizeof(cmd), "cp '%s/%s.ko' '%s/lib/modules/" RELEASE "/extra/'", objs,
			 fixture_modules[i], root);
		ASSERT_EQ(0, system(cmd));
	}
	snprintf(cmd, sizeof(cmd), "'%s' -b '%s' " RELEASE, depmod, root);
	ASSERT_EQ(0, system(cmd));
	return root;
}

static vfd_context *open_root(const char *root)
{
	vfd_context *ctx = NULL;

	ASSERT_OK(vfd_context_new(root, &ctx));
	return ctx;
}

static void test_candidates_best_first(void)
{
	_cleanup_free_ char *root = make_root(true);
	vfd_context *ctx = open_root(root);
	vfd_vfio_candidate *c = NULL;
	size_t n = 0;

	ASSERT_OK(vfd_vfio_candidates_for_modalias(ctx,
		"pci:v00001234d000011E8sv00001AF4sd00001100bc00scFFi00", &c, &n));
	ASSERT_EQ(5, n);
	ASSERT_STREQ("fx_edu_subsys", c[0].module);
	ASSERT_EQ(3, c[0].wildcards);
	ASSERT_STREQ("vfio_pci:v00001234d000011E8sv00001AF4sd00001100bc*sc*i*", c[0].alias);
	ASSERT_STREQ("fx_edu_exact", c[1].module);
	ASSERT_STREQ("fx_edu_exact2", c[2].module);
	ASSERT_EQ(5, c[2].wildcards);
	ASSERT_STREQ("fx_vendor", c[3].module);
	ASSERT_STREQ("vfio_pci", c[4].module);
	ASSERT_EQ(7, c[4].wildcards);
	vfd_vfio_candidates_free(c, n);

	/* the other edu: fx_edu_subsys only by its vendor-wide alias, tied with fx_vendor */
	ASSERT_OK(vfd_vfio_candidates_for_modalias(ctx,
		"pci:v00001234d000011E8sv00000000sd00000000bc00scFFi00", &c, &n));
	ASSERT_EQ(5, n);
	ASSERT_STREQ("fx_edu_exact", c[0].module);
	ASSERT_STREQ("fx_edu_exact2", c[1].module);
	ASSERT_STREQ("fx_edu_subsys", c[2].module);
	ASSERT_EQ(6, c[2].wildcards);
	ASSERT_STREQ("fx_vendor", c[3].module);
	ASSERT_STREQ("vfio_pci", c[4].module);
	vfd_vfio_candidates_free(c, n);

	/* wildcards in the device's own modalias would match anything: refused */
	ASSERT_ERRNO(vfd_vfio_candidates_for_modalias(ctx, "pci:v*", &c, &n), -EINVAL);
	ASSERT_ERRNO(vfd_vfio_candidates_for_modalias(ctx, "usb:v1234", &c, &n), -EINVAL);
	vfd_context_free(ctx);
	vfd_test_rm_rf(root);
}

static void expect_choice(vfd_context *ctx, const char *address, const char *requested,
			  const char *driver, const char *module, vfd_vfio_choice_source source)
{
	vfd_vfio_choice c = { 0 };
	vfd_op_error e = { 0 };

	ASSERT_OK(vfd_vfio_driver_choose(ctx, address, requested, &e, &c));
	ASSERT_STREQ(driver, c.driver);
	ASSERT_STREQ(module, c.module);
	ASSERT_EQ(source, c.source);
	vfd_vfio_choice_done(&c);
}

static void test_best_by_alias(void)
{
	_cleanup_free_ char *root = make_root(true);
	vfd_context *ctx = open_root(root);

	expect_choice(ctx, EDU_SUBSYS, NULL, "fx_edu_subsys", "fx_edu_subsys", VFD_VFIO_CHOICE_ALIAS);
	/* a tie of the fewest wildcards: the first name */
	expect_choice(ctx, EDU_PLAIN, NULL, "fx_edu_exact", "fx_edu_exact", VFD_VFIO_CHOICE_ALIAS);
	/* only vfio_pci's generic alias matches: vfio-pci, under its driver name */
	expect_choice(ctx, NVME, NULL, "vfio-pci", "vfio_pci", VFD_VFIO_CHOICE_FALLBACK);
	vfd_context_free(ctx);
	vfd_test_rm_rf(root);
}

static void test_no_module_directory_falls_back(void)
{
	_cleanup_free_ char *root = make_root(false);
	vfd_context *ctx = open_root(root);
	vfd_vfio_choice c = { 0 };
	vfd_op_error e = { 0 };

	expect_choice(ctx, EDU_SUBSYS, NULL, "vfio-pci", "vfio_pci", VFD_VFIO_CHOICE_FALLBACK);
	expect_choice(ctx, EDU_SUBSYS, "vfio-pci", "vfio-pci", "vfio_pci", VFD_VFIO_CHOICE_EXPLICIT);
	/* a variant cannot be checked without the index: refused, not trusted */
	ASSERT_TRUE(vfd_vfio_driver_choose(ctx, EDU_SUBSYS, "fx_edu_exact", &e, &c) < 0);
	vfd_context_free(ctx);
	vfd_test_rm_rf(root);
}

/* under vfiod's unit, /usr/lib/modules is hidden and its view bound to run/vfiod-kernel-modules */
static void test_sandboxed_module_directory(void)
{
	_cleanup_free_ char *root = make_root(true);
	vfd_context *ctx;
	char cmd[4096];

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/run' && mv '%s/lib/modules' '%s/" VFD_MODULES_DIR_SANDBOXED "'"
		 " && mkdir '%s/lib/modules'", root, root, root, root);
	ASSERT_EQ(0, system(cmd));
	ctx = open_root(root);
	expect_choice(ctx, EDU_SUBSYS, NULL, "fx_edu_subsys", "fx_edu_subsys", VFD_VFIO_CHOICE_ALIAS);
	vfd_context_free(ctx);
	vfd_test_rm_rf(root);
}

static void test_explicit_choice_wins(void)
{
	_cleanup_free_ char *root = make_root(true);
	vfd_context *ctx = open_root(root);

	expect_choice(ctx, EDU_SUBSYS, "vfio-pci", "vfio-pci", "vfio_pci", VFD_VFIO_CHOICE_EXPLICIT);
	expect_choice(ctx, EDU_SUBSYS, "vfio_pci", "vfio-pci", "vfio_pci", VFD_VFIO_CHOICE_EXPLICIT);
	expect_choice(ctx, EDU_SUBSYS, "fx_vendor", "fx_vendor", "fx_vendor", VFD_VFIO_CHOICE_EXPLICIT);
	/* '-' and '_' name the same module */
	expect_choice(ctx, EDU_PLAIN, "fx-edu-exact2", "fx_edu_exact2", "fx_edu_exact2",
		      VFD_VFIO_CHOICE_EXPLICIT);
	vfd_context_free(ctx);
	vfd_test_rm_rf(root);
}

static void expect_refused(vfd_context *ctx, const char *address, const char *requested, int err)
{
	vfd_vfio_choice c = { 0 };
	vfd_op_error e = { 0 };

	ASSERT_ERRNO(vfd_vfio_driver_choose(ctx, address, requested, &e, &c), err);
	ASSERT_NULL(c.driver);
	ASSERT_TRUE(vfd_op_error_is_set(&e));
}

static void test_non_vfio_driver_refused(void)
{
	_cleanup_free_ char *root = make_root(true);
	vfd_context *ctx = open_root(root);
	vfd_vfio_choice c = { 0 };
	vfd_op_error e = { 0 };

	/* e1000e even has a pci: alias for edu: a host driver, not a VFIO one */
	expect_refused(ctx, EDU_SUBSYS, "e1000e", -ENOEXEC);
	ASSERT_ERRNO(vfd_vfio_driver_choose(ctx, EDU_SUBSYS, "e1000e", &e, &c), -ENOEXEC);
	ASSERT_TRUE(strstr(e.message, "e1000e is not a VFIO driver for this device") != NULL);
	/* a VFIO variant, but for another device */
	expect_refused(ctx, EDU_SUBSYS, "fx_virtio", -ENOEXEC);
	/* a variant of vendor 1234 is none for the nvme */
	expect_refused(ctx, NVME, "fx_vendor", -ENOEXEC);
	/* no such module */
	expect_refused(ctx, EDU_SUBSYS, "no_such_module", -ENOEXEC);
	/* not a module name at all: it would be written to driver_override */
	expect_refused(ctx, EDU_SUBSYS, "../vfio-pci", -EINVAL);
	expect_refused(ctx, EDU_SUBSYS, "vfio-pci\n", -EINVAL);
	expect_refused(ctx, EDU_SUBSYS, "-vfio", -EINVAL);
	expect_refused(ctx, EDU_SUBSYS, "", -EINVAL);
	vfd_context_free(ctx);
	vfd_test_rm_rf(root);
}

static void test_module_is_vfio_variant(void)
{
	_cleanup_free_ char *root = make_root(true);
	vfd_context *ctx = open_root(root);

	ASSERT_EQ(1, vfd_module_is_vfio_variant(ctx, "fx_virtio"));
	ASSERT_EQ(1, vfd_module_is_vfio_variant(ctx, "vfio_pci"));
	ASSERT_EQ(0, vfd_module_is_vfio_variant(ctx, "e1000e"));
	ASSERT_EQ(0, vfd_module_is_vfio_variant(ctx, "no_such_module"));
	vfd_context_free(ctx);
	vfd_test_rm_rf(root);
}

static void test_driver_names(void)
{
	char *m = NULL;

	ASSERT_TRUE(vfd_module_name_is_valid("mlx5_vfio_pci"));
	ASSERT_TRUE(vfd_module_name_is_valid("vfio-pci"));
	ASSERT_FALSE(vfd_module_name_is_valid("a/b"));
	ASSERT_FALSE(vfd_module_name_is_valid("a b"));
	ASSERT_FALSE(vfd_module_name_is_valid("x@y.service"));
	ASSERT_FALSE(vfd_module_name_is_valid("0123456789012345678901234567890123456789012345678901234567"));
	ASSERT_OK(vfd_vfio_driver_module("vfio-pci", &m));
	ASSERT_STREQ("vfio_pci", m);
	free(m);
}

VFD_TEST_MAIN(
	VFD_TEST(test_candidates_best_first),
	VFD_TEST(test_best_by_alias),
	VFD_TEST(test_no_module_directory_falls_back),
	VFD_TEST(test_sandboxed_module_directory),
	VFD_TEST(test_explicit_choice_wins),
	VFD_TEST(test_non_vfio_driver_refused),
	VFD_TEST(test_module_is_vfio_variant),
	VFD_TEST(test_driver_names),
)
