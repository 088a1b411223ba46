/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Vendor vGPUs on VFs (lib/vendor-vgpu.c): parsing creatable_vgpu_types,
 * reading a VF's interface, picking a VF of a PF and the free counts, on
 * small fixture trees shaped like NVIDIA's vGPU 17 sysfs.
 */
#include "vfd-test.h"
#include "vfiod/inventory.h"
#include "vfiod/vendor-vgpu.h"

#define HEADER "ID    : vGPU Name\n"
#define PF "0000:41:00.0"

static void pci_function(const char *tmp, const char *name, const char *device)
{
	char rel[256], link[256];

	snprintf(rel, sizeof(rel), "sys/devices/pci0000:40/%s/vendor", name);
	vfd_test_write_file(tmp, rel, "0x10de\n");
	snprintf(rel, sizeof(rel), "sys/devices/pci0000:40/%s/device", name);
	vfd_test_write_file(tmp, rel, device);
	snprintf(rel, sizeof(rel), "sys/devices/pci0000:40/%s/class", name);
	vfd_test_write_file(tmp, rel, "0x030200\n");
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s", name);
	snprintf(link, sizeof(link), "../../../devices/pci0000:40/%s", name);
	vfd_test_symlink(tmp, rel, link);
}

/* a VF of PF: i its index; driver NULL: unbound; types NULL: no interface */
static void vf(const char *tmp, unsigned i, const char *name, const char *driver,
	       const char *current, const char *types)
{
	char rel[256], link[256];

	pci_function(tmp, name, "0x27b8\n");
	snprintf(rel, sizeof(rel), "sys/devices/pci0000:40/%s/physfn", name);
	vfd_test_symlink(tmp, rel, "../" PF);
	snprintf(rel, sizeof(rel), "sys/devices/pci0000:40/" PF "/virtfn%u", i);
	snprintf(link, sizeof(link), "../%s", name);
	vfd_test_symlink(tmp, rel, link);
	if (driver) {
		snprintf(rel, sizeof(rel), "sys/devices/pci0000:40/%s/driver", name);
		snprintf(link, sizeof(link), "../../../bus/pci/drivers/%s", driver);
		vfd_test_symlink(tmp, rel, link);
	}
	if (types) {
		snprintf(rel, sizeof(rel), "sys/devices/pci0000:40/%s/nvidia/current_vgpu_type", name);
		vfd_test_write_file(tmp, rel, current);
		snprintf(rel, sizeof(rel), "sys/devices/pci0000:40/%s/nvidia/creatable_vgpu_types", name);
		vfd_test_write_file(tmp, rel, types);
	}
}

static char *host(void)
{
	char *tmp = vfd_test_mkdtemp();

	vfd_test_mkdir(tmp, "sys/bus/pci/drivers/nvidia");
	pci_function(tmp, PF, "0x27b8\n");
	vfd_test_write_file(tmp, "sys/devices/pci0000:40/" PF "/sriov_totalvfs", "4\n");
	vfd_test_write_file(tmp, "sys/devices/pci0000:40/" PF "/sriov_numvfs", "4\n");
	return tmp;
}

static void test_parse_types(void)
{
	vfd_vgpu_type *t = NULL;
	size_t n = 99;

	ASSERT_OK(vfd_vgpu_parse_types(HEADER "1147  : NVIDIA L40S-1Q\n1148  : NVIDIA L40S-2Q\n", &t, &n));
	ASSERT_EQ(n, 2);
	ASSERT_EQ(t[0].id, 1147);
	ASSERT_STREQ(t[0].name, "NVIDIA L40S-1Q");
	ASSERT_EQ(t[1].id, 1148);
	ASSERT_STREQ(t[1].name, "NVIDIA L40S-2Q");
	vfd_vgpu_types_free(t, n);

	/* a VF with a type, or a full PF: the header alone */
	t = NULL;
	ASSERT_OK(vfd_vgpu_parse_types(HEADER, &t, &n));
	ASSERT_EQ(n, 0);
	vfd_vgpu_types_free(t, n);
	ASSERT_OK(vfd_vgpu_parse_types("", &t, &n));
	ASSERT_EQ(n, 0);

	ASSERT_ERRNO(vfd_vgpu_parse_types(HEADER "x : name\n", &t, &n), -EBADMSG);
	ASSERT_ERRNO(vfd_vgpu_parse_types(HEADER "0 : none\n", &t, &n), -EBADMSG);
	ASSERT_ERRNO(vfd_vgpu_parse_types(HEADER "12 :\n", &t, &n), -EBADMSG);
	ASSERT_ERRNO(vfd_vgpu_parse_types(HEADER "12 NVIDIA\n", &t, &n), -EBADMSG);
	/* the header only as the first line */
	ASSERT_ERRNO(vfd_vgpu_parse_types("11 : a\n" HEADER, &t, &n), -EBADMSG);
}

/*
 * The driver's text is hostile input: its names reach D-Bus (sd-bus refuses
 * a string that is not UTF-8, and ListDevices with it) and the logs, and
 * its list feeds the free counts.
 */
static void test_parse_types_hostile(void)
{
	vfd_vgpu_type *t = NULL;
	size_t n = 0;
	_cleanup_free_ char *long_name = NULL, *many = NULL;

	/* not UTF-8: would make every inventory reply fail */
	ASSERT_ERRNO(vfd_vgpu_parse_types(HEADER "11 : A-\xff\xfe\n", &t, &n), -EBADMSG);
	/* control characters: a name is shown and logged */
	ASSERT_ERRNO(vfd_vgpu_parse_types(HEADER "11 : A\x1b[2J\n", &t, &n), -EBADMSG);
	ASSERT_ERRNO(vfd_vgpu_parse_types(HEADER "11 : A\rB\n", &t, &n), -EBADMSG);
	/* one id twice: a free count would count the VF twice */
	ASSERT_ERRNO(vfd_vgpu_parse_types(HEADER "11 : A-1Q\n12 : A-2Q\n11 : A-1Q\n", &t, &n),
		     -EBADMSG);
	/* an overlong name */
	long_name = malloc(4096);
	ASSERT_NOT_NULL(long_name);
	memcpy(long_name, "11 : ", 5);
	memset(long_name + 5, 'A', 4000);
	long_name[4005] = '\0';
	ASSERT_ERRNO(vfd_vgpu_parse_types(long_name, &t, &n), -EBADMSG);
	/* a huge count (a page of tiny lines is ~1000; 60000 is no driver's) */
	many = malloc(60000 * 12 + 1);
	ASSERT_NOT_NULL(many);
	many[0] = '\0';
	for (size_t i = 0, at = 0; i < 60000; i++)
		at += (size_t) sprintf(many + at, "%zu : x\n", i + 1);
	ASSERT_ERRNO(vfd_vgpu_parse_types(many, &t, &n), -EBADMSG);
	/* still fine: UTF-8 text, printable */
	ASSERT_OK(vfd_vgpu_parse_types(HEADER "11 : GRID \xc3\xa9" "dition-1Q\n", &t, &n));
	ASSERT_EQ(n, 1);
	vfd_vgpu_types_free(t, n);
}

static void test_read_and_inventory(void)
{
	char *tmp = host();
	vfd_context *ctx = NULL;
	vfd_vgpu_info *v = NULL;
	vfd_pci_device *d = NULL;
	vfd_pci_address a;

	vf(tmp, 0, "0000:41:00.4", "nvidia", "0\n", HEADER "11    : A-1Q\n12    : A-2Q\n");
	vf(tmp, 1, "0000:41:00.5", "nvidia", "12\n", HEADER);
	vf(tmp, 2, "0000:41:00.6", NULL, NULL, NULL);
	ASSERT_OK(vfd_context_new(tmp, &ctx));

	ASSERT_OK(vfd_vgpu_read(ctx, "0000:41:00.4", &v));
	ASSERT_EQ(v->current_type, 0);
	ASSERT_EQ(v->n_creatable, 2);
	ASSERT_TRUE(vfd_vgpu_info_can_take(v, 12));
	ASSERT_FALSE(vfd_vgpu_info_can_take(v, 14));
	ASSERT_FALSE(vfd_vgpu_info_can_take(v, 0));
	ASSERT_STREQ(vfd_vgpu_info_type_name(v, 11), "A-1Q");
	vfd_vgpu_info_free(v);

	v = NULL;
	ASSERT_OK(vfd_vgpu_read(ctx, "0000:41:00.5", &v));
	ASSERT_EQ(v->current_type, 12);
	ASSERT_EQ(v->n_creatable, 0);
	ASSERT_FALSE(vfd_vgpu_info_can_take(v, 12));
	vfd_vgpu_info_free(v);

	ASSERT_ERRNO(vfd_vgpu_read(ctx, "0000:41:00.6", &v), -ENOENT);
	ASSERT_ERRNO(vfd_vgpu_read(ctx, "0000:41:00.7", &v), -ENODEV);

	/* the inventory's record of a VF carries the interface, a PF's none */
	ASSERT_OK(vfd_pci_address_parse("0000:41:00.4", &a));
	ASSERT_OK(vfd_pci_device_load(ctx, &a, &d));
	ASSERT_NOT_NULL(d->vgpu);
	ASSERT_EQ(d->vgpu->n_creatable, 2);
	vfd_pci_device_free(d);
	ASSERT_OK(vfd_pci_address_parse("0000:41:00.6", &a));
	ASSERT_OK(vfd_pci_device_load(ctx, &a, &d));
	ASSERT_TRUE(d->is_virtfn);
	ASSERT_NULL(d->vgpu);
	vfd_pci_device_free(d);
	ASSERT_OK(vfd_pci_address_parse(PF, &a));
	ASSERT_OK(vfd_pci_device_load(ctx, &a, &d));
	ASSERT_EQ(d->n_virtfns, 3);
	ASSERT_NULL(d->vgpu);
	vfd_pci_device_free(d);

	vfd_context_free(ctx);
	vfd_test_rm_rf(tmp);
	free(tmp);
}

static int owned_is_04(const char *name, void *userdata)
{
	(void) userdata;
	return strcmp(name, "0000:41:00.4") == 0;
}

static void test_pick(void)
{
	char *tmp = host(), buf[VFD_PCI_ADDRESS_STRLEN];
	vfd_context *ctx = NULL;
	vfd_pci_address got[4];
	vfd_op_error e;

	vf(tmp, 0, "0000:41:00.4", "nvidia", "0\n", HEADER "11    : A-1Q\n12    : A-2Q\n");
	vf(tmp, 1, "0000:41:00.5", "nvidia", "12\n", HEADER);
	vf(tmp, 2, "0000:41:00.6", NULL, NULL, NULL);
	vf(tmp, 3, "0000:41:00.7", "nvidia", "0\n", HEADER "12    : A-2Q\n");
	ASSERT_OK(vfd_context_new(tmp, &ctx));

	/* the free VFs first, in order, then the unbound one */
	ASSERT_EQ(vfd_vgpu_pick(ctx, PF, 12, NULL, NULL, NULL, got, 4), 3);
	ASSERT_STREQ(vfd_pci_address_format(&got[0], buf), "0000:41:00.4");
	ASSERT_STREQ(vfd_pci_address_format(&got[1], buf), "0000:41:00.7");
	ASSERT_STREQ(vfd_pci_address_format(&got[2], buf), "0000:41:00.6");
	/* an owned VF is never picked */
	ASSERT_EQ(vfd_vgpu_pick(ctx, PF, 11, owned_is_04, NULL, NULL, got, 4), 1);
	ASSERT_STREQ(vfd_pci_address_format(&got[0], buf), "0000:41:00.6");
	/* at most what fits */
	ASSERT_EQ(vfd_vgpu_pick(ctx, PF, 12, NULL, NULL, NULL, got, 1), 1);
	ASSERT_STREQ(vfd_pci_address_format(&got[0], buf), "0000:41:00.4");

	/* no such parent, not a PF */
	vfd_op_error_clear(&e);
	ASSERT_ERRNO(vfd_pci_address_parse("0000:41:01.0", &got[0]), 0);
	ASSERT_ERRNO(vfd_vgpu_pick(ctx, "0000:41:01.0", 12, NULL, NULL, &e, got, 4), -ENODEV);
	vfd_op_error_clear(&e);
	ASSERT_ERRNO(vfd_vgpu_pick(ctx, "0000:41:00.4", 12, NULL, NULL, &e, got, 4), -ENOTSUP);
	ASSERT_STREQ(e.subject, "0000:41:00.4");

	/* the unbound VF taken by someone: then types decide */
	vfd_test_symlink(tmp, "sys/devices/pci0000:40/0000:41:00.6/driver", "../../../bus/pci/drivers/igbvf");
	vfd_op_error_clear(&e);
	/* 14 is listed nowhere, but a VF runs 12 (one type per PF): no free VF, not unknown */
	ASSERT_ERRNO(vfd_vgpu_pick(ctx, PF, 14, NULL, NULL, &e, got, 4), -ENOSPC);
	vfd_context_free(ctx);
	vfd_test_rm_rf(tmp);
	free(tmp);
}

static void test_pick_refusals(void)
{
	char *tmp = host();
	vfd_context *ctx = NULL;
	vfd_pci_address got[4];
	vfd_op_error e;

	/* one VF with the interface, idle PF: a type it does not list is unknown */
	vf(tmp, 0, "0000:41:00.4", "nvidia", "0\n", HEADER "11    : A-1Q\n");
	vf(tmp, 1, "0000:41:00.5", "igbvf", NULL, NULL);
	ASSERT_OK(vfd_context_new(tmp, &ctx));
	vfd_op_error_clear(&e);
	ASSERT_ERRNO(vfd_vgpu_pick(ctx, PF, 99, NULL, NULL, &e, got, 4), -ENOENT);
	ASSERT_TRUE(strstr(e.message, "type 99") != NULL);
	/* listed, but the only VF with it is owned: no free VF */
	vfd_op_error_clear(&e);
	ASSERT_ERRNO(vfd_vgpu_pick(ctx, PF, 11, owned_is_04, NULL, &e, got, 4), -ENOSPC);
	vfd_context_free(ctx);
	vfd_test_rm_rf(tmp);
	free(tmp);

	/* no VF offers the interface and none is unbound */
	tmp = host();
	vf(tmp, 0, "0000:41:00.4", "igbvf", NULL, NULL);
	ASSERT_OK(vfd_context_new(tmp, &ctx));
	vfd_op_error_clear(&e);
	ASSERT_ERRNO(vfd_vgpu_pick(ctx, PF, 11, NULL, NULL, &e, got, 4), -ENOENT);
	ASSERT_TRUE(strstr(e.message, "offers vGPU types") != NULL);
	vfd_context_free(ctx);
	vfd_test_rm_rf(tmp);
	free(tmp);
}

static void test_counts(void)
{
	vfd_vgpu_type a[] = { { 12, (char *) "A-2Q" }, { 11, (char *) "A-1Q" } };
	vfd_vgpu_type b[] = { { 12, (char *) "A-2Q" } };
	vfd_vgpu_info free1 = { .creatable = a, .n_creatable = 2 };
	vfd_vgpu_info free2 = { .creatable = b, .n_creatable = 1 };
	vfd_vgpu_info taken = { .current_type = 12 };
	vfd_vgpu_type_count *c = NULL;
	size_t n = 0;

	ASSERT_OK(vfd_vgpu_count_add(&c, &n, &free1));
	ASSERT_OK(vfd_vgpu_count_add(&c, &n, &free2));
	ASSERT_OK(vfd_vgpu_count_add(&c, &n, &taken));
	ASSERT_EQ(n, 2);
	ASSERT_EQ(c[0].id, 11);
	ASSERT_STREQ(c[0].name, "A-1Q");
	ASSERT_EQ(c[0].free, 1);
	ASSERT_EQ(c[1].id, 12);
	ASSERT_EQ(c[1].free, 2);
	vfd_vgpu_counts_free(c, n);
}

static void test_set_type(void)
{
	char *tmp = host(), *s = NULL;
	vfd_context *ctx = NULL;

	vf(tmp, 0, "0000:41:00.4", "nvidia", "0\n", HEADER "11    : A-1Q\n");
	vf(tmp, 1, "0000:41:00.5", NULL, NULL, NULL);
	ASSERT_OK(vfd_context_new(tmp, &ctx));
	ASSERT_OK(vfd_vgpu_set_type(ctx, "0000:41:00.4", 11));
	ASSERT_OK(vfd_root_read_string(ctx, "sys/bus/pci/devices/0000:41:00.4/nvidia/current_vgpu_type", &s));
	ASSERT_STREQ(s, "11");
	free(s);
	ASSERT_OK(vfd_vgpu_set_type(ctx, "0000:41:00.4", 0));
	ASSERT_OK(vfd_root_read_string(ctx, "sys/bus/pci/devices/0000:41:00.4/nvidia/current_vgpu_type", &s));
	ASSERT_STREQ(s, "0");
	free(s);
	/* never a file where the driver offers none */
	ASSERT_ERRNO(vfd_vgpu_set_type(ctx, "0000:41:00.5", 11), -ENOENT);
	ASSERT_ERRNO(vfd_vgpu_set_type(ctx, "../x", 11), -EINVAL);
	vfd_context_free(ctx);
	vfd_test_rm_rf(tmp);
	free(tmp);
}

VFD_TEST_MAIN(
	VFD_TEST(test_parse_types),
	VFD_TEST(test_parse_types_hostile),
	VFD_TEST(test_read_and_inventory),
	VFD_TEST(test_pick),
	VFD_TEST(test_pick_refusals),
	VFD_TEST(test_counts),
	VFD_TEST(test_set_type),
)
