/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * timeit [-n RUNS] [-w WARMUP] -- COMMAND_A... [:: COMMAND_B... [:: COMMAND_C... [:: COMMAND_D...]]]
 *
 * Runs COMMAND_A (and B and C, interleaved A B C A B C ... so that a
 * change of the machine's load hits them alike) WARMUP times unmeasured,
 * then RUNS times measured, each with stdout and stderr on /dev/null.
 * Prints one JSON object: for "a" (and "b", "c") the median, min and max of the wall
 * time (ms), of the CPU time user+system (ms) and of the peak RSS
 * (ru_maxrss of the child, KiB). A command that fails ends it with status 1.
 *
 * The child is started with posix_spawn; Linux counts the parent's RSS at
 * exec into ru_maxrss, so this program's own (small) RSS is a floor of
 * every peak it reports: compare peaks with a trivial program's, measured
 * the same way.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct samples {
	double *wall_ms, *cpu_ms, *maxrss_kib;
	size_t n;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int run_once(char **argv, struct samples *s)
{
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	double start, end;
	int status, r;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	start = now_ms();
	r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		fprintf(stderr, "timeit: cannot start %s: %s\n", argv[0], strerror(r));
		return -1;
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		fprintf(stderr, "timeit: wait4: %s\n", strerror(errno));
		return -1;
	}
	end = now_ms();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "timeit: %s failed (status 0x%x)\n", argv[0], status);
		return -1;
	}
	if (s) {
		s->wall_ms[s->n] = end - start;
		s->cpu_ms[s->n] = ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 +
				  ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
		s->maxrss_kib[s->n] = (double)ru.ru_maxrss;
		s->n++;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void print_stat(const char *name, double *v, size_t n, const char *sep)
{
	double median;

	qsort(v, n, sizeof(*v), cmp_double);
	median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	printf("\"%s\":{\"median\":%.3f,\"min\":%.3f,\"max\":%.3f,\"n\":%zu}%s", name, median, v[0],
	       v[n - 1], n, sep);
}

static void print_samples(const char *name, struct samples *s, const char *sep)
{
	printf("\"%s\":{", name);
	print_stat("wall_ms", s->wall_ms, s->n, ",");
	print_stat("cpu_ms", s->cpu_ms, s->n, ",");
	print_stat("maxrss_kib", s->maxrss_kib, s->n, "");
	printf("}%s", sep);
}

static int alloc_samples(struct samples *s, size_t runs)
{
	s->wall_ms = calloc(runs, sizeof(double));
	s->cpu_ms = calloc(runs, sizeof(double));
	s->maxrss_kib = calloc(runs, sizeof(double));
	s->n = 0;
	return s->wall_ms && s->cpu_ms && s->maxrss_kib ? 0 : -1;
}

#define MAX_COMMANDS 4

int main(int argc, char *argv[])
{
	static const char *const keys[MAX_COMMANDS] = { "a", "b", "c", "d" };
	struct samples s[MAX_COMMANDS];
	char **cmd[MAX_COMMANDS];
	long runs = 11, warmup = 2;
	size_t n_cmd = 1;
	int opt;

	while ((opt = getopt(argc, argv, "+n:w:")) != -1) {
		switch (opt) {
		case 'n':
			runs = strtol(optarg, NULL, 10);
			break;
		case 'w':
			warmup = strtol(optarg, NULL, 10);
			break;
		default:
			goto usage;
		}
	}
	if (optind >= argc || runs < 1 || warmup < 0)
		goto usage;
	cmd[0] = argv + optind;
	for (int i = optind; i < argc; i++)
		if (strcmp(argv[i], "::") == 0) {
			if (n_cmd == MAX_COMMANDS)
				goto usage;
			argv[i] = NULL;
			cmd[n_cmd++] = argv + i + 1;
		}
	for (size_t c = 0; c < n_cmd; c++)
		if (!cmd[c][0])
			goto usage;

	for (size_t c = 0; c < n_cmd; c++)
		if (alloc_samples(&s[c], runs) < 0)
			return 1;
	for (long i = 0; i < warmup + runs; i++) {
		bool measured = i >= warmup;

		for (size_t c = 0; c < n_cmd; c++)
			if (run_once(cmd[c], measured ? &s[c] : NULL) < 0)
				return 1;
	}

	printf("{");
	for (size_t c = 0; c < n_cmd; c++)
		print_samples(keys[c], &s[c], c + 1 < n_cmd ? "," : "");
	printf("}\n");
	return 0;
usage:
	fprintf(stderr, "usage: %s [-n RUNS] [-w WARMUP] -- COMMAND... [:: COMMAND...] (at most 4)\n",
		argv[0]);
	return 2;
}
