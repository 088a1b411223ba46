/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfd-mm-test: the vfiod_mm module's own tests (kselftest style, see
 * mm-harness.h), run as root inside the nested-VM lab by
 * tests/vm/cases/vm-mm-helper.sh.
 *
 *   vfd-mm-test [-l] [-r TEST]...   run (or list) the tests
 *   vfd-mm-test --hold N            track N live processes and one exited
 *                                   one, print "ready", wait for EOF on
 *                                   stdin (the module unload case)
 *   vfd-mm-test --pause             wait forever (the exec test's target)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mm-test.h"

static int hold(int n)
{
	_cleanup_(vfd_mm_client_freep) vfd_mm_client *c = NULL;
	mm_child children[64], gone = MM_CHILD_INIT;
	vfd_mm_info info;
	char buf[64];
	int r;

	if (n < 1 || n > 64)
		return 2;
	r = vfd_mm_client_new(&c);
	if (r < 0) {
		fprintf(stderr, "vfd-mm-test: connecting: %s\n", strerror(-r));
		return 1;
	}
	for (int i = 0; i < n; i++) {
		r = mm_child_sleeper(&children[i]);
		if (r >= 0)
			r = vfd_mm_track_pidfd(c, children[i].pidfd, &info);
		if (r < 0) {
			fprintf(stderr, "vfd-mm-test: tracking: %s\n", strerror(-r));
			return 1;
		}
	}
	/* One handle on an mm that has exited: its poll work is running. */
	r = mm_child_sleeper(&gone);
	if (r >= 0)
		r = vfd_mm_track_pidfd(c, gone.pidfd, &info);
	if (r >= 0)
		r = mm_child_kill_no_reap(&gone);
	if (r < 0) {
		fprintf(stderr, "vfd-mm-test: exited handle: %s\n", strerror(-r));
		return 1;
	}
	printf("ready handles=%d\n", n + 1);
	fflush(stdout);
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		;
	/* The module may be gone: closing the socket must still be harmless. */
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--pause") == 0) {
		for (;;)
			pause();
	}
	if (argc == 3 && strcmp(argv[1], "--hold") == 0)
		return hold(atoi(argv[2]));
	return mmh_main(argc, argv);
}
