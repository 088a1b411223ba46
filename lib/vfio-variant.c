/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Choosing the VFIO driver of a PCI function: vfio-pci or a variant driver
 * found by its vfio_pci: alias. The rules are in
 * lib/include/vfiod/vfio-variant.h.
 *
 * libkmod reads the module directory itself, with plain paths under the
 * context's root: it is the index reader modprobe uses, and it resolves
 * aliases with the kernel's wildcard rules. The device side (modalias,
 * driver registration) goes through the root-relative layer as usual.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "vfd-internal.h"
#include "vfiod/kmod-dl.h"
#include "vfiod/vfio-variant.h"

#define VFIO_ALIAS_PREFIX "vfio_pci:"

/* libkmod's functions, loaded by kmod_open() (vfiod/kmod-dl.h); every other use follows one */
static const vfd_kmod *km;

/* kmod_list_foreach() through the table */
#define KM_LIST_FOREACH(e, list) for ((e) = (list); (e); (e) = km->kmod_list_next((list), (e)))

static const char *const choice_source_names[_VFD_VFIO_CHOICE_SOURCE_MAX] = {
	[VFD_VFIO_CHOICE_EXPLICIT] = "explicit",
	[VFD_VFIO_CHOICE_ALIAS] = "alias",
	[VFD_VFIO_CHOICE_FALLBACK] = "fallback",
};

const char *vfd_vfio_choice_source_to_string(vfd_vfio_choice_source s)
{
	if ((unsigned)s >= _VFD_VFIO_CHOICE_SOURCE_MAX)
		return NULL;
	return choice_source_names[s];
}

void vfd_vfio_candidates_free(vfd_vfio_candidate *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++) {
		free(c[i].module);
		free(c[i].alias);
	}
	free(c);
}

void vfd_vfio_choice_done(vfd_vfio_choice *c)
{
	if (!c)
		return;
	free(c->driver);
	free(c->module);
	free(c->alias);
	*c = (vfd_vfio_choice){ 0 };
}

bool vfd_module_name_is_valid(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strlen(name);
	if (n == 0 || n > VFD_MODULE_NAME_MAX)
		return false;
	/* no leading '-': the name also becomes a unit instance and an argument */
	if (name[0] == '-')
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

int vfd_vfio_driver_module(const char *driver, char **ret)
{
	char *m;

	if (!vfd_module_name_is_valid(driver) || !ret)
		return -EINVAL;
	m = strdup(driver);
	if (!m)
		return -ENOMEM;
	for (char *p = m; *p; p++)
		if (*p == '-')
			*p = '_';
	*ret = m;
	return 0;
}

/* the name driver_override takes for a module's VFIO driver */
static int module_driver_name(const char *module, char **ret)
{
	char *d = strdup(strcmp(module, VFD_VFIO_PCI_MODULE) == 0 ? VFD_VFIO_PCI_DRIVER : module);

	if (!d)
		return -ENOMEM;
	*ret = d;
	return 0;
}

int vfd_vfio_driver_name(const char *driver, char **ret)
{
	_cleanup_free_ char *module = NULL;
	int r;

	if (!ret)
		return -EINVAL;
	r = vfd_vfio_driver_module(driver, &module);
	if (r < 0)
		return r;
	return module_driver_name(module, ret);
}

static void kmod_unrefp(struct kmod_ctx **k)
{
	if (*k)
		km->kmod_unref(*k);
}

static void kmod_module_list_unrefp(struct kmod_list **l)
{
	if (*l)
		km->kmod_module_unref_list(*l);
}

/*
 * A libkmod context on the running kernel's module directory, no
 * modprobe.d: ROOT/lib/modules/<release>, or, where vfiod's unit hides
 * that (ProtectKernelModules=), the read-only view of it the unit binds
 * to ROOT/run/vfiod-kernel-modules/<release>.
 */
static int kmod_open(vfd_context *ctx, struct kmod_ctx **ret)
{
	static const char *const no_config[] = { NULL };
	static const char *const dirs[] = { "lib/modules", VFD_MODULES_DIR_SANDBOXED };
	_cleanup_free_ char *release = NULL, *dir = NULL;
	const char *root = vfd_context_root(ctx), *base = dirs[0];
	char path[VFD_PATH_MAX];
	struct kmod_ctx *k;
	int r;

	r = vfd_kmod_load(&km, NULL);
	if (r < 0)
		return r;
	r = vfd_root_read_string(ctx, "proc/sys/kernel/osrelease", &release);
	if (r < 0)
		return r;
	if (!vfd_name_is_component(release))
		return -EINVAL;
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
		r = vfd_pathf(path, sizeof(path), "%s/%s/modules.dep.bin", dirs[i], release);
		if (r < 0)
			return r;
		if (vfd_root_exists(ctx, path) > 0) {
			base = dirs[i];
			break;
		}
	}
	if (asprintf(&dir, "%s/%s/%s", strcmp(root, "/") == 0 ? "" : root, base, release) < 0)
		return -ENOMEM;
	k = km->kmod_new(dir, no_config);
	if (!k)
		return -ENOMEM;
	/* the library never prints */
	km->kmod_set_log_priority(k, 0);
	*ret = k;
	return 0;
}

static unsigned count_wildcards(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == '*';
	return n;
}

/*
 * The module's vfio_pci: alias that matches want with the fewest
 * wildcards, from its modinfo. 0 and *ret_alias NULL when none matches
 * (or the module cannot be read: a lookup hit without modinfo).
 */
static int module_best_alias(struct kmod_module *mod, const char *want, char **ret_alias,
			     unsigned *ret_wildcards)
{
	struct kmod_list *info = NULL, *e;
	const char *best = NULL;
	unsigned best_n = 0;
	int r;

	r = km->kmod_module_get_info(mod, &info);
	if (r < 0) {
		*ret_alias = NULL;
		return 0;
	}
	KM_LIST_FOREACH(e, info) {
		const char *key = km->kmod_module_info_get_key(e);
		const char *value = km->kmod_module_info_get_value(e);
		unsigned n;

		if (!key || !value || strcmp(key, "alias") != 0 ||
		    strncmp(value, VFIO_ALIAS_PREFIX, strlen(VFIO_ALIAS_PREFIX)) != 0)
			continue;
		if (fnmatch(value, want, 0) != 0)
			continue;
		n = count_wildcards(value);
		if (!best || n < best_n) {
			best = value;
			best_n = n;
		}
	}
	r = 0;
	if (best) {
		*ret_alias = strdup(best);
		if (!*ret_alias)
			r = -ENOMEM;
		*ret_wildcards = best_n;
	} else
		*ret_alias = NULL;
	km->kmod_module_info_free_list(info);
	return r;
}

static bool candidates_have(const vfd_vfio_candidate *c, size_t n, const char *module)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(c[i].module, module) == 0)
			return true;
	return false;
}

static int cmp_candidates(const void *a, const void *b)
{
	const vfd_vfio_candidate *x = a, *y = b;

	if (x->wildcards != y->wildcards)
		return x->wildcards < y->wildcards ? -1 : 1;
	return strcmp(x->module, y->module);
}

int vfd_vfio_candidates_for_modalias(vfd_context *ctx, const char *modalias,
				     vfd_vfio_candidate **ret, size_t *ret_n)
{
	_cleanup_(kmod_unrefp) struct kmod_ctx *k = NULL;
	_cleanup_(kmod_module_list_unrefp) struct kmod_list *list = NULL;
	_cleanup_free_ char *want = NULL;
	vfd_vfio_candidate *c = NULL;
	struct kmod_list *e;
	size_t n = 0;
	int r;

	if (!ctx || !modalias || !ret || !ret_n)
		return -EINVAL;
	if (strncmp(modalias, "pci:", 4) != 0 || strpbrk(modalias, "*?[\n"))
		return -EINVAL;
	if (asprintf(&want, VFIO_ALIAS_PREFIX "%s", modalias + 4) < 0)
		return -ENOMEM;

	r = kmod_open(ctx, &k);
	if (r < 0)
		return r;
	r = km->kmod_module_new_from_lookup(k, want, &list);
	if (r < 0)
		return r;

	KM_LIST_FOREACH(e, list) {
		struct kmod_module *mod = km->kmod_module_get_module(e);
		_cleanup_free_ char *alias = NULL, *name = NULL;
		vfd_vfio_candidate *nc;
		unsigned wildcards = 0;

		r = module_best_alias(mod, want, &alias, &wildcards);
		if (r >= 0 && !alias && strcmp(km->kmod_module_get_name(mod), VFD_VFIO_PCI_MODULE) == 0) {
			/* vfio-pci built in has no modinfo to read; its alias is known */
			alias = strdup(VFIO_ALIAS_PREFIX "v*d*sv*sd*bc*sc*i*");
			wildcards = 7;
			if (!alias)
				r = -ENOMEM;
		}
		if (r >= 0 && alias && !(name = strdup(km->kmod_module_get_name(mod))))
			r = -ENOMEM;
		km->kmod_module_unref(mod);
		if (r < 0)
			goto fail;
		/* only a vfio_pci: alias makes a VFIO driver, whatever the lookup matched */
		if (!alias)
			continue;
		/* the lookup lists a module once per matching alias; its best is known */
		if (candidates_have(c, n, name))
			continue;

		nc = realloc(c, (n + 1) * sizeof(*c));
		if (!nc) {
			r = -ENOMEM;
			goto fail;
		}
		c = nc;
		c[n++] = (vfd_vfio_candidate){ .module = TAKE_PTR(name), .alias = TAKE_PTR(alias),
					       .wildcards = wildcards };
	}

	if (n > 1)
		qsort(c, n, sizeof(*c), cmp_candidates);
	*ret = c;
	*ret_n = n;
	return 0;
fail:
	vfd_vfio_candidates_free(c, n);
	return r;
}

/* 1: module has a vfio_pci: alias, 0: it has none (or, unless unknown_is_error, is unknown); -ENOENT: unknown */
static int module_vfio_alias(vfd_context *ctx, const char *module, bool unknown_is_error)
{
	_cleanup_(kmod_unrefp) struct kmod_ctx *k = NULL;
	struct kmod_module *mod = NULL;
	struct kmod_list *info = NULL, *e;
	int r, found = 0;

	if (!ctx || !vfd_module_name_is_valid(module))
		return -EINVAL;
	r = kmod_open(ctx, &k);
	if (r < 0)
		return r;
	r = km->kmod_module_new_from_name(k, module, &mod);
	if (r < 0)
		return r;
	r = km->kmod_module_get_info(mod, &info);
	if (r < 0 && unknown_is_error) {
		km->kmod_module_unref(mod);
		return -ENOENT; /* neither a file in modules.dep nor built in */
	}
	if (r >= 0) {
		KM_LIST_FOREACH(e, info) {
			const char *key = km->kmod_module_info_get_key(e);
			const char *value = km->kmod_module_info_get_value(e);

			if (key && value && strcmp(key, "alias") == 0 &&
			    strncmp(value, VFIO_ALIAS_PREFIX, strlen(VFIO_ALIAS_PREFIX)) == 0) {
				found = 1;
				break;
			}
		}
		km->kmod_module_info_free_list(info);
	}
	km->kmod_module_unref(mod);
	return found;
}

int vfd_module_is_vfio_variant(vfd_context *ctx, const char *module)
{
	return module_vfio_alias(ctx, module, false);
}

int vfd_module_vfio_alias_or_unknown(vfd_context *ctx, const char *module)
{
	return module_vfio_alias(ctx, module, true);
}

int vfd_vfio_driver_is_loaded(vfd_context *ctx, const char *driver)
{
	char path[VFD_PATH_MAX];
	int r;

	if (!ctx || !vfd_module_name_is_valid(driver))
		return -EINVAL;
	r = vfd_pathf(path, sizeof(path), "sys/bus/pci/drivers/%s", driver);
	if (r < 0)
		return r;
	return vfd_root_exists(ctx, path);
}

static int choice_set(vfd_vfio_choice *ret, const char *module, vfd_vfio_choice_source source,
		      const char *alias)
{
	vfd_vfio_choice c = { .source = source };
	int r;

	r = module_driver_name(module, &c.driver);
	if (r < 0)
		return r;
	c.module = strdup(module);
	if (alias)
		c.alias = strdup(alias);
	if (!c.module || (alias && !c.alias)) {
		vfd_vfio_choice_done(&c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

int vfd_vfio_driver_choose(vfd_context *ctx, const char *address, const char *requested,
			   vfd_op_error *error, vfd_vfio_choice *ret)
{
	_cleanup_free_ char *modalias = NULL, *want = NULL;
	vfd_vfio_candidate *c = NULL;
	char path[VFD_PATH_MAX];
	size_t n = 0;
	int r;

	if (!ctx || !ret || !vfd_name_is_component(address))
		return vfd_op_error_set(error, -EINVAL, NULL, "invalid arguments");
	if (requested) {
		r = vfd_vfio_driver_module(requested, &want);
		if (r < 0)
			return vfd_op_error_set(error, r, address, "'%.64s' is not a driver name",
						requested);
	}

	r = vfd_pathf(path, sizeof(path), "sys/bus/pci/devices/%s/modalias", address);
	if (r < 0)
		return vfd_op_error_set(error, r, address, "invalid address");
	r = vfd_root_read_string(ctx, path, &modalias);
	if (r < 0 && r != -ENOENT)
		return vfd_op_error_set(error, r, address, "cannot read its modalias: %s", strerror(-r));
	/* a function without modalias (a sparse fixture) matches no alias */

	/* vfio-pci needs no index: named explicitly, it is always a VFIO driver */
	if (want && strcmp(want, VFD_VFIO_PCI_MODULE) == 0) {
		r = choice_set(ret, VFD_VFIO_PCI_MODULE, VFD_VFIO_CHOICE_EXPLICIT, NULL);
		return r < 0 ? vfd_op_error_set(error, r, address, "out of memory") : 0;
	}

	r = modalias ? vfd_vfio_candidates_for_modalias(ctx, modalias, &c, &n) : 0;
	if (r < 0 && want)
		return vfd_op_error_set(error, r, address, "cannot read the kernel's module aliases "
					"to check driver %s: %s", requested, strerror(-r));
	if (r < 0)
		n = 0; /* no index to read: vfio-pci, as on a kernel without variants */

	if (want) {
		size_t i;

		for (i = 0; i < n; i++)
			if (strcmp(c[i].module, want) == 0)
				break;
		if (i == n) {
			vfd_vfio_candidates_free(c, n);
			return vfd_op_error_set(error, -ENOEXEC, address, "%s is not a VFIO driver for "
						"this device (no vfio_pci: alias of its module matches "
						"%s); refused", requested, modalias ? modalias : "its modalias");
		}
		r = choice_set(ret, c[i].module, VFD_VFIO_CHOICE_EXPLICIT, c[i].alias);
	} else if (n > 0 && strcmp(c[0].module, VFD_VFIO_PCI_MODULE) != 0)
		r = choice_set(ret, c[0].module, VFD_VFIO_CHOICE_ALIAS, c[0].alias);
	else
		r = choice_set(ret, VFD_VFIO_PCI_MODULE, VFD_VFIO_CHOICE_FALLBACK, NULL);
	vfd_vfio_candidates_free(c, n);
	if (r < 0)
		return vfd_op_error_set(error, r, address, "out of memory");
	return 0;
}
