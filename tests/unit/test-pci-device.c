/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PCI functions on the synthetic host (tests/fixtures/make-synthetic-host.sh)
 * and on small trees built here for the failure paths.
 */
#include "vfd-test.h"
#include "vfiod/inventory.h"

static vfd_context *synthetic(void)
{
	vfd_context *ctx = NULL;

	ASSERT_OK(vfd_context_new(vfd_test_synthetic_host(), &ctx));
	return ctx;
}

static vfd_pci_device *load(vfd_context *ctx, const char *name)
{
	vfd_pci_device *d = NULL;
	vfd_pci_address a;

	ASSERT_OK(vfd_pci_address_parse(name, &a));
	ASSERT_OK(vfd_pci_device_load(ctx, &a, &d));
	ASSERT_NOT_NULL(d);
	ASSERT_STREQ(d->name, name);
	ASSERT_EQ(vfd_pci_address_compare(&d->address, &a), 0);
	return d;
}

static void test_enumerate(void)
{
	static const char *const want[] = {
		"0000:00:00.0", "0000:00:01.0", "0000:00:02.0", "0000:00:03.0",
		"0000:00:04.0", "0000:00:1c.0", "0000:00:1e.0", "0000:00:1f.4",
		"0000:01:00.0", "0000:01:00.1", "0000:02:00.0", "0000:02:10.0",
		"0000:02:10.2", "0000:03:00.0", "0000:03:01.0", "0000:03:02.0",
	};
	vfd_context *ctx = synthetic();
	vfd_pci_device **devs = NULL;
	size_t n = 0, i;

	ASSERT_OK(vfd_pci_device_enumerate(ctx, &devs, &n));
	ASSERT_EQ(n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < n; i++)
		ASSERT_STREQ(devs[i]->name, want[i]);
	ASSERT_NULL(devs[n]);
	vfd_pci_device_array_free(devs, n);
	vfd_context_free(ctx);
}

static void test_gpu_fields(void)
{
	vfd_context *ctx = synthetic();
	vfd_pci_device *d = load(ctx, "0000:01:00.0");

	ASSERT_EQ(d->address.domain, 0);
	ASSERT_EQ(d->address.bus, 1);
	ASSERT_EQ(d->address.slot, 0);
	ASSERT_EQ(d->address.function, 0);
	ASSERT_EQ(d->vendor_id, 0x10de);
	ASSERT_EQ(d->device_id, 0x1e84);
	ASSERT_EQ(d->subsystem_vendor_id, 0x1458);
	ASSERT_EQ(d->subsystem_device_id, 0x37c2);
	ASSERT_EQ(d->class_code, 0x030000);
	ASSERT_STREQ(d->driver, "vfio-pci");
	ASSERT_STREQ(d->driver_override, "vfio-pci");
	ASSERT_EQ(d->numa_node, 0);
	ASSERT_EQ(d->iommu_group, 2);
	/* header type 0x80: multi-function endpoint, not a bridge */
	ASSERT_FALSE(d->is_bridge);
	ASSERT_EQ(d->sriov_totalvfs, 0);
	ASSERT_EQ(d->sriov_numvfs, 0);
	ASSERT_FALSE(d->is_virtfn);
	ASSERT_EQ(d->n_virtfns, 0);
	ASSERT_NULL(d->virtfns);
	vfd_pci_device_free(d);

	d = load(ctx, "0000:01:00.1");
	ASSERT_EQ(d->vendor_id, 0x10de);
	ASSERT_EQ(d->device_id, 0x10f8);
	ASSERT_EQ(d->class_code, 0x040300);
	ASSERT_STREQ(d->driver, "vfio-pci");
	ASSERT_NULL(d->driver_override); /* "(null)" */
	ASSERT_EQ(d->iommu_group, 2);
	ASSERT_FALSE(d->is_bridge);
	vfd_pci_device_free(d);
	vfd_context_free(ctx);
}

static void test_bridges(void)
{
	vfd_context *ctx = synthetic();
	vfd_pci_device *d;

	/* PCIe root port, header type 1 */
	d = load(ctx, "0000:00:01.0");
	ASSERT_TRUE(d->is_bridge);
	ASSERT_STREQ(d->driver, "pcieport");
	ASSERT_EQ(d->class_code, 0x060400);
	ASSERT_EQ(d->iommu_group, 1);
	ASSERT_EQ(d->numa_node, -1);
	vfd_pci_device_free(d);

	/* multi-function root port: header type 0x81 */
	d = load(ctx, "0000:00:1c.0");
	ASSERT_TRUE(d->is_bridge);
	ASSERT_EQ(d->iommu_group, 4);
	vfd_pci_device_free(d);

	/* PCIe-to-PCI bridge (subtractive decode class 0x060401), unbound */
	d = load(ctx, "0000:00:1e.0");
	ASSERT_TRUE(d->is_bridge);
	ASSERT_NULL(d->driver);
	ASSERT_NULL(d->driver_override);
	ASSERT_EQ(d->class_code, 0x060401);
	ASSERT_EQ(d->vendor_id, 0x8086);
	ASSERT_EQ(d->device_id, 0x244e);
	ASSERT_EQ(d->subsystem_vendor_id, 0);
	ASSERT_EQ(d->iommu_group, 8);
	vfd_pci_device_free(d);

	/* a host bridge is class 06 but not a PCI-to-PCI bridge */
	d = load(ctx, "0000:00:00.0");
	ASSERT_FALSE(d->is_bridge);
	ASSERT_EQ(d->class_code, 0x060000);
	ASSERT_NULL(d->driver);
	ASSERT_EQ(d->iommu_group, 0);
	vfd_pci_device_free(d);

	/* no IOMMU group at all */
	d = load(ctx, "0000:00:1f.4");
	ASSERT_EQ(d->iommu_group, -1);
	ASSERT_STREQ(d->driver, "i801_smbus");
	ASSERT_FALSE(d->is_bridge);
	vfd_pci_device_free(d);
	vfd_context_free(ctx);
}

static void test_sriov(void)
{
	vfd_context *ctx = synthetic();
	vfd_pci_device **devs = NULL, *pf, *vf;
	vfd_pci_address pf_addr;
	size_t n = 0, i, j, n_vfs_seen = 0;
	char buf[VFD_PCI_ADDRESS_STRLEN];

	pf = load(ctx, "0000:02:00.0");
	ASSERT_EQ(pf->vendor_id, 0x8086);
	ASSERT_EQ(pf->device_id, 0x10c9);
	ASSERT_STREQ(pf->driver, "igb");
	ASSERT_EQ(pf->sriov_totalvfs, 7);
	ASSERT_EQ(pf->sriov_numvfs, 2);
	ASSERT_FALSE(pf->is_virtfn);
	ASSERT_EQ(pf->n_virtfns, 2);
	ASSERT_STREQ(vfd_pci_address_format(&pf->virtfns[0], buf), "0000:02:10.0");
	ASSERT_STREQ(vfd_pci_address_format(&pf->virtfns[1], buf), "0000:02:10.2");
	ASSERT_EQ(pf->iommu_group, 5);
	ASSERT_EQ(pf->numa_node, 0);
	pf_addr = pf->address;

	/* PF -> VF: each listed VF points back at the PF */
	for (i = 0; i < pf->n_virtfns; i++) {
		vf = NULL;
		ASSERT_OK(vfd_pci_device_load(ctx, &pf->virtfns[i], &vf));
		ASSERT_TRUE(vf->is_virtfn);
		ASSERT_EQ(vfd_pci_address_compare(&vf->physfn, &pf_addr), 0);
		ASSERT_EQ(vf->sriov_totalvfs, 0);
		ASSERT_EQ(vf->n_virtfns, 0);
		ASSERT_EQ(vf->device_id, 0x10ca);
		vfd_pci_device_free(vf);
	}

	vf = load(ctx, "0000:02:10.0");
	ASSERT_STREQ(vf->driver, "vfio-pci");
	ASSERT_EQ(vf->iommu_group, 6);
	vfd_pci_device_free(vf);
	vf = load(ctx, "0000:02:10.2");
	ASSERT_STREQ(vf->driver, "igbvf");
	ASSERT_EQ(vf->iommu_group, 7);
	vfd_pci_device_free(vf);

	/* VF -> PF: every VF in the inventory is listed by its PF */
	ASSERT_OK(vfd_pci_device_enumerate(ctx, &devs, &n));
	for (i = 0; i < n; i++) {
		bool listed = false;

		if (!devs[i]->is_virtfn)
			continue;
		n_vfs_seen++;
		ASSERT_EQ(vfd_pci_address_compare(&devs[i]->physfn, &pf_addr), 0);
		for (j = 0; j < pf->n_virtfns; j++)
			if (vfd_pci_address_compare(&pf->virtfns[j], &devs[i]->address) == 0)
				listed = true;
		ASSERT_TRUE(listed);
	}
	ASSERT_EQ(n_vfs_seen, pf->sriov_numvfs);
	vfd_pci_device_array_free(devs, n);
	vfd_pci_device_free(pf);
	vfd_context_free(ctx);
}

static void test_load_missing(void)
{
	vfd_context *ctx = synthetic();
	vfd_pci_device *d = (vfd_pci_device *)0x1;
	vfd_pci_address a;

	ASSERT_OK(vfd_pci_address_parse("0000:00:05.0", &a));
	ASSERT_ERRNO(vfd_pci_device_load(ctx, &a, &d), -ENODEV);
	ASSERT_OK(vfd_pci_address_parse("0001:00:00.0", &a));
	ASSERT_ERRNO(vfd_pci_device_load(ctx, &a, &d), -ENODEV);
	a.slot = 0x20;
	ASSERT_ERRNO(vfd_pci_device_load(ctx, &a, &d), -EINVAL);
	ASSERT_ERRNO(vfd_pci_device_load(ctx, NULL, &d), -EINVAL);
	ASSERT_TRUE(d == (vfd_pci_device *)0x1);
	vfd_context_free(ctx);
}

static void test_driver_is_vfio(void)
{
	vfd_context *ctx = synthetic();

	ASSERT_EQ(vfd_driver_is_vfio(ctx, "vfio-pci"), 1);
	/* variant driver named in the 6.12 table */
	ASSERT_EQ(vfd_driver_is_vfio(ctx, "nvgrace_gpu_vfio_pci"), 1);
	/* variant driver known only by holding vfio_pci_core */
	ASSERT_EQ(vfd_driver_is_vfio(ctx, "ice_vfio_pci"), 1);
	/* a module, but not a holder of vfio_pci_core */
	ASSERT_EQ(vfd_driver_is_vfio(ctx, "e1000e"), 0);
	/* built in: no module link */
	ASSERT_EQ(vfd_driver_is_vfio(ctx, "pcieport"), 0);
	ASSERT_EQ(vfd_driver_is_vfio(ctx, "pci-stub"), 0);
	ASSERT_EQ(vfd_driver_is_vfio(ctx, "no_such_driver"), 0);

	ASSERT_ERRNO(vfd_driver_is_vfio(ctx, ""), -EINVAL);
	ASSERT_ERRNO(vfd_driver_is_vfio(ctx, NULL), -EINVAL);
	ASSERT_ERRNO(vfd_driver_is_vfio(ctx, ".."), -EINVAL);
	ASSERT_ERRNO(vfd_driver_is_vfio(ctx, "../drivers/vfio-pci"), -EINVAL);
	vfd_context_free(ctx);
}

/* ---- small hand-made trees for what the synthetic host does not show ---- */

static void mini_pci(const char *root, const char *bdf, const char *vendor, const char *class_code,
		     const uint8_t *config, size_t config_len)
{
	char rel[512], target[512];

	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/vendor", bdf);
	vfd_test_write_file(root, rel, vendor);
	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/device", bdf);
	vfd_test_write_file(root, rel, "0x1234\n");
	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/class", bdf);
	vfd_test_write_file(root, rel, class_code);
	if (config) {
		snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/config", bdf);
		vfd_test_write_data(root, rel, config, config_len);
	}
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s", bdf);
	snprintf(target, sizeof(target), "../../../devices/pci0000:00/%s", bdf);
	vfd_test_symlink(root, rel, target);
}

static bool mini_is_bridge(vfd_context *ctx, const char *bdf)
{
	vfd_pci_device *d = load(ctx, bdf);
	bool b = d->is_bridge;

	/* optional attributes absent: defaults */
	ASSERT_NULL(d->driver);
	ASSERT_NULL(d->driver_override);
	ASSERT_EQ(d->numa_node, -1);
	ASSERT_EQ(d->iommu_group, -1);
	ASSERT_EQ(d->subsystem_vendor_id, 0);
	vfd_pci_device_free(d);
	return b;
}

static void test_bridge_detection(void)
{
	uint8_t cfg[64] = { 0 };
	vfd_context *ctx = NULL;
	char *tmp = vfd_test_mkdtemp();

	/* config readable: the header type decides, whatever the class says */
	cfg[0x0e] = 0x01;
	mini_pci(tmp, "0000:00:01.0", "0x8086\n", "0x020000\n", cfg, sizeof(cfg));
	cfg[0x0e] = 0x02; /* CardBus */
	mini_pci(tmp, "0000:00:02.0", "0x8086\n", "0x020000\n", cfg, sizeof(cfg));
	cfg[0x0e] = 0x80;
	mini_pci(tmp, "0000:00:03.0", "0x8086\n", "0x060400\n", cfg, sizeof(cfg));
	/* no config (or too short to hold the header type): the class decides */
	mini_pci(tmp, "0000:00:04.0", "0x8086\n", "0x060400\n", NULL, 0);
	mini_pci(tmp, "0000:00:05.0", "0x8086\n", "0x060700\n", NULL, 0);
	mini_pci(tmp, "0000:00:06.0", "0x8086\n", "0x060000\n", NULL, 0);
	mini_pci(tmp, "0000:00:07.0", "0x8086\n", "0x060401\n", cfg, 8);

	ASSERT_OK(vfd_context_new(tmp, &ctx));
	ASSERT_TRUE(mini_is_bridge(ctx, "0000:00:01.0"));
	ASSERT_TRUE(mini_is_bridge(ctx, "0000:00:02.0"));
	ASSERT_FALSE(mini_is_bridge(ctx, "0000:00:03.0"));
	ASSERT_TRUE(mini_is_bridge(ctx, "0000:00:04.0"));
	ASSERT_TRUE(mini_is_bridge(ctx, "0000:00:05.0"));
	ASSERT_FALSE(mini_is_bridge(ctx, "0000:00:06.0"));
	ASSERT_TRUE(mini_is_bridge(ctx, "0000:00:07.0"));
	vfd_context_free(ctx);
	vfd_test_rm_rf(tmp);
	free(tmp);
}

static void test_malformed_attributes(void)
{
	vfd_pci_device *d = (vfd_pci_device *)0x1, **devs = (vfd_pci_device **)0x1;
	vfd_context *ctx = NULL;
	char *tmp = vfd_test_mkdtemp();
	vfd_pci_address a;
	size_t n = 99;

	mini_pci(tmp, "0000:00:01.0", "0x8086\n", "0x020000\n", NULL, 0);
	mini_pci(tmp, "0000:00:02.0", "0xzz\n", "0x020000\n", NULL, 0);
	mini_pci(tmp, "0000:00:03.0", "0x18086\n", "0x020000\n", NULL, 0);
	mini_pci(tmp, "0000:00:04.0", "0x8086\n", "0x1000000\n", NULL, 0);
	/* a function whose vendor file is missing is broken, not gone */
	vfd_test_write_file(tmp, "sys/devices/pci0000:00/0000:00:05.0/class", "0x020000\n");
	vfd_test_symlink(tmp, "sys/bus/pci/devices/0000:00:05.0", "../../../devices/pci0000:00/0000:00:05.0");
	/* a dangling bus link is a function that went away */
	vfd_test_symlink(tmp, "sys/bus/pci/devices/0000:00:06.0", "../../../devices/pci0000:00/0000:00:06.0");

	ASSERT_OK(vfd_context_new(tmp, &ctx));
	ASSERT_OK(vfd_pci_address_parse("0000:00:02.0", &a));
	ASSERT_ERRNO(vfd_pci_device_load(ctx, &a, &d), -EINVAL);
	ASSERT_OK(vfd_pci_address_parse("0000:00:03.0", &a));
	ASSERT_ERRNO(vfd_pci_device_load(ctx, &a, &d), -ERANGE);
	ASSERT_OK(vfd_pci_address_parse("0000:00:04.0", &a));
	ASSERT_ERRNO(vfd_pci_device_load(ctx, &a, &d), -ERANGE);
	ASSERT_OK(vfd_pci_address_parse("0000:00:05.0", &a));
	ASSERT_ERRNO(vfd_pci_device_load(ctx, &a, &d), -ENOENT);
	ASSERT_OK(vfd_pci_address_parse("0000:00:06.0", &a));
	ASSERT_ERRNO(vfd_pci_device_load(ctx, &a, &d), -ENODEV);
	ASSERT_TRUE(d == (vfd_pci_device *)0x1);

	/* one broken function fails the enumeration, and nothing is returned */
	ASSERT_ERRNO(vfd_pci_device_enumerate(ctx, &devs, &n), -EINVAL);
	ASSERT_TRUE(devs == (vfd_pci_device **)0x1);
	ASSERT_EQ(n, 99);
	vfd_context_free(ctx);
	vfd_test_rm_rf(tmp);
	free(tmp);
}

static void test_enumerate_skips(void)
{
	vfd_pci_device **devs = NULL;
	vfd_context *ctx = NULL;
	char *tmp = vfd_test_mkdtemp();
	size_t n = 0;

	mini_pci(tmp, "0000:00:02.0", "0x8086\n", "0x020000\n", NULL, 0);
	mini_pci(tmp, "0000:00:01.0", "0x8086\n", "0x020000\n", NULL, 0);
	/* not a function name: ignored; a vanished function: skipped */
	vfd_test_write_file(tmp, "sys/bus/pci/devices/junk", "");
	vfd_test_symlink(tmp, "sys/bus/pci/devices/0000:00:06.0", "../../../devices/pci0000:00/0000:00:06.0");

	ASSERT_OK(vfd_context_new(tmp, &ctx));
	ASSERT_OK(vfd_pci_device_enumerate(ctx, &devs, &n));
	ASSERT_EQ(n, 2);
	ASSERT_STREQ(devs[0]->name, "0000:00:01.0");
	ASSERT_STREQ(devs[1]->name, "0000:00:02.0");
	vfd_pci_device_array_free(devs, n);
	vfd_context_free(ctx);

	/* no sys/bus/pci at all: an empty inventory */
	vfd_test_rm_rf(tmp);
	vfd_test_write_file(tmp, "sys/.keep", "");
	ASSERT_OK(vfd_context_new(tmp, &ctx));
	ASSERT_OK(vfd_pci_device_enumerate(ctx, &devs, &n));
	ASSERT_EQ(n, 0);
	ASSERT_NOT_NULL(devs);
	ASSERT_NULL(devs[0]);
	vfd_pci_device_array_free(devs, n);
	vfd_context_free(ctx);
	vfd_test_rm_rf(tmp);
	free(tmp);
}

VFD_TEST_MAIN(
	VFD_TEST(test_enumerate),
	VFD_TEST(test_gpu_fields),
	VFD_TEST(test_bridges),
	VFD_TEST(test_sriov),
	VFD_TEST(test_load_missing),
	VFD_TEST(test_driver_is_vfio),
	VFD_TEST(test_bridge_detection),
	VFD_TEST(test_malformed_attributes),
	VFD_TEST(test_enumerate_skips),
)
