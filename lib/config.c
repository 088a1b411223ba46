/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The configuration model and its loading from all sources (lib/include/vfiod/config.h). */
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "config-internal.h"
#include "vfd-internal.h"

const char *vfd_config_source_to_string(vfd_config_source s)
{
	switch (s) {
	case VFD_CONFIG_SOURCE_VFIOD:
		return "vfiod";
	case VFD_CONFIG_SOURCE_MDEVCTL:
		return "mdevctl";
	case VFD_CONFIG_SOURCE_DRIVERCTL:
		return "driverctl";
	}
	return "unknown";
}

void vfd_config_mdev_done(vfd_config_mdev *m)
{
	if (!m)
		return;
	vfd_mdev_attrs_free(m->attrs, m->n_attrs);
	free(m->parent);
	free(m->type);
	free(m->origin);
	m->attrs = NULL;
	m->n_attrs = 0;
	m->parent = m->type = m->origin = NULL;
}

void vfd_config_binding_done(vfd_config_binding *b)
{
	if (!b)
		return;
	free(b->origin);
	free(b->driver);
	b->origin = NULL;
	b->driver = NULL;
}

vfd_config *vfd_config_free(vfd_config *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->n_bindings; i++)
		vfd_config_binding_done(&c->bindings[i]);
	free(c->bindings);
	for (size_t i = 0; i < c->n_mdevs; i++)
		vfd_config_mdev_done(&c->mdevs[i]);
	free(c->mdevs);
	free(c->sriov);
	vfd_strv_free(c->warnings);
	free(c);
	return NULL;
}

int vfd_config_new(vfd_config **ret)
{
	vfd_config *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->import_mdevctl = true;
	c->import_driverctl = true;
	*ret = c;
	return 0;
}

const vfd_config_binding *vfd_config_find_binding(const vfd_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_bindings; i++)
		if (strcmp(c->bindings[i].name, name) == 0)
			return &c->bindings[i];
	return NULL;
}

const vfd_config_mdev *vfd_config_find_mdev(const vfd_config *c, const char *uuid)
{
	for (size_t i = 0; i < c->n_mdevs; i++)
		if (strcasecmp(c->mdevs[i].uuid, uuid) == 0)
			return &c->mdevs[i];
	return NULL;
}

static int warn(vfd_config *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int warn(vfd_config *c, const char *fmt, ...)
{
	char *s;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	return vfd_strv_push(&c->warnings, &c->n_warnings, s);
}

static int warn_op(vfd_config *c, const vfd_op_error *e, int r)
{
	if (r == -ENOMEM)
		return r;
	if (vfd_op_error_is_set(e))
		return warn(c, "%s: %s; ignored", e->subject, e->message);
	return warn(c, "skipped an entry: %s", strerror(-r));
}

static int push_mdev(vfd_config *c, vfd_config_mdev *m)
{
	vfd_config_mdev *a = realloc(c->mdevs, (c->n_mdevs + 1) * sizeof(*a));

	if (!a) {
		vfd_config_mdev_done(m);
		return -ENOMEM;
	}
	c->mdevs = a;
	c->mdevs[c->n_mdevs++] = *m;
	return 0;
}

static int push_binding(vfd_config *c, vfd_config_binding *b)
{
	vfd_config_binding *a = realloc(c->bindings, (c->n_bindings + 1) * sizeof(*a));

	if (!a) {
		vfd_config_binding_done(b);
		return -ENOMEM;
	}
	c->bindings = a;
	c->bindings[c->n_bindings++] = *b;
	return 0;
}


static int import_mdevctl(vfd_context *ctx, vfd_config *c)
{
	_cleanup_(vfd_strv_freep) char **parents = NULL;
	int r;

	r = vfd_root_list_dir_or_empty(ctx, VFD_CONFIG_MDEVCTL, &parents);
	if (r < 0)
		return warn(c, "%s: cannot list: %s", VFD_CONFIG_MDEVCTL, strerror(-r));

	for (size_t i = 0; parents && parents[i]; i++) {
		_cleanup_(vfd_strv_freep) char **uuids = NULL;
		char dir[VFD_PATH_MAX];

		if (vfd_pathf(dir, sizeof(dir), "%s/%s", VFD_CONFIG_MDEVCTL, parents[i]) < 0)
			continue;
		r = vfd_root_list_dir(ctx, dir, &uuids);
		if (r == -ENOTDIR)
			continue; /* a stray file next to the parent folders */
		if (r < 0) {
			r = warn(c, "%s: cannot list: %s", dir, strerror(-r));
			if (r < 0)
				return r;
			continue;
		}

		for (size_t k = 0; uuids[k]; k++) {
			_cleanup_free_ char *text = NULL;
			vfd_op_error e = {};
			vfd_config_mdev m;
			char path[VFD_PATH_MAX];

			if (vfd_pathf(path, sizeof(path), "%s/%s", dir, uuids[k]) < 0)
				continue;
			/* mdevctl leaves editor backups and the like: only UUID names are definitions */
			if (vfd_uuid_validate(uuids[k]) < 0)
				continue;

			r = vfd_root_read_string(ctx, path, &text);
			if (r >= 0)
				r = vfd_config_parse_mdevctl(parents[i], uuids[k], text, path, &e, &m);
			else
				vfd_op_error_set(&e, r, path, "cannot read: %s", strerror(-r));
			if (r < 0) {
				r = warn_op(c, &e, r);
				if (r < 0)
					return r;
				continue;
			}

			if (vfd_config_find_mdev(c, m.uuid)) {
				r = warn(c, "%s: UUID %s is defined already (%s); ignored", path, m.uuid,
					 vfd_config_find_mdev(c, m.uuid)->origin);
				vfd_config_mdev_done(&m);
				if (r < 0)
					return r;
				continue;
			}
			r = push_mdev(c, &m);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int import_driverctl(vfd_context *ctx, vfd_config *c)
{
	_cleanup_(vfd_strv_freep) char **files = NULL;
	int r;

	r = vfd_root_list_dir_or_empty(ctx, VFD_CONFIG_DRIVERCTL, &files);
	if (r < 0)
		return warn(c, "%s: cannot list: %s", VFD_CONFIG_DRIVERCTL, strerror(-r));

	for (size_t i = 0; files && files[i]; i++) {
		_cleanup_free_ char *text = NULL;
		vfd_op_error e = {};
		vfd_config_binding b;
		char path[VFD_PATH_MAX];

		if (vfd_pathf(path, sizeof(path), "%s/%s", VFD_CONFIG_DRIVERCTL, files[i]) < 0)
			continue;

		r = vfd_root_read_string(ctx, path, &text);
		if (r >= 0)
			r = vfd_config_parse_driverctl(files[i], text, path, &e, &b);
		else
			vfd_op_error_set(&e, r, path, "cannot read: %s", strerror(-r));
		if (r < 0) {
			r = warn_op(c, &e, r);
			if (r < 0)
				return r;
			continue;
		}
		if (r == 0)
			continue; /* an override to another driver: driverctl's alone */

		if (vfd_config_find_binding(c, b.name)) {
			vfd_config_binding_done(&b);
			continue; /* vfiod.json names it too: same intent, its options win */
		}
		r = push_binding(c, &b);
		if (r < 0)
			return r;
	}
	return 0;
}

int vfd_config_load(vfd_context *ctx, vfd_op_error *error, vfd_config **ret)
{
	_cleanup_(vfd_config_freep) vfd_config *c = NULL;
	_cleanup_free_ char *text = NULL;
	int r;

	if (!ctx || !ret)
		return -EINVAL;

	r = vfd_config_new(&c);
	if (r < 0)
		return r;

	r = vfd_root_read_string(ctx, VFD_CONFIG_FILE, &text);
	if (r >= 0) {
		r = vfd_config_parse_vfiod(c, text, VFD_CONFIG_FILE, error);
		if (r < 0)
			return r;
	} else if (r != -ENOENT)
		return vfd_op_error_set(error, r, VFD_CONFIG_FILE, "cannot read: %s", strerror(-r));

	if (c->import_mdevctl) {
		r = import_mdevctl(ctx, c);
		if (r < 0)
			return r;
	}
	if (c->import_driverctl) {
		r = import_driverctl(ctx, c);
		if (r < 0)
			return r;
	}

	*ret = TAKE_PTR(c);
	return 0;
}
