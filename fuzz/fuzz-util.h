/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared by the fuzz targets (fuzz/fuzz-*.c): libFuzzer's entry point, the
 * input as the C string the parsers take, and invariant checks that abort
 * (a failed check is a crash to libFuzzer, like a sanitizer report).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* a parser's promise broken: report where, then crash */
#define FUZZ_CHECK(cond)                                                                  \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, \
				#cond);                                                   \
			abort();                                                          \
		}                                                                         \
	} while (0)

/*
 * The bytes as a NUL-terminated string, as the daemon hands file contents
 * to the parsers (an embedded NUL ends the text there, as it would for
 * them). NULL when out of memory: the input is then skipped.
 */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s) {
		memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}

/*
 * Splits s at its first newline: *rest points behind it (to "" when there
 * is none). Returns s, its first line now NUL-terminated. Targets that
 * need a file name or an argument next to the contents take it from there.
 */
static inline char *fuzz_first_line(char *s, char **rest)
{
	char *nl = strchr(s, '\n');

	if (nl) {
		*nl = '\0';
		*rest = nl + 1;
	} else
		*rest = s + strlen(s);
	return s;
}

/* a path that stays below its directory: relative, no "." or ".." or empty component */
static inline int fuzz_path_stays_below(const char *p)
{
	if (!*p || *p == '/')
		return 0;
	for (;;) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (!p[n])
			return 1;
		p += n + 1;
	}
}
