/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A tiny stderr logger for vfiod. systemd's logging macros live in its
 * src/shared and are not part of libsystemd, so this is the small
 * equivalent we need: levels, "%m" for the passed error, and the
 * log_*_errno() forms that log and return -errno in one expression.
 */
#pragma once

#include <stdarg.h>
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
