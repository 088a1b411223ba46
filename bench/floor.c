/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * floor ROOT devices | groups | show ADDRESS
 *
 * The benchmarks' floor: what `vfioctl devices`, `groups` and `show`
 * print, read straight from ROOT/sys by one small process (floor-read.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "floor-read.h"

int main(int argc, char *argv[])
{
	int sys, r;

	if (argc < 3 || (strcmp(argv[2], "show") == 0) != (argc == 4) || argc > 4) {
		fprintf(stderr, "usage: %s ROOT devices|groups|show ADDRESS\n", argv[0]);
		return 2;
	}
	sys = floor_open_sys(argv[1]);
	if (sys < 0) {
		fprintf(stderr, "floor: cannot open %s/sys: %s\n", argv[1], strerror(-sys));
		return 1;
	}
	if (strcmp(argv[2], "devices") == 0)
		r = floor_devices(sys, stdout);
	else if (strcmp(argv[2], "groups") == 0)
		r = floor_groups(sys, stdout);
	else if (strcmp(argv[2], "show") == 0)
		r = floor_show(sys, argv[3], stdout);
	else {
		fprintf(stderr, "floor: unknown verb %s\n", argv[2]);
		return 2;
	}
	close(sys);
	if (r < 0) {
		fprintf(stderr, "floor: %s: %s\n", argv[2], strerror(-r));
		return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
