/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PCI address parsing, formatting and ordering. */
#include "vfd-test.h"
#include "vfiod/inventory.h"

static void test_parse_good(void)
{
	static const struct {
		const char *in;
		vfd_pci_address want;
		const char *canonical;
	} cases[] = {
		{ "0000:00:00.0", { 0x0000, 0x00, 0x00, 0 }, "0000:00:00.0" },
		{ "0000:00:1f.7", { 0x0000, 0x00, 0x1f, 7 }, "0000:00:1f.7" },
		{ "0000:00:1F.7", { 0x0000, 0x00, 0x1f, 7 }, "0000:00:1f.7" },
		{ "ffff:ff:1f.7", { 0xffff, 0xff, 0x1f, 7 }, "ffff:ff:1f.7" },
		{ "ABCD:EF:10.3", { 0xabcd, 0xef, 0x10, 3 }, "abcd:ef:10.3" },
		{ "0001:02:03.4", { 0x0001, 0x02, 0x03, 4 }, "0001:02:03.4" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		vfd_pci_address a = { 0x5555, 0x55, 0x15, 5 };
		char buf[VFD_PCI_ADDRESS_STRLEN];

		ASSERT_OK(vfd_pci_address_parse(cases[i].in, &a));
		ASSERT_EQ(a.domain, cases[i].want.domain);
		ASSERT_EQ(a.bus, cases[i].want.bus);
		ASSERT_EQ(a.slot, cases[i].want.slot);
		ASSERT_EQ(a.function, cases[i].want.function);
		ASSERT_STREQ(vfd_pci_address_format(&a, buf), cases[i].canonical);
		ASSERT_TRUE(vfd_pci_address_format(&a, buf) == buf);
	}
}

static void test_parse_bad(void)
{
	static const char *const bad[] = {
		"",
		"0000:00:01.0\n",
		"0000:00:01.0\r",
		" 0000:00:01.0",
		"0000:00:01.0 ",
		"0000 00:01.0",
		"0000:00:01.\t",
		"../0000:00:01.0",
		"0000:00:01.0/../x",
		"0000:00:01.0/",
		"/0000:00:01.0",
		"0000:00:20.0",  /* slot > 0x1f */
		"0000:00:ff.0",
		"0000:00:01.8",  /* function > 7 */
		"0000:00:01.f",
		"10000:00:01.0", /* domain too long */
		"0000:0:01.0",   /* short bus */
		"0000:00:1.0",   /* short slot */
		"000:00:01.0",   /* short domain */
		"00:01.0",       /* short form without domain */
		"0000:00:01",    /* no function */
		"0000:00:01.00",
		"0000:00:01.0.0",
		"0000:00:01.0xx",
		"0000:00:01.00000000000000000000000000000000000000000000000000000",
		"0000-00-01.0",
		"0000:00.01:0",
		"0000:00:01:0",
		"g000:00:01.0",
		"0000:0g:01.0",
		"0000:00:0g.0",
		"+000:00:01.0",
		"-000:00:01.0",
		"0x00:00:01.0",
		"0000:00:01.-",
		"0000:..:01.0",
		"0000:00:01.\xff",
		"\303\2510000:00:01.0", /* UTF-8 e-acute first */
	};
	size_t i;

	ASSERT_TRUE(sizeof(bad) / sizeof(bad[0]) >= 25);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vfd_pci_address a = { 0x1234, 0x56, 0x07, 3 };
		int r = vfd_pci_address_parse(bad[i], &a);

		if (r != -EINVAL)
			vfd_test_fail(__FILE__, __LINE__, "bad input #%zu \"%s\" gave %d", i, bad[i], r);
		/* ret untouched on failure */
		ASSERT_EQ(a.domain, 0x1234);
		ASSERT_EQ(a.bus, 0x56);
		ASSERT_EQ(a.slot, 0x07);
		ASSERT_EQ(a.function, 3);
	}
}

static void test_parse_null(void)
{
	vfd_pci_address a;

	ASSERT_ERRNO(vfd_pci_address_parse(NULL, &a), -EINVAL);
	ASSERT_ERRNO(vfd_pci_address_parse("0000:00:01.0", NULL), -EINVAL);
}

static void test_parse_no_overread(void)
{
	/* 12 valid characters followed by no NUL within the parser's look-ahead window */
	char buf[VFD_PCI_ADDRESS_STRLEN] = { '0', '0', '0', '0', ':', '0', '0', ':', '0', '1', '.', '0', 'x' };
	vfd_pci_address a;

	ASSERT_ERRNO(vfd_pci_address_parse(buf, &a), -EINVAL);
	buf[12] = '\0';
	ASSERT_OK(vfd_pci_address_parse(buf, &a));
}

static void test_compare(void)
{
	vfd_pci_address a, b;

	ASSERT_OK(vfd_pci_address_parse("0000:00:1f.7", &a));
	ASSERT_OK(vfd_pci_address_parse("0000:01:00.0", &b));
	ASSERT_TRUE(vfd_pci_address_compare(&a, &b) < 0);
	ASSERT_TRUE(vfd_pci_address_compare(&b, &a) > 0);
	ASSERT_EQ(vfd_pci_address_compare(&a, &a), 0);

	ASSERT_OK(vfd_pci_address_parse("0001:00:00.0", &b));
	ASSERT_TRUE(vfd_pci_address_compare(&a, &b) < 0);
	ASSERT_OK(vfd_pci_address_parse("0000:00:1f.6", &b));
	ASSERT_TRUE(vfd_pci_address_compare(&a, &b) > 0);
	ASSERT_OK(vfd_pci_address_parse("0000:00:1e.7", &b));
	ASSERT_TRUE(vfd_pci_address_compare(&a, &b) > 0);
}

VFD_TEST_MAIN(
	VFD_TEST(test_parse_good),
	VFD_TEST(test_parse_bad),
	VFD_TEST(test_parse_null),
	VFD_TEST(test_parse_no_overread),
	VFD_TEST(test_compare),
)
