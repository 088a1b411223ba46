/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A tiny stderr logger for vfiod. systemd's logging macros live in its
 * src/shared and are not part of libsystemd, so this is the small
 * equivalent we need: levels, "%m" for the passed error, and the
 * log_*_errno() forms that log and return -errno in one expression.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

/* messages above this level (LOG_DEBUG > LOG_INFO > ...) are dropped */
void log_set_max_level(int level);
int log_get_max_level(void);

/*
 * Logs fmt at level with errno set to abs(error) so "%m" names it, and
 * returns -abs(error) (0 stays 0). Always evaluates to the error so that
 * callers can write "return log_error_errno(r, ...)".
 */
int log_internal(int level, int error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_debug(...)   ((void) log_internal(LOG_DEBUG, 0, __VA_ARGS__))
#define log_info(...)    ((void) log_internal(LOG_INFO, 0, __VA_ARGS__))
#define log_notice(...)  ((void) log_internal(LOG_NOTICE, 0, __VA_ARGS__))
#define log_warning(...) ((void) log_internal(LOG_WARNING, 0, __VA_ARGS__))
#define log_error(...)   ((void) log_internal(LOG_ERR, 0, __VA_ARGS__))

#define log_debug_errno(error, ...)   log_internal(LOG_DEBUG, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_internal(LOG_WARNING, (error), __VA_ARGS__)
#define log_error_errno(error, ...)   log_internal(LOG_ERR, (error), __VA_ARGS__)

/* "Failed to allocate memory" is the one message every caller would repeat. */
#define log_oom() log_internal(LOG_ERR, ENOMEM, "Out of memory.")

/*
 * Rate limiting, for every line a caller can make vfiod write as often as
 * it likes (a refused call, a charge check): at most burst lines per
 * interval; the rest are counted, and the count is logged ("N messages
 * like ... suppressed") before the next line that passes.
 */
typedef struct LogRatelimit {
	uint64_t interval_usec;
	unsigned burst;
	const char *what;    /* the format of the lines, named in the count */
	uint64_t begin_usec; /* the current interval's start; 0: none yet */
	unsigned passed;     /* lines logged in the current interval */
	unsigned suppressed; /* lines dropped since the last count */
} LogRatelimit;

#define LOG_RATELIMIT_INTERVAL_USEC (10ULL * 1000 * 1000)
#define LOG_RATELIMIT_BURST 10u
#define LOG_RATELIMIT_INIT(format) \
	{ .interval_usec = LOG_RATELIMIT_INTERVAL_USEC, .burst = LOG_RATELIMIT_BURST, .what = (format) }

/*
 * true when a line at level may be logged now. Lines above the maximum
 * level pass (log_internal drops them) without taking from the burst.
 */
bool log_ratelimit_pass(LogRatelimit *rl, int level);

#define LOG_FIRST_(first, ...) first
/* log_internal() through a rate limit of its own per call site */
#define log_ratelimited(level, error, ...)                                              \
	({                                                                              \
		static LogRatelimit _rl = LOG_RATELIMIT_INIT(LOG_FIRST_(__VA_ARGS__, 0)); \
		int _e = (error);                                                       \
		log_ratelimit_pass(&_rl, (level)) ? log_internal((level), _e, __VA_ARGS__) \
						  : (_e < 0 ? _e : -_e);                \
	})
