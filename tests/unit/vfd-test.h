/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A tiny test harness for the unit suite: one program per library area,
 * each a table of test functions. Every test runs in its own child process
 * (so one failing assertion, crash or sanitizer report fails that test
 * alone and the rest still run) and the runner prints TAP.
 *
 * Assertions print the expression, both values and the location, then
 * end the test.
 */
#pragma once

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct vfd_test {
	const char *name;
	void (*func)(void);
} vfd_test;

#define VFD_TEST(f) { #f, f }

int vfd_test_main(int argc, char **argv, const vfd_test *tests, size_t n);

#define VFD_TEST_MAIN(...)                                                          \
	int main(int argc, char **argv)                                             \
	{                                                                           \
		static const vfd_test tests_[] = { __VA_ARGS__ };                   \
		return vfd_test_main(argc, argv, tests_, sizeof(tests_) / sizeof(tests_[0])); \
	}

_Noreturn void vfd_test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Ends the test as skipped (TAP "# SKIP"), e.g. when the machine lacks something. */
_Noreturn void vfd_test_skip(const char *why);

#define ASSERT_TRUE(expr)                                                           \
	do {                                                                        \
		if (!(expr))                                                        \
			vfd_test_fail(__FILE__, __LINE__, "expected true: %s", #expr); \
	} while (0)

#define ASSERT_FALSE(expr)                                                          \
	do {                                                                        \
		if (expr)                                                           \
			vfd_test_fail(__FILE__, __LINE__, "expected false: %s", #expr); \
	} while (0)

#define ASSERT_EQ(a, b)                                                             \
	do {                                                                        \
		intmax_t a_ = (intmax_t)(a), b_ = (intmax_t)(b);                    \
		if (a_ != b_)                                                       \
			vfd_test_fail(__FILE__, __LINE__, "%s == %s: %jd (0x%jx) != %jd (0x%jx)", \
				      #a, #b, a_, a_, b_, b_);                      \
	} while (0)

#define ASSERT_STREQ(a, b)                                                          \
	do {                                                                        \
		const char *a_ = (a), *b_ = (b);                                    \
		if (!a_ || !b_ || strcmp(a_, b_) != 0)                              \
			vfd_test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", \
				      #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
	} while (0)

#define ASSERT_NULL(p)                                                              \
	do {                                                                        \
		const void *p_ = (p);                                               \
		if (p_)                                                             \
			vfd_test_fail(__FILE__, __LINE__, "expected NULL: %s", #p); \
	} while (0)

#define ASSERT_NOT_NULL(p)                                                          \
	do {                                                                        \
		if (!(p))                                                           \
			vfd_test_fail(__FILE__, __LINE__, "expected non-NULL: %s", #p); \
	} while (0)

/* r must be a success (>= 0) */
#define ASSERT_OK(expr)                                                             \
	do {                                                                        \
		intmax_t r_ = (intmax_t)(expr);                                     \
		if (r_ < 0)                                                         \
			vfd_test_fail(__FILE__, __LINE__, "%s failed: %jd (%s)",    \
				      #expr, r_, strerror((int)-r_));               \
	} while (0)

/* expr must fail with exactly the negative errno err */
#define ASSERT_ERRNO(expr, err)                                                     \
	do {                                                                        \
		intmax_t r_ = (intmax_t)(expr), e_ = (intmax_t)(err);               \
		if (r_ != e_)                                                       \
			vfd_test_fail(__FILE__, __LINE__, "%s: got %jd (%s), want %jd (%s)", \
				      #expr, r_, r_ < 0 ? strerror((int)-r_) : "success", \
				      e_, strerror((int)-e_));                      \
	} while (0)

/* ---- fixture helpers ---- */

/* The synthetic host tree (env VFD_SYNTHETIC_HOST, set by meson). */
const char *vfd_test_synthetic_host(void);

/*
 * A fresh root with tests/fixtures/pci-names.hwdb compiled by systemd-hwdb
 * (env VFD_HWDB_SOURCE, VFD_SYSTEMD_HWDB; skips without them) into
 * ROOT/etc/udev/hwdb.bin, or with usr into the distribution's place.
 */
char *vfd_test_root_with_hwdb(bool usr);

/* A fresh empty directory under $TMPDIR; removed again by vfd_test_rm_rf(). */
char *vfd_test_mkdtemp(void);
void vfd_test_rm_rf(const char *path);

/* Create a file (with parents) holding exactly content; a symlink (with parents). */
void vfd_test_write_file(const char *root, const char *rel, const char *content);
void vfd_test_write_data(const char *root, const char *rel, const void *content, size_t len);
void vfd_test_mkdir(const char *root, const char *rel);
void vfd_test_symlink(const char *root, const char *rel, const char *target);
