/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Small helpers shared by libvfiod, vfiod and vfioctl: cleanup attributes
 * and ownership transfer. Kept tiny on purpose; nothing here allocates.
 */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void vfd_freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(vfd_freep)

static inline void vfd_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
#define _cleanup_close_ _cleanup_(vfd_closep)

/* Defines foop(T **p) calling foo(*p) when non-NULL, for _cleanup_(foop). */
#define VFD_DEFINE_CLEANUP(type, func)                  \
	static inline void func##p(type **p)            \
	{                                               \
		if (*p)                                 \
			func(*p);                       \
	}

/*
 * Defines void name(type **a, size_t n): frees each of the n elements with
 * elem_free and then the array itself. NULL is fine.
 */
#define VFD_DEFINE_ARRAY_FREE(name, type, elem_free)    \
	void name(type **a, size_t n)                   \
	{                                               \
		if (!a)                                 \
			return;                         \
		for (size_t i_ = 0; i_ < n; i_++)       \
			elem_free(a[i_]);               \
		free(a);                                \
	}

/* Hands ownership on: returns the value and clears the variable. */
#define TAKE_PTR(p)                                     \
	({                                              \
		__typeof__(p) _p_ = (p);                \
		(p) = NULL;                             \
		_p_;                                    \
	})

#define TAKE_FD(fd)                                     \
	({                                              \
		int _fd_ = (fd);                        \
		(fd) = -1;                              \
		_fd_;                                   \
	})

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

static inline int negative_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}
