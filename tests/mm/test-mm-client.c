/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit test of the client side that needs no module: the client's answer
 * when the family is absent. Naming a process by pidfd (lib/process.c) is
 * tested in tests/unit/test-process.c. Hermetic; suite unit.
 */
#include <sys/stat.h>

#include "mm-harness.h"
#include "mm-test.h"

TEST(client_without_module)
{
	vfd_mm_client *c = NULL;
	struct stat st;
	int r;

	if (stat("/sys/module/vfiod_mm", &st) == 0)
		SKIP("vfiod_mm is loaded on this machine");
	r = vfd_mm_client_new(&c);
	/* Resolving the family may load the module if it is installed. */
	if (r == 0 && stat("/sys/module/vfiod_mm", &st) == 0) {
		vfd_mm_client_free(c);
		SKIP("vfiod_mm is installed here and was loaded on demand");
	}
	EXPECT_ERRNO(r, ENOENT);
	EXPECT_TRUE(c == NULL);
}

int main(int argc, char **argv)
{
	return mmh_main(argc, argv);
}
