/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Runner of the kselftest-style harness (mm-harness.h): every test in a
 * forked child with an alarm, TAP on stdout.
 *
 * Exit status: 0 when every selected test passed or skipped (and at least
 * one passed), 77 when every selected test skipped, 1 otherwise.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mm-harness.h"
#include "mm-test.h"

#define EXIT_SKIP 77

static mmh_test *tests_head, **tests_tail = &tests_head;

void mmh_register(mmh_test *t)
{
	/* Constructors run in link order: keep it, it is the order in the file. */
	*tests_tail = t;
	tests_tail = &t->next;
}

void mmh_log(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

void mmh_fail_at(mmh_metadata *m, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("# %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	m->failed = true;
}

void mmh_abort(mmh_metadata *m)
{
	longjmp(m->env, 1);
}

void mmh_skip(mmh_metadata *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->skip_reason, sizeof(m->skip_reason), fmt, ap);
	va_end(ap);
	m->skipped = true;
	longjmp(m->env, 1);
}

static void full_name(const mmh_test *t, char *buf, size_t size)
{
	if (t->fixture)
		snprintf(buf, size, "%s.%s", t->fixture, t->name);
	else
		snprintf(buf, size, "%s", t->name);
}

static bool selected(const mmh_test *t, char **only, int n_only)
{
	char name[256];

	if (n_only == 0)
		return true;
	full_name(t, name, sizeof(name));
	for (int i = 0; i < n_only; i++)
		if (strcmp(only[i], name) == 0 || strcmp(only[i], t->name) == 0 ||
		    (t->fixture && strcmp(only[i], t->fixture) == 0))
			return true;
	return false;
}

/* In the child: 0 pass, 1 fail, EXIT_SKIP skip. */
static int run_in_child(const mmh_test *t, const char *name)
{
	mmh_metadata m = { .name = name };

	alarm(t->timeout_s);
	t->run(&m);
	if (m.failed)
		return 1;
	if (m.skipped) {
		printf("# SKIP %s\n", m.skip_reason);
		return EXIT_SKIP;
	}
	return 0;
}

int mmh_main(int argc, char **argv)
{
	char *only[64];
	int n_only = 0, n = 0, npass = 0, nfail = 0, nskip = 0, i = 0;
	bool list = false;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Helpers a test leaves behind are reparented here and reaped. */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	for (int a = 1; a < argc; a++) {
		if (strcmp(argv[a], "-l") == 0)
			list = true;
		else if (strcmp(argv[a], "-r") == 0 && a + 1 < argc && n_only < 64)
			only[n_only++] = argv[++a];
		else {
			fprintf(stderr, "usage: %s [-l] [-r TEST]... | --hold N\n", argv[0]);
			return 2;
		}
	}

	for (mmh_test *t = tests_head; t; t = t->next)
		if (selected(t, only, n_only))
			n++;
	if (list) {
		char name[256];

		for (mmh_test *t = tests_head; t; t = t->next) {
			full_name(t, name, sizeof(name));
			puts(name);
		}
		return 0;
	}
	if (n == 0) {
		fprintf(stderr, "no test selected\n");
		return 2;
	}

	printf("TAP version 13\n1..%d\n", n);
	for (mmh_test *t = tests_head; t; t = t->next) {
		char name[256];
		int status;
		pid_t pid;

		if (!selected(t, only, n_only))
			continue;
		i++;
		full_name(t, name, sizeof(name));
		printf("# RUN %s\n", name);
		fflush(stdout);
		pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0)
			_exit(run_in_child(t, name));
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR) {
				perror("waitpid");
				return 1;
			}
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			printf("ok %d %s\n", i, name);
			npass++;
		} else if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_SKIP) {
			printf("ok %d %s # SKIP\n", i, name);
			nskip++;
		} else {
			if (WIFSIGNALED(status))
				printf("# %s\n", WTERMSIG(status) == SIGALRM ? "timed out" :
					 strsignal(WTERMSIG(status)));
			printf("not ok %d %s\n", i, name);
			nfail++;
		}
		/* A test's helpers are its children; none may outlive it. */
		mm_test_reap_strays();
	}
	printf("# PASSED: %d / %d (%d skipped, %d failed)\n", npass, n, nskip, nfail);
	if (nfail)
		return 1;
	return npass ? 0 : EXIT_SKIP;
}
