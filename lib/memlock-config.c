/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Configuration of the memlock model: the precise policy's headroom and
 * the per-type budgets of mediated devices, and which libvirt formula the
 * libvirt policy reproduces. The file format is small on purpose: one
 * "key = value" per line, documented in docs/memlock.md.
 */
#include <errno.h>
#include <string.h>

#include "memlock-internal.h"

#define streq(a, b) (strcmp((a), (b)) == 0)

int vfd_memlock_config_new(vfd_memlock_config **ret)
{
	vfd_memlock_config *cfg;

	if (!ret)
		return -EINVAL;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return -ENOMEM;
	cfg->headroom_bytes = VFD_MEMLOCK_DEFAULT_HEADROOM_BYTES;
	cfg->mdev_default_budget_bytes = VFD_MEMLOCK_DEFAULT_MDEV_BUDGET_BYTES;
	cfg->libvirt_compat = VFD_MEMLOCK_LIBVIRT_9_0;
	*ret = cfg;
	return 0;
}

vfd_memlock_config *vfd_memlock_config_free(vfd_memlock_config *cfg)
{
	if (!cfg)
		return NULL;
	for (size_t i = 0; i < cfg->n_mdev_budgets; i++)
		free(cfg->mdev_budgets[i].mdev_type);
	free(cfg->mdev_budgets);
	free(cfg);
	return NULL;
}

int vfd_memlock_config_set_mdev_budget(vfd_memlock_config *cfg, const char *mdev_type, uint64_t bytes)
{
	vfd_memlock_mdev_budget *a;
	char *t;

	if (!cfg || !mdev_type || !*mdev_type)
		return -EINVAL;
	for (size_t i = 0; i < cfg->n_mdev_budgets; i++)
		if (streq(cfg->mdev_budgets[i].mdev_type, mdev_type)) {
			cfg->mdev_budgets[i].bytes = bytes;
			return 0;
		}
	if (cfg->n_mdev_budgets >= SIZE_MAX / sizeof(*a) - 1)
		return -ENOMEM;
	t = strdup(mdev_type);
	if (!t)
		return -ENOMEM;
	a = realloc(cfg->mdev_budgets, (cfg->n_mdev_budgets + 1) * sizeof(*a));
	if (!a) {
		free(t);
		return -ENOMEM;
	}
	cfg->mdev_budgets = a;
	cfg->mdev_budgets[cfg->n_mdev_budgets++] = (vfd_memlock_mdev_budget){ .mdev_type = t, .bytes = bytes };
	return 0;
}

uint64_t vfd_memlock_config_mdev_budget(const vfd_memlock_config *cfg, const char *mdev_type)
{
	if (mdev_type)
		for (size_t i = 0; i < cfg->n_mdev_budgets; i++)
			if (streq(cfg->mdev_budgets[i].mdev_type, mdev_type))
				return cfg->mdev_budgets[i].bytes;
	return cfg->mdev_default_budget_bytes;
}

int vfd_memlock_parse_size(const char *s, uint64_t *ret_bytes)
{
	char number[32], unit[8];
	size_t i = 0, j = 0;
	const char *p = s;

	if (!s || !ret_bytes)
		return -EINVAL;
	while (*p == ' ' || *p == '\t')
		p++;
	while (*p >= '0' && *p <= '9') {
		if (i + 1 >= sizeof(number))
			return -ERANGE;
		number[i++] = *p++;
	}
	number[i] = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) {
		if (j + 1 >= sizeof(unit))
			return -EINVAL;
		unit[j++] = *p++;
	}
	unit[j] = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	if (i == 0 || *p)
		return -EINVAL;

	/* the domain XML units, but a bare number is bytes in a config file */
	return vfd_domain_scale_to_bytes(number, unit, 1, UINT64_MAX, ret_bytes);
}

static char *strip(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int parse_line(vfd_memlock_config *cfg, char *line, unsigned lineno, char **error_message)
{
	char *eq, *key, *value, *type = NULL;
	uint64_t bytes;
	int r;

	eq = strchr(line, '=');
	if (!eq)
		return vfd_error_setf(error_message, -EINVAL, "line %u: expected 'key = value'", lineno);
	*eq = '\0';
	key = strip(line);
	value = strip(eq + 1);

	if (strncmp(key, "mdev-budget", 11) == 0 && (key[11] == ' ' || key[11] == '\t')) {
		type = strip(key + 11);
		if (!*type || strpbrk(type, " \t"))
			return vfd_error_setf(error_message, -EINVAL, "line %u: 'mdev-budget TYPE = SIZE' needs one TYPE",
						lineno);
		key = (char *)"mdev-budget";
	}

	if (streq(key, "libvirt-compat")) {
		r = vfd_memlock_libvirt_compat_from_string(value);
		if (r < 0)
			return vfd_error_setf(error_message, -EINVAL,
						"line %u: libvirt-compat is '9.0' or 'later', not '%s'", lineno, value);
		cfg->libvirt_compat = (vfd_memlock_libvirt_compat)r;
		return 0;
	}

	if (!streq(key, "headroom") && !streq(key, "mdev-default-budget") && !streq(key, "mdev-budget"))
		return vfd_error_setf(error_message, -EINVAL, "line %u: unknown key '%s'", lineno, key);
	r = vfd_memlock_parse_size(value, &bytes);
	if (r < 0)
		return vfd_error_setf(error_message, r, "line %u: '%s' is not a size", lineno, value);

	if (streq(key, "headroom"))
		cfg->headroom_bytes = bytes;
	else if (streq(key, "mdev-default-budget"))
		cfg->mdev_default_budget_bytes = bytes;
	else {
		r = vfd_memlock_config_set_mdev_budget(cfg, type, bytes);
		if (r < 0)
			return vfd_error_setf(error_message, r, "line %u: cannot store the budget", lineno);
	}
	return 0;
}

int vfd_memlock_config_parse(vfd_memlock_config *cfg, const char *text, size_t size, char **error_message)
{
	_cleanup_free_ char *copy = NULL;
	char *line, *next;
	unsigned lineno = 0;
	int r;

	if (!cfg || (!text && size > 0))
		return vfd_error_setf(error_message, -EINVAL, "invalid arguments");
	if (memchr(text, '\0', size))
		return vfd_error_setf(error_message, -EBADMSG, "the configuration contains a NUL byte");
	copy = strndup(text ? text : "", size);
	if (!copy)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");

	for (line = copy; line; line = next) {
		char *s;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		s = strip(line);
		if (!*s || *s == '#')
			continue;
		r = parse_line(cfg, s, lineno, error_message);
		if (r < 0)
			return r;
	}
	return 0;
}
