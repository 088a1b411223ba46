/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small kselftest-style harness (modelled on the kernel's
 * tools/testing/selftests/kselftest_harness.h, written anew): FIXTURE,
 * FIXTURE_SETUP, FIXTURE_TEARDOWN, TEST_F and TEST register tests from
 * any source file of the program; main() (mm-harness.c) runs each test in
 * a child process of its own, with a timeout, and prints TAP.
 *
 * ASSERT_* ends the test (the teardown still runs), EXPECT_* records the
 * failure and goes on, SKIP() ends it as skipped. Values are compared as
 * 64-bit integers and printed on failure.
 */
#pragma once

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct mmh_metadata {
	const char *name;
	bool failed;
	bool skipped;
	char skip_reason[256];
	jmp_buf env;
} mmh_metadata;

typedef struct mmh_test {
	const char *fixture; /* NULL for TEST() */
	const char *name;
	void (*run)(mmh_metadata *m);
	unsigned timeout_s;
	struct mmh_test *next;
} mmh_test;

void mmh_register(mmh_test *t);
void mmh_fail_at(mmh_metadata *m, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
_Noreturn void mmh_abort(mmh_metadata *m);
_Noreturn void mmh_skip(mmh_metadata *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mmh_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define MMH_DEFAULT_TIMEOUT 300

#define FIXTURE(f) struct _mmh_fixture_##f

#define FIXTURE_SETUP(f)                                                                   \
	static void _mmh_setup_##f(mmh_metadata *_metadata, struct _mmh_fixture_##f *self)

#define FIXTURE_TEARDOWN(f)                                                                \
	static void _mmh_teardown_##f(mmh_metadata *_metadata, struct _mmh_fixture_##f *self)

#define _MMH_REGISTER(id, fix, nm, to)                                                     \
	static mmh_test _mmh_reg_##id = { fix, nm, _mmh_run_##id, to, NULL };              \
	__attribute__((constructor)) static void _mmh_ctor_##id(void)                      \
	{                                                                                  \
		mmh_register(&_mmh_reg_##id);                                              \
	}

#define TEST_F_TIMEOUT(f, t, to)                                                           \
	static void _mmh_body_##f##_##t(mmh_metadata *_metadata, struct _mmh_fixture_##f *self); \
	static void _mmh_run_##f##_##t(mmh_metadata *m)                                    \
	{                                                                                  \
		static struct _mmh_fixture_##f self;                                       \
		memset(&self, 0, sizeof(self));                                            \
		if (!setjmp(m->env)) {                                                     \
			_mmh_setup_##f(m, &self);                                          \
			_mmh_body_##f##_##t(m, &self);                                     \
		}                                                                          \
		if (!setjmp(m->env))                                                       \
			_mmh_teardown_##f(m, &self);                                       \
	}                                                                                  \
	_MMH_REGISTER(f##_##t, #f, #t, to)                                                 \
	static void _mmh_body_##f##_##t(mmh_metadata *_metadata, struct _mmh_fixture_##f *self)

#define TEST_F(f, t) TEST_F_TIMEOUT(f, t, MMH_DEFAULT_TIMEOUT)

#define TEST_TIMEOUT(t, to)                                                                \
	static void _mmh_body_##t(mmh_metadata *_metadata);                                \
	static void _mmh_run_##t(mmh_metadata *m)                                          \
	{                                                                                  \
		if (!setjmp(m->env))                                                       \
			_mmh_body_##t(m);                                                  \
	}                                                                                  \
	_MMH_REGISTER(t, NULL, #t, to)                                                     \
	static void _mmh_body_##t(mmh_metadata *_metadata)

#define TEST(t) TEST_TIMEOUT(t, MMH_DEFAULT_TIMEOUT)

#define SKIP(...) mmh_skip(_metadata, __VA_ARGS__)
#define TH_LOG(...) mmh_log(__VA_ARGS__)

#define _MMH_CMP(fatal, a, op, b)                                                          \
	do {                                                                               \
		long long _mmh_a = (long long)(a), _mmh_b = (long long)(b);                \
		if (!(_mmh_a op _mmh_b)) {                                                 \
			mmh_fail_at(_metadata, __FILE__, __LINE__,                         \
				    "%s %s %s: %lld vs %lld", #a, #op, #b, _mmh_a, _mmh_b);  \
			if (fatal)                                                         \
				mmh_abort(_metadata);                                      \
		}                                                                          \
	} while (0)

#define ASSERT_EQ(a, b) _MMH_CMP(true, a, ==, b)
#define ASSERT_NE(a, b) _MMH_CMP(true, a, !=, b)
#define ASSERT_LT(a, b) _MMH_CMP(true, a, <, b)
#define ASSERT_LE(a, b) _MMH_CMP(true, a, <=, b)
#define ASSERT_GT(a, b) _MMH_CMP(true, a, >, b)
#define ASSERT_GE(a, b) _MMH_CMP(true, a, >=, b)
#define EXPECT_EQ(a, b) _MMH_CMP(false, a, ==, b)
#define EXPECT_NE(a, b) _MMH_CMP(false, a, !=, b)
#define EXPECT_LT(a, b) _MMH_CMP(false, a, <, b)
#define EXPECT_LE(a, b) _MMH_CMP(false, a, <=, b)
#define EXPECT_GT(a, b) _MMH_CMP(false, a, >, b)
#define EXPECT_GE(a, b) _MMH_CMP(false, a, >=, b)

#define ASSERT_TRUE(x) ASSERT_NE(!!(x), 0)
#define ASSERT_FALSE(x) ASSERT_EQ(!!(x), 0)
#define EXPECT_TRUE(x) EXPECT_NE(!!(x), 0)
#define EXPECT_FALSE(x) EXPECT_EQ(!!(x), 0)

/* An errno-returning call: shows the errno name on failure. */
#define ASSERT_OK(expr)                                                                    \
	do {                                                                               \
		int _mmh_r = (expr);                                                       \
		if (_mmh_r < 0) {                                                          \
			mmh_fail_at(_metadata, __FILE__, __LINE__, "%s failed: %s", #expr, \
				    strerrorname_np(-_mmh_r) ?: "?");                      \
			mmh_abort(_metadata);                                              \
		}                                                                          \
	} while (0)

/* expr must fail with exactly -err. */
#define _MMH_ERRNO(fatal, expr, err)                                                       \
	do {                                                                               \
		int _mmh_r = (expr);                                                       \
		if (_mmh_r != -(err)) {                                                    \
			mmh_fail_at(_metadata, __FILE__, __LINE__, "%s: want %s, got %s", #expr, \
				    strerrorname_np(err) ?: "?",                           \
				    _mmh_r >= 0 ? "success" : (strerrorname_np(-_mmh_r) ?: "?")); \
			if (fatal)                                                         \
				mmh_abort(_metadata);                                      \
		}                                                                          \
	} while (0)

#define ASSERT_ERRNO(expr, err) _MMH_ERRNO(true, expr, err)
#define EXPECT_ERRNO(expr, err) _MMH_ERRNO(false, expr, err)
