/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/op-error.c: the first error is the one kept, with its "held" mark:
 * a refusal because something has the object open (it ends once closed)
 * is told apart from one that stays, and a later error, held or not,
 * changes neither.
 */
#include <errno.h>

#include "vfiod/op-error.h"
#include "vfd-test.h"

static void test_held_marks_an_open_object(void)
{
	vfd_op_error e;

	vfd_op_error_clear(&e);
	ASSERT_EQ(vfd_op_error_set_held(&e, "0000:01:00.0", "still in use: %u open file(s)", 2u), -EBUSY);
	ASSERT_EQ(e.error, -EBUSY);
	ASSERT_TRUE(e.held);
	ASSERT_STREQ(e.subject, "0000:01:00.0");
	ASSERT_STREQ(e.message, "still in use: 2 open file(s)");
}

static void test_plain_busy_is_not_held(void)
{
	vfd_op_error e;

	vfd_op_error_clear(&e);
	ASSERT_EQ(vfd_op_error_set(&e, -EBUSY, "0000:01:00.0", "no helper"), -EBUSY);
	ASSERT_FALSE(e.held);
}

static void test_first_error_wins_with_its_mark(void)
{
	vfd_op_error e;

	vfd_op_error_clear(&e);
	(void) vfd_op_error_set(&e, -EBUSY, "a", "the proof failed");
	ASSERT_EQ(vfd_op_error_set_held(&e, "b", "open"), -EBUSY);
	ASSERT_FALSE(e.held);
	ASSERT_STREQ(e.subject, "a");

	vfd_op_error_clear(&e);
	(void) vfd_op_error_set_held(&e, "a", "open");
	ASSERT_EQ(vfd_op_error_set(&e, -EIO, "b", "rollback failed"), -EIO);
	ASSERT_TRUE(e.held);
	ASSERT_EQ(e.error, -EBUSY);
	/* no detail wanted: the errno all the same */
	ASSERT_EQ(vfd_op_error_set_held(NULL, "a", "open"), -EBUSY);
}

VFD_TEST_MAIN(VFD_TEST(test_held_marks_an_open_object), VFD_TEST(test_plain_busy_is_not_held),
	      VFD_TEST(test_first_error_wins_with_its_mark))
