/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The detail of a failed multi-step operation (claiming a group, creating
 * an mdev): which object it was about and why, next to the negative errno
 * the function returns. The errno is what callers map to stable D-Bus error
 * names; the detail is for people.
 *
 * Passed as an in/out parameter like sd_bus_error: the caller clears it,
 * the library fills it once, with the first error only, so that a failure
 * while rolling back does not hide the one that caused the rollback.
 */
#pragma once

#include <stdbool.h>
#include <string.h>

typedef struct vfd_op_error {
	int error;         /* the negative errno also returned; 0 when none */
	char subject[64];  /* the object concerned: a PCI address, an mdev UUID, ...; "" when none */
	char message[256]; /* a sentence for people, no trailing period */
	/*
	 * -EBUSY because the object is open (a VMM's file, a group in use):
	 * it ends once its holders close it, where other refusals stay
	 * (vfd_op_error_set_held())
	 */
	bool held;
} vfd_op_error;

static inline void vfd_op_error_clear(vfd_op_error *e)
{
	if (e)
		memset(e, 0, sizeof(*e));
}

static inline int vfd_op_error_is_set(const vfd_op_error *e)
{
	return e && e->error != 0;
}

/*
 * Records error (negative) with a subject and a message unless e already
 * holds one; returns error either way, so it can end a return statement.
 * e may be NULL. Long subjects and messages are truncated.
 */
int vfd_op_error_set(vfd_op_error *e, int error, const char *subject, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* as vfd_op_error_set(), with -EBUSY and held: the object is open, and free once closed */
int vfd_op_error_set_held(vfd_op_error *e, const char *subject, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
