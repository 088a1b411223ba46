/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"

/* longer messages are cut: a log line, not a data channel */
#define LOG_LINE_MAX 2048

static int max_level = LOG_INFO;

void log_set_max_level(int level)
{
	max_level = level;
}

int log_get_max_level(void)
{
	return max_level;
}

/*
 * When stderr is the journal's stream socket (JOURNAL_STREAM names its
 * device and inode), a "<N>" prefix carries the priority into the
 * journal. On a terminal or in a test log a plain "vfiod: " reads better.
 */
static bool stderr_is_journal(void)
{
	static int cached = -1;
	const char *e;
	unsigned long long dev, ino;
	struct stat st;

	if (cached >= 0)
		return cached;

	cached = 0;
	e = getenv("JOURNAL_STREAM");
	if (e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 &&
	    fstat(fileno(stderr), &st) == 0 &&
	    (unsigned long long) st.st_dev == dev &&
	    (unsigned long long) st.st_ino == ino)
		cached = 1;

	return cached;
}

int log_internal(int level, int error, const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	if (error < 0)
		error = -error;

	if (level <= max_level) {
		char line[LOG_LINE_MAX];
		int n;

		if (stderr_is_journal())
			n = snprintf(line, sizeof(line), "<%d>", level);
		else
			n = snprintf(line, sizeof(line), "vfiod: ");

		/* "%m" in fmt expands to strerror(errno): make it the passed error */
		errno = error;
		va_start(ap, fmt);
		vsnprintf(line + n, sizeof(line) - (size_t) n, fmt, ap);
		va_end(ap);

		/* one write per message, so lines from concurrent writers never interleave */
		fprintf(stderr, "%s\n", line);
	}

	errno = saved_errno;
	return -error;
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

bool log_ratelimit_pass(LogRatelimit *rl, int level)
{
	uint64_t now;

	if (level > max_level)
		return true;

	now = now_usec();
	if (rl->begin_usec == 0 || now - rl->begin_usec >= rl->interval_usec) {
		/* a new interval: say what the last one dropped, once */
		if (rl->suppressed > 0)
			(void) log_internal(LOG_NOTICE, 0, "%u messages like \"%s\" suppressed.",
					    rl->suppressed, rl->what ? rl->what : "this");
		rl->begin_usec = now;
		rl->passed = 0;
		rl->suppressed = 0;
	}

	if (rl->passed < rl->burst) {
		rl->passed++;
		return true;
	}
	rl->suppressed++;
	return false;
}
