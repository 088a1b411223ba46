/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libkmod, loaded by the code paths that choose a VFIO driver by module
 * alias (lib/vfio-variant.c) and by nothing else: see vfiod/dlopen.h.
 * Linked as usual, it would map libcrypto, libzstd and liblzma into every
 * vfiod at start (1.4 MiB of RSS measured with `vfiod --version`).
 * libkmod's header gives the types; its functions are called through the
 * table, one field per function of that function's own type.
 */
#pragma once

#include <libkmod.h>

#define VFD_KMOD_SONAME "libkmod.so.2"
#define VFD_KMOD_PACKAGE "libkmod2"

/* every libkmod function vfiod calls */
#define VFD_KMOD_FUNCTIONS(X)              \
	X(kmod_new)                        \
	X(kmod_unref)                      \
	X(kmod_set_log_priority)           \
	X(kmod_list_next)                  \
	X(kmod_module_new_from_lookup)     \
	X(kmod_module_new_from_name)       \
	X(kmod_module_get_module)          \
	X(kmod_module_get_name)            \
	X(kmod_module_get_info)            \
	X(kmod_module_info_get_key)        \
	X(kmod_module_info_get_value)      \
	X(kmod_module_info_free_list)      \
	X(kmod_module_unref)               \
	X(kmod_module_unref_list)

typedef struct vfd_kmod {
#define VFD_KMOD_FIELD(f) __typeof__(f) *f;
	VFD_KMOD_FUNCTIONS(VFD_KMOD_FIELD)
#undef VFD_KMOD_FIELD
} vfd_kmod;

/*
 * The table, libkmod.so.2 loaded on the first call (thread-safe; valid for
 * the life of the process). Errors as vfd_dl_open(): -ENOPKG, -ENOSYS,
 * with a sentence in *error_message (may be NULL).
 */
int vfd_kmod_load(const vfd_kmod **ret, char **error_message);
