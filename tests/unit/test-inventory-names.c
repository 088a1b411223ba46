/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * daemon/inventory-names.c: the names of the inventory's functions, copied
 * per model out of a hardware database that is mapped only while a model is
 * looked up. The database is compiled from tests/fixtures/pci-names.hwdb by
 * systemd-hwdb (VFD_HWDB_SOURCE and VFD_SYSTEMD_HWDB, set by meson).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inventory-names.h"
#include "vfd-test.h"

/* true while this process maps a file named hwdb.bin */
static bool hwdb_mapped(void)
{
	char *line = NULL;
	size_t len = 0;
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "re");

	ASSERT_TRUE(f != NULL);
	while (getline(&line, &len, f) > 0)
		if (strstr(line, "hwdb.bin"))
			found = true;
	free(line);
	fclose(f);
	return found;
}

static vfd_pci_device *device(uint16_t vendor_id, uint16_t device_id)
{
	vfd_pci_device *d = calloc(1, sizeof(*d));

	ASSERT_TRUE(d != NULL);
	d->vendor_id = vendor_id;
	d->device_id = device_id;
	return d;
}

static void test_names_are_copies_and_the_database_is_let_go(void)
{
	char *root = vfd_test_root_with_hwdb(false), path[4096];
	vfd_pci_device *devices[] = { device(0x10de, 0x1e84), device(0x10de, 0x1e84), device(0x8086, 0x3e30),
				      device(0x104c, 0x8023), device(0x10de, 0x10f8) };
	InventoryNames *names = NULL;
	const char *vendor, *device_name;

	ASSERT_EQ(inventory_names_new(root, &names), 0);
	/* the first four only: the fifth model turns up later */
	ASSERT_EQ(inventory_names_update(names, devices, 4), 0);
	ASSERT_TRUE(!hwdb_mapped());

	inventory_names_get(names, 0x10de, 0x1e84, &vendor, &device_name);
	ASSERT_STREQ(vendor, "NVIDIA Corporation");
	ASSERT_STREQ(device_name, "TU104 [GeForce RTX 2070 SUPER]");
	/* a vendor the database knows without this model; a vendor it does not know */
	inventory_names_get(names, 0x8086, 0x3e30, &vendor, &device_name);
	ASSERT_TRUE(vendor && strcmp(vendor, "Intel Corporation") == 0 && device_name == NULL);
	inventory_names_get(names, 0x104c, 0x8023, &vendor, &device_name);
	ASSERT_TRUE(vendor == NULL && device_name == NULL);
	/* never updated: no name, no lookup */
	inventory_names_get(names, 0x10de, 0x10f8, &vendor, &device_name);
	ASSERT_TRUE(vendor == NULL && device_name == NULL);

	/* a new model is looked up when it turns up, the rest are not looked up again */
	ASSERT_EQ(inventory_names_update(names, devices, 5), 0);
	inventory_names_get(names, 0x10de, 0x10f8, &vendor, &device_name);
	ASSERT_STREQ(device_name, "TU104 HD Audio Controller");
	snprintf(path, sizeof(path), "%s/etc/udev/hwdb.bin", root);
	ASSERT_EQ(unlink(path), 0);
	ASSERT_EQ(inventory_names_update(names, devices, 5), 0);
	/* the copies outlive the database */
	inventory_names_get(names, 0x10de, 0x1e84, &vendor, &device_name);
	ASSERT_STREQ(device_name, "TU104 [GeForce RTX 2070 SUPER]");
	ASSERT_TRUE(!hwdb_mapped());

	inventory_names_free(names);
	for (size_t i = 0; i < ELEMENTSOF(devices); i++)
		free(devices[i]);
	vfd_test_rm_rf(root);
	free(root);
}

static void test_no_database_names_nothing(void)
{
	char *root = vfd_test_mkdtemp();
	vfd_pci_device *devices[] = { device(0x10de, 0x1e84) };
	InventoryNames *names = NULL;
	const char *vendor = "x", *device_name = "x";

	ASSERT_EQ(inventory_names_new(root, &names), 0);
	ASSERT_EQ(inventory_names_update(names, devices, 1), 0);
	inventory_names_get(names, 0x10de, 0x1e84, &vendor, &device_name);
	ASSERT_TRUE(vendor == NULL && device_name == NULL);
	inventory_names_free(names);
	free(devices[0]);
	vfd_test_rm_rf(root);
	free(root);
}

static const vfd_test tests[] = {
	VFD_TEST(test_names_are_copies_and_the_database_is_let_go),
	VFD_TEST(test_no_database_names_nothing),
};

int main(int argc, char **argv)
{
	return vfd_test_main(argc, argv, tests, ELEMENTSOF(tests));
}
