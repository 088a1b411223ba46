/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See vfiod/kmod-dl.h. */
#include <errno.h>

#include "vfiod/dlopen.h"
#include "vfiod/kmod-dl.h"

VFD_DL_DEFINE_LOADER(vfd_kmod_load, vfd_kmod, VFD_KMOD_FUNCTIONS, VFD_KMOD_SONAME, VFD_KMOD_PACKAGE)
