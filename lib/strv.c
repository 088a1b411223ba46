/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* NULL-terminated string arrays ("strv"), as returned by vfd_root_list_dir(). */
#include <string.h>

#include "vfd-internal.h"
#include "vfiod/inventory.h"

char **vfd_strv_free(char **l)
{
	char **p;

	if (!l)
		return NULL;
	for (p = l; *p; p++)
		free(*p);
	free(l);
	return NULL;
}

size_t vfd_strv_length(char *const *l)
{
	size_t n = 0;

	if (!l)
		return 0;
	while (l[n])
		n++;
	return n;
}

int vfd_strv_push(char ***l, size_t *n, char *s)
{
	char **nl;

	if (!s)
		return -EINVAL;
	nl = realloc(*l, (*n + 2) * sizeof(char *));
	if (!nl) {
		free(s);
		return -ENOMEM;
	}
	nl[(*n)++] = s;
	nl[*n] = NULL;
	*l = nl;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void vfd_strv_sort(char **l)
{
	size_t n = vfd_strv_length(l);

	if (n > 1)
		qsort(l, n, sizeof(char *), cmp_str);
}
