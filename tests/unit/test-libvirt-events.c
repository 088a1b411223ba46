/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * daemon/libvirt/libvirt-events.c: what a failed after-the-fact claim of
 * a device libvirt attached leads to. A refusal makes vfiod ask libvirt to
 * detach the device from the domain again; a passing state of the VM
 * (a give-back, a move of its charge to another process, where the add
 * says -EBUSY too) must never do that to a device the VM may have.
 */
#include "libvirt/libvirt-events.h"
#include "vfd-test.h"

/* the device is not the VM's to have: detached again, whatever the VM does */
static void test_refusals_detach(void)
{
	static const int refused[] = { -EADDRINUSE, -EALREADY, -ENOTSUP, -EDQUOT, -EPERM, -EACCES,
				       -ENOTBLK, -ENODEV };

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		ASSERT_EQ(libvirt_claim_verdict(refused[i], false), LIBVIRT_CLAIM_REFUSED);
		ASSERT_EQ(libvirt_claim_verdict(refused[i], true), LIBVIRT_CLAIM_REFUSED);
	}
	/* a member of the group is the host's (or carries its root file system) */
	ASSERT_EQ(libvirt_claim_verdict(-EBUSY, false), LIBVIRT_CLAIM_REFUSED);
}

/* -EBUSY of a VM in the middle of a change (ChangeProcess, a give-back): later, no detach */
static void test_busy_while_changing_waits(void)
{
	ASSERT_EQ(libvirt_claim_verdict(-EBUSY, true), LIBVIRT_CLAIM_LATER);
}

/* vfiod's own trouble: logged, no detach */
static void test_own_trouble_only_logged(void)
{
	ASSERT_EQ(libvirt_claim_verdict(-ENOMEM, false), LIBVIRT_CLAIM_FAILED);
	ASSERT_EQ(libvirt_claim_verdict(-EISCONN, false), LIBVIRT_CLAIM_FAILED);
	ASSERT_EQ(libvirt_claim_verdict(-ESHUTDOWN, true), LIBVIRT_CLAIM_FAILED);
}

VFD_TEST_MAIN(VFD_TEST(test_refusals_detach), VFD_TEST(test_busy_while_changing_waits),
	      VFD_TEST(test_own_trouble_only_logged))
