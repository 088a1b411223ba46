/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See vfiod/libvirt-dl.h. */
#include <errno.h>

#include "vfiod/dlopen.h"
#include "vfiod/libvirt-dl.h"

VFD_DL_DEFINE_LOADER(vfd_libvirt_load, vfd_libvirt, VFD_LIBVIRT_FUNCTIONS, VFD_LIBVIRT_SONAME,
		     VFD_LIBVIRT_PACKAGE)
