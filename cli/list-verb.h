/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "output.h"

/*
 * The body of a list verb without arguments: calls MEMBER on the Manager,
 * prints its records as a table of COLUMNS or as JSON, and reports a
 * failure as "WHAT: ..." on stderr. Returns the exit status.
 */
int list_verb_run(const char *member, const char *what, const Column *columns, size_t n_columns);
