/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See vfiod/libvirt-dl.h. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>

#include "vfiod/dlopen.h"
#include "vfiod/libvirt-dl.h"
#include "vfiod/util.h"

static vfd_libvirt table;
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static bool table_loaded;

int vfd_libvirt_load(const vfd_libvirt **ret, char **error_message)
{
	static const vfd_dl_symbol symbols[] = {
#define VFD_LIBVIRT_SYMBOL(f) { #f, (void **) &table.f },
		VFD_LIBVIRT_FUNCTIONS(VFD_LIBVIRT_SYMBOL)
#undef VFD_LIBVIRT_SYMBOL
	};
	int r = 0;

	if (!ret)
		return -EINVAL;
	pthread_mutex_lock(&table_lock);
	if (!table_loaded) {
		/* a failure is tried again next time: libvirt0 may have been installed since */
		r = vfd_dl_open(VFD_LIBVIRT_SONAME, VFD_LIBVIRT_PACKAGE, symbols, ELEMENTSOF(symbols),
				error_message);
		table_loaded = r >= 0;
	}
	pthread_mutex_unlock(&table_lock);
	if (r < 0)
		return r;
	*ret = &table;
	return 0;
}
