/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/pci-names.c: PCI names from a udev hardware database below the
 * context's root. The database is compiled for each test from
 * tests/fixtures/pci-names.hwdb by systemd-hwdb (VFD_HWDB_SOURCE and
 * VFD_SYSTEMD_HWDB, set by meson), into the places sd-hwdb looks.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vfiod/pci-names.h"
#include "vfd-test.h"

static void test_names_from_etc(void)
{
	char *root = vfd_test_root_with_hwdb(false);
	vfd_context *ctx = NULL;
	const char *vendor, *device;

	ASSERT_EQ(vfd_context_new(root, &ctx), 0);
	ASSERT_TRUE(vfd_pci_names_available(ctx));
	ASSERT_EQ(vfd_pci_names_lookup(ctx, 0x10de, 0x1e84, &vendor, &device), 0);
	ASSERT_STREQ(vendor, "NVIDIA Corporation");
	/* the function's own model, not the subsystem's entry */
	ASSERT_STREQ(device, "TU104 [GeForce RTX 2070 SUPER]");
	/* again: from the cache, the same strings */
	ASSERT_EQ(vfd_pci_names_lookup(ctx, 0x10de, 0x1e84, &vendor, &device), 0);
	ASSERT_STREQ(device, "TU104 [GeForce RTX 2070 SUPER]");
	/* a known vendor with an unknown model, an unknown vendor */
	ASSERT_EQ(vfd_pci_names_lookup(ctx, 0x8086, 0x3e30, &vendor, &device), 0);
	ASSERT_TRUE(vendor && strcmp(vendor, "Intel Corporation") == 0 && device == NULL);
	ASSERT_EQ(vfd_pci_names_lookup(ctx, 0x104c, 0x8023, &vendor, &device), 0);
	ASSERT_TRUE(vendor == NULL && device == NULL);
	vfd_context_free(ctx);
	vfd_test_rm_rf(root);
	free(root);
}

static void test_names_from_usr_and_address(void)
{
	char *root = vfd_test_root_with_hwdb(true);
	vfd_context *ctx = NULL;
	const char *vendor = NULL, *device = NULL;

	/*
	 * A function with a modalias and no vendor/device files: the ids come
	 * from the modalias (one read); another with only the two files.
	 */
	vfd_test_write_file(root, "sys/bus/pci/devices/0000:03:00.0/modalias",
			    "pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00\n");
	vfd_test_write_file(root, "sys/bus/pci/devices/0000:01:00.1/vendor", "0x10de\n");
	vfd_test_write_file(root, "sys/bus/pci/devices/0000:01:00.1/device", "0x10f8\n");

	ASSERT_EQ(vfd_context_new(root, &ctx), 0);
	ASSERT_EQ(vfd_pci_names_lookup_address(ctx, "0000:03:00.0", &vendor, &device), 0);
	ASSERT_STREQ(vendor, "Intel Corporation");
	ASSERT_STREQ(device, "82574L Gigabit Network Connection");
	ASSERT_EQ(vfd_pci_names_lookup_address(ctx, "0000:01:00.1", &vendor, &device), 0);
	ASSERT_STREQ(device, "TU104 HD Audio Controller");
	ASSERT_ERRNO(vfd_pci_names_lookup_address(ctx, "0000:09:00.0", &vendor, &device), -ENODEV);
	ASSERT_ERRNO(vfd_pci_names_lookup_address(ctx, "..", &vendor, &device), -EINVAL);
	vfd_context_free(ctx);
	vfd_test_rm_rf(root);
	free(root);
}

static void test_no_hwdb_gives_no_names(void)
{
	vfd_context *ctx = NULL;
	const char *vendor = "x", *device = "x";

	/* the synthetic host has no database: no names, no error */
	ASSERT_EQ(vfd_context_new(vfd_test_synthetic_host(), &ctx), 0);
	ASSERT_TRUE(!vfd_pci_names_available(ctx));
	ASSERT_EQ(vfd_pci_names_lookup(ctx, 0x10de, 0x1e84, &vendor, &device), 0);
	ASSERT_TRUE(vendor == NULL && device == NULL);
	vendor = device = "x";
	ASSERT_EQ(vfd_pci_names_lookup_address(ctx, "0000:01:00.0", &vendor, &device), 0);
	ASSERT_TRUE(vendor == NULL && device == NULL);
	vfd_context_free(ctx);
}

static void test_hwdb_outside_the_root_is_not_followed(void)
{
	char *other = vfd_test_root_with_hwdb(false), *root = vfd_test_mkdtemp(), target[4096];
	vfd_context *ctx = NULL;
	const char *vendor = "x";

	/* an absolute symlink to a valid database elsewhere leaves the root: not followed */
	snprintf(target, sizeof(target), "%s/etc/udev/hwdb.bin", other);
	vfd_test_mkdir(root, "etc/udev");
	vfd_test_symlink(root, "etc/udev/hwdb.bin", target);

	ASSERT_EQ(vfd_context_new(root, &ctx), 0);
	ASSERT_TRUE(!vfd_pci_names_available(ctx));
	ASSERT_EQ(vfd_pci_names_lookup(ctx, 0x10de, 0x1e84, &vendor, NULL), 0);
	ASSERT_TRUE(vendor == NULL);
	vfd_context_free(ctx);

	/* the same database inside the root, through a relative link, is read */
	vfd_test_rm_rf(root);
	free(root);
	root = vfd_test_mkdtemp();
	vfd_test_mkdir(root, "usr/lib/udev");
	snprintf(target, sizeof(target), "%s/usr/lib/udev/hwdb.bin", root);
	{
		char cmd[8192];

		snprintf(cmd, sizeof(cmd), "cp '%s/etc/udev/hwdb.bin' '%s'", other, target);
		ASSERT_EQ(system(cmd), 0);
	}
	vfd_test_mkdir(root, "lib");
	vfd_test_symlink(root, "lib/udev", "../usr/lib/udev"); /* the merged-/usr layout */
	ASSERT_EQ(vfd_context_new(root, &ctx), 0);
	ASSERT_TRUE(vfd_pci_names_available(ctx));
	ASSERT_EQ(vfd_pci_names_lookup(ctx, 0x10de, 0x1e84, &vendor, NULL), 0);
	ASSERT_STREQ(vendor, "NVIDIA Corporation");
	vfd_context_free(ctx);

	vfd_test_rm_rf(root);
	vfd_test_rm_rf(other);
	free(root);
	free(other);
}

static const vfd_test tests[] = {
	VFD_TEST(test_names_from_etc),
	VFD_TEST(test_names_from_usr_and_address),
	VFD_TEST(test_no_hwdb_gives_no_names),
	VFD_TEST(test_hwdb_outside_the_root_is_not_followed),
};

int main(int argc, char **argv)
{
	return vfd_test_main(argc, argv, tests, ELEMENTSOF(tests));
}
