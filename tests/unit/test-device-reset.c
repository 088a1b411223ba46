/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/device-reset.c: where the reset's marker goes in config space. A
 * register the function's last user left holding the marker's value is
 * no reason to skip the check: a reset clears it, and one that did not
 * take leaves it, which is what the check is for.
 */
#include <string.h>

#include "vfiod/device-reset.h"
#include "vfd-test.h"

#define MSIX_CAP 0x70
#define MSI_CAP 0x50

static void put16(uint8_t *cfg, unsigned off, uint16_t v)
{
	cfg[off] = (uint8_t) v;
	cfg[off + 1] = (uint8_t) (v >> 8);
}

/* a header with a capability list: MSI at 0x50 (flags), then MSI-X at 0x70 when msix_flags >= 0 */
static void config(uint8_t cfg[256], uint16_t msi_flags, int msix_flags)
{
	memset(cfg, 0, 256);
	put16(cfg, 0x00, 0x8086);
	put16(cfg, 0x02, 0x10ca);
	put16(cfg, 0x06, 0x0010); /* status: capability list */
	cfg[0x34] = MSI_CAP;
	cfg[MSI_CAP] = 0x05;
	put16(cfg, MSI_CAP + 2, msi_flags);
	if (msix_flags >= 0) {
		cfg[MSI_CAP + 1] = MSIX_CAP;
		cfg[MSIX_CAP] = 0x11;
		put16(cfg, MSIX_CAP + 2, (uint16_t) msix_flags);
	}
}

static void test_msix_function_mask(void)
{
	uint8_t cfg[256];
	vfd_reset_marker m;

	config(cfg, 0, 0x0003);
	ASSERT_OK(vfd_reset_marker_find(cfg, &m));
	ASSERT_EQ(m.check, VFD_RESET_CHECK_MSIX_MASK);
	ASSERT_EQ(m.offset, MSIX_CAP + 2u);
	ASSERT_EQ(m.value, 0x4003u);
	ASSERT_TRUE(vfd_reset_marker_still_set(&m, 0x4003));
	ASSERT_FALSE(vfd_reset_marker_still_set(&m, 0x0003));

	/* left masked by the last VM: still the check, and a reset must clear it */
	config(cfg, 0, 0x4003);
	ASSERT_OK(vfd_reset_marker_find(cfg, &m));
	ASSERT_EQ(m.check, VFD_RESET_CHECK_MSIX_MASK);
	ASSERT_EQ(m.original, 0x4003u);
	ASSERT_TRUE(vfd_reset_marker_still_set(&m, 0x4003));
	ASSERT_FALSE(vfd_reset_marker_still_set(&m, 0x0003));

	/* live interrupts: no marker (MSI-X enabled; MSI is then no register to mark either) */
	config(cfg, 0x0001, 0x8003);
	ASSERT_ERRNO(vfd_reset_marker_find(cfg, &m), -ENOENT);
}

static void test_msi_mask_and_data(void)
{
	uint8_t cfg[256];
	vfd_reset_marker m;

	/* 64-bit with per-vector masking: Mask Bits at +0x10 */
	config(cfg, 0x0180, -1);
	ASSERT_OK(vfd_reset_marker_find(cfg, &m));
	ASSERT_EQ(m.check, VFD_RESET_CHECK_MSI_MASK);
	ASSERT_EQ(m.offset, MSI_CAP + 0x10u);
	cfg[MSI_CAP + 0x10] = 1; /* vector 0 left masked */
	ASSERT_OK(vfd_reset_marker_find(cfg, &m));
	ASSERT_EQ(m.check, VFD_RESET_CHECK_MSI_MASK);
	ASSERT_TRUE(vfd_reset_marker_still_set(&m, 1));
	ASSERT_FALSE(vfd_reset_marker_still_set(&m, 0));

	/* 64-bit without masking: Message Data at +0x0c, left holding the marker's value */
	config(cfg, 0x0080, -1);
	put16(cfg, MSI_CAP + 0x0c, VFD_RESET_MSI_DATA_MARKER);
	ASSERT_OK(vfd_reset_marker_find(cfg, &m));
	ASSERT_EQ(m.check, VFD_RESET_CHECK_MSI_DATA);
	ASSERT_EQ(m.offset, MSI_CAP + 0x0cu);
	ASSERT_TRUE(vfd_reset_marker_still_set(&m, VFD_RESET_MSI_DATA_MARKER));
	ASSERT_FALSE(vfd_reset_marker_still_set(&m, 0));

	/* MSI enabled: live */
	config(cfg, 0x0081, -1);
	ASSERT_ERRNO(vfd_reset_marker_find(cfg, &m), -ENOENT);
}

VFD_TEST_MAIN(
	VFD_TEST(test_msix_function_mask),
	VFD_TEST(test_msi_mask_and_data),
)
