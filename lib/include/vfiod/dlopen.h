/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared libraries that only some code paths need, loaded when one of them
 * runs instead of at every start (lib/dlopen.c). Linked as usual, libvirt's
 * client and libxml2 would be mapped and relocated by every vfioctl and
 * vfiod start, with what they need in turn (libvirt: gnutls, glib, ...;
 * libxml2: ICU and its 30 MiB of data); and a program that does not list
 * them as needed runs where they are not installed (the lab's initramfs).
 *
 * Users: lib/libvirt-dl.c (libvirt.so.0: vfioctl vm add-device|remove-device
 * --libvirt, vfiod's libvirt events), lib/xml-untrusted.c (libxml2.so.2:
 * domain XML) and lib/kmod-dl.c (libkmod.so.2: a VFIO variant driver's
 * module alias). lib/dlopen.c is the one file that calls dlopen()
 * (tests/unit/test-header-walls.sh).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef struct vfd_dl_symbol {
	const char *name;
	void **ret; /* where its address goes: a function pointer of the right type */
} vfd_dl_symbol;

/*
 * Opens soname (once per process: later calls find it loaded; it is never
 * closed) and resolves every symbol. Errors, with a sentence in
 * *error_message that names the library and package: -ENOPKG the library
 * cannot be loaded (not installed, or broken), -ENOSYS it lacks a symbol
 * (an older version). On failure no *ret is written. Thread-safe.
 */
int vfd_dl_open(const char *soname, const char *package, const vfd_dl_symbol *symbols, size_t n,
		char **error_message);

/* A library loaded once: see vfd_dl_load(). */
typedef struct vfd_dl_library {
	const char *soname, *package;
	const vfd_dl_symbol *symbols;
	size_t n;
	bool loaded; /* private to lib/dlopen.c */
} vfd_dl_library;

/*
 * vfd_dl_open() of lib the first time; after a success later calls return
 * 0 at once, after a failure they try again (the package may have been
 * installed since). Thread-safe.
 */
int vfd_dl_load(vfd_dl_library *lib, char **error_message);

/*
 * Defines int fn(const type **ret, char **error_message): the table of
 * type, whose fields are the functions FUNCTIONS(X) lists, resolved from
 * soname by vfd_dl_load(); *ret valid for the life of the process. For the
 * headers that declare such a table (vfiod/libvirt-dl.h, vfiod/kmod-dl.h).
 */
/* one symbol of the table VFD_DL_DEFINE_LOADER() fills */
#define VFD_DL_TABLE_SYMBOL(f) { #f, (void **) &table.f },

#define VFD_DL_DEFINE_LOADER(fn, type, FUNCTIONS, soname, package)               \
	int fn(const type **ret, char **error_message)                            \
	{                                                                         \
		static type table;                                                \
		static const vfd_dl_symbol symbols[] = {                          \
			FUNCTIONS(VFD_DL_TABLE_SYMBOL)                            \
		};                                                                \
		static vfd_dl_library lib = {                                     \
			(soname), (package), symbols,                             \
			sizeof(symbols) / sizeof(symbols[0]), false,              \
		};                                                                \
		int r;                                                            \
                                                                                  \
		if (!ret)                                                         \
			return -EINVAL;                                           \
		r = vfd_dl_load(&lib, error_message);                             \
		if (r < 0)                                                        \
			return r;                                                 \
		*ret = &table;                                                    \
		return 0;                                                         \
	}

/* 1 when soname is mapped into this process, 0 when not (for tests and benchmarks) */
int vfd_dl_is_loaded(const char *soname);
