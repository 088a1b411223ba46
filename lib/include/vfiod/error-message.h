/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Error sentences next to negative errno values, for the library calls
 * whose callers show a person what was wrong with their input (a domain
 * XML, a config file): the char **error_message convention of
 * domain-xml.h and xml-untrusted.h. Public so that the libvirt hook
 * (cli/libvirt-hook) reports its own failures the same way.
 */
#pragma once

/*
 * When error_message is not NULL, sets *error_message to an allocated
 * sentence (NULL when out of memory) and returns r. The old value is not
 * freed: callers pass a fresh pointer, and on success it stays untouched.
 */
int vfd_error_setf(char **error_message, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
