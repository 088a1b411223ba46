/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* UUID validation (mdev instance names). */
#include "vfd-test.h"
#include "vfiod/inventory.h"

static void test_uuid(void)
{
	static const char *const good[] = {
		"83b8f4f2-509f-382f-3c1e-e6bfe0fa1001",
		"00000000-0000-0000-0000-000000000000",
		"ABCDEF01-2345-6789-abcd-ef0123456789",
	};
	static const char *const bad[] = {
		"",
		"83b8f4f2-509f-382f-3c1e-e6bfe0fa100",    /* short */
		"83b8f4f2-509f-382f-3c1e-e6bfe0fa10011",  /* long */
		"83b8f4f2-509f-382f-3c1e-e6bfe0fa1001\n",
		" 83b8f4f2-509f-382f-3c1e-e6bfe0fa1001",
		"83b8f4f2509f382f3c1ee6bfe0fa1001",        /* no hyphens */
		"83b8f4f2-509f-382f-3c1ee-6bfe0fa1001",   /* hyphen moved */
		"83b8f4f2_509f_382f_3c1e_e6bfe0fa1001",
		"g3b8f4f2-509f-382f-3c1e-e6bfe0fa1001",
		"{83b8f4f2-509f-382f-3c1e-e6bfe0fa1001}",
		"../b8f4f2-509f-382f-3c1e-e6bfe0fa1001",
		"83b8f4f2-509f-382f-3c1e-e6bfe0fa/001",
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ASSERT_OK(vfd_uuid_validate(good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (vfd_uuid_validate(bad[i]) != -EINVAL)
			vfd_test_fail(__FILE__, __LINE__, "bad uuid #%zu \"%s\" accepted", i, bad[i]);
	ASSERT_ERRNO(vfd_uuid_validate(NULL), -EINVAL);
}

VFD_TEST_MAIN(
	VFD_TEST(test_uuid),
)
