/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The start-up floor: a dynamically linked C program that prints a version and exits. */
#include <stdio.h>

int main(void)
{
	puts("trivial 1");
	return 0;
}
