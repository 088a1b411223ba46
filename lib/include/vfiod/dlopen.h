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
 * --libvirt, vfiod's libvirt events) and lib/xml-untrusted.c (libxml2.so.2:
 * domain XML). lib/dlopen.c is the one file that calls dlopen()
 * (tests/unit/test-header-walls.sh).
 */
#pragma once

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

/* 1 when soname is mapped into this process, 0 when not (for tests and benchmarks) */
int vfd_dl_is_loaded(const char *soname);
