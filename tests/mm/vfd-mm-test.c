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
 *   vfd-mm-test --probe             what this process may do: prints
 *                                   "capeff=HEX track=R subscribe=R" (R: ok
 *                                   or an errno name), for setpriv runs
 *   vfd-mm-test --stats-handles     print the module's handle count
 */
#include <errno.h>
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

static void nop_handler(vfd_mm_client *c, vfd_mm_event_type type, const vfd_mm_info *info,
			void *userdata)
{
}

static const char *result_name(int r)
{
	return r >= 0 ? "ok" : strerrorname_np(-r);
}

static int probe(void)
{
	_cleanup_(vfd_mm_client_freep) vfd_mm_client *c = NULL;
	mm_child child = MM_CHILD_INIT;
	char line[256], capeff[32] = "?";
	int track = -EIO, subscribe = -EIO, r;
	vfd_mm_info info;
	FILE *f;

	f = fopen("/proc/self/status", "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %31s", capeff) == 1)
			break;
	if (f)
		fclose(f);
	r = vfd_mm_client_new(&c);
	if (r < 0) {
		fprintf(stderr, "vfd-mm-test: connecting: %s\n", strerror(-r));
		return 1;
	}
	r = mm_child_sleeper(&child);
	if (r < 0) {
		fprintf(stderr, "vfd-mm-test: a process to track: %s\n", strerror(-r));
		return 1;
	}
	track = vfd_mm_track_pidfd(c, child.pidfd, &info);
	subscribe = vfd_mm_client_subscribe(c, nop_handler, NULL);
	printf("capeff=%s track=%s subscribe=%s\n", capeff, result_name(track),
	       result_name(subscribe));
	mm_child_kill(&child);
	return 0;
}

static int stats_handles(void)
{
	_cleanup_(vfd_mm_client_freep) vfd_mm_client *c = NULL;
	uint32_t handles, watches;
	int r;

	r = vfd_mm_client_new(&c);
	if (r >= 0)
		r = vfd_mm_stats(c, &handles, &watches);
	if (r < 0) {
		fprintf(stderr, "vfd-mm-test: stats: %s\n", strerror(-r));
		return 1;
	}
	printf("%u\n", handles);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--probe") == 0)
		return probe();
	if (argc == 2 && strcmp(argv[1], "--stats-handles") == 0)
		return stats_handles();
	if (argc == 2 && strcmp(argv[1], "--pause") == 0) {
		for (;;)
			pause();
	}
	if (argc == 3 && strcmp(argv[1], "--hold") == 0)
		return hold(atoi(argv[2]));
	return mmh_main(argc, argv);
}
