/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See vfiod/dlopen.h. The one file of the tree that calls dlopen(). */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "vfiod/dlopen.h"
#include "vfiod/error-message.h"
#include "vfiod/util.h"

/* dlerror() is per thread, but dlopen() and the resolution below are one step */
static pthread_mutex_t dl_lock = PTHREAD_MUTEX_INITIALIZER;

static void unlockp(pthread_mutex_t **m)
{
	if (*m)
		pthread_mutex_unlock(*m);
}

int vfd_dl_open(const char *soname, const char *package, const vfd_dl_symbol *symbols, size_t n,
		char **error_message)
{
	_cleanup_(unlockp) pthread_mutex_t *locked = NULL;
	_cleanup_free_ void **found = NULL;
	void *handle;

	if (!soname || !package || (!symbols && n > 0))
		return vfd_error_setf(error_message, -EINVAL, "invalid arguments");
	found = calloc(n ? n : 1, sizeof(*found));
	if (!found)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");

	pthread_mutex_lock(&dl_lock);
	locked = &dl_lock;
	/*
	 * RTLD_LOCAL: its symbols serve only the addresses resolved here.
	 * Never closed: libvirt keeps threads and atexit handlers, and the
	 * pointers handed out must stay valid.
	 */
	handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		const char *why = dlerror();

		return vfd_error_setf(error_message, -ENOPKG, "cannot load %s (package %s): %s", soname,
				      package, why ? why : "unknown error");
	}
	for (size_t i = 0; i < n; i++) {
		(void) dlerror();
		found[i] = dlsym(handle, symbols[i].name);
		if (!found[i]) {
			const char *why = dlerror();

			/* the handle stays: a second dlopen() of it costs a reference count */
			return vfd_error_setf(error_message, -ENOSYS, "%s has no %s (package %s too old?)%s%s",
					      soname, symbols[i].name, package, why ? ": " : "", why ? why : "");
		}
	}
	for (size_t i = 0; i < n; i++)
		*symbols[i].ret = found[i];
	return 0;
}

int vfd_dl_load(vfd_dl_library *lib, char **error_message)
{
	static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
	_cleanup_(unlockp) pthread_mutex_t *locked = NULL;
	int r;

	if (!lib)
		return vfd_error_setf(error_message, -EINVAL, "invalid arguments");
	pthread_mutex_lock(&load_lock);
	locked = &load_lock;
	if (lib->loaded)
		return 0;
	r = vfd_dl_open(lib->soname, lib->package, lib->symbols, lib->n, error_message);
	lib->loaded = r >= 0;
	return r;
}

int vfd_dl_is_loaded(const char *soname)
{
	void *handle;

	if (!soname)
		return -EINVAL;
	handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
	if (!handle)
		return 0;
	dlclose(handle); /* drops the reference RTLD_NOLOAD took, not the library */
	return 1;
}
