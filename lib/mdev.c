/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Mediated devices: parents (sys/class/mdev_bus/<parent>), the types they
 * offer (<parent>/mdev_supported_types/<type>) and the instances that
 * exist (sys/bus/mdev/devices/<uuid>, a directory below its parent).
 */
#include <string.h>
#include <sys/stat.h>

#include "vfd-internal.h"
#include "vfiod/inventory.h"

#define MDEV_BUS_CLASS_DIR "sys/class/mdev_bus"
#define MDEV_DEVICES_DIR "sys/bus/mdev/devices"

static vfd_mdev_type *mdev_type_free(vfd_mdev_type *t)
{
	if (!t)
		return NULL;
	free(t->id);
	free(t->parent);
	free(t->name);
	free(t->description);
	free(t->device_api);
	free(t);
	return NULL;
}
VFD_DEFINE_CLEANUP(vfd_mdev_type, mdev_type_free)

vfd_mdev_parent *vfd_mdev_parent_free(vfd_mdev_parent *p)
{
	size_t i;

	if (!p)
		return NULL;
	for (i = 0; i < p->n_types; i++)
		mdev_type_free(p->types[i]);
	free(p->types);
	free(p->name);
	free(p->bus);
	free(p->driver);
	free(p);
	return NULL;
}

VFD_DEFINE_ARRAY_FREE(vfd_mdev_parent_array_free, vfd_mdev_parent, vfd_mdev_parent_free)

vfd_mdev *vfd_mdev_free(vfd_mdev *m)
{
	if (!m)
		return NULL;
	free(m->type_id);
	free(m->parent);
	free(m->driver);
	free(m);
	return NULL;
}

VFD_DEFINE_ARRAY_FREE(vfd_mdev_array_free, vfd_mdev, vfd_mdev_free)

static int read_string_optional(vfd_context *ctx, const char *dir, const char *attr, char **ret)
{
	char path[VFD_PATH_MAX];
	char *s = NULL;
	int r;

	r = vfd_pathf(path, sizeof(path), "%s/%s", dir, attr);
	if (r < 0)
		return r;
	r = vfd_root_read_string(ctx, path, &s);
	if (r < 0 && r != -ENOENT)
		return r;
	*ret = s;
	return 0;
}

static int read_link_basename_optional(vfd_context *ctx, const char *dir, const char *link,
				       char **ret)
{
	char path[VFD_PATH_MAX];
	char *s = NULL;
	int r;

	r = vfd_pathf(path, sizeof(path), "%s/%s", dir, link);
	if (r < 0)
		return r;
	r = vfd_root_readlink_basename(ctx, path, &s);
	if (r < 0 && r != -ENOENT)
		return r;
	*ret = s;
	return 0;
}

static int mdev_type_load(vfd_context *ctx, const char *parent, const char *id,
			  vfd_mdev_type **ret)
{
	_cleanup_(mdev_type_freep) vfd_mdev_type *t = NULL;
	char dir[VFD_PATH_MAX], path[VFD_PATH_MAX];
	uint64_t available;
	int r;

	r = vfd_pathf(dir, sizeof(dir), MDEV_BUS_CLASS_DIR "/%s/mdev_supported_types/%s",
		      parent, id);
	if (r < 0)
		return r;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->id = strdup(id);
	t->parent = strdup(parent);
	if (!t->id || !t->parent)
		return -ENOMEM;

	/* mdev core always creates device_api and available_instances */
	r = vfd_pathf(path, sizeof(path), "%s/device_api", dir);
	if (r < 0)
		return r;
	r = vfd_root_read_string(ctx, path, &t->device_api);
	if (r < 0)
		return r;
	r = vfd_pathf(path, sizeof(path), "%s/available_instances", dir);
	if (r < 0)
		return r;
	r = vfd_root_read_u64(ctx, path, &available);
	if (r < 0)
		return r;
	if (available > UINT32_MAX)
		return -ERANGE;
	t->available_instances = (unsigned)available;

	/* description only exists when the driver has show_description */
	r = read_string_optional(ctx, dir, "name", &t->name);
	if (r < 0)
		return r;
	r = read_string_optional(ctx, dir, "description", &t->description);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(t);
	return 0;
}

/*
 * The bus of a device is the basename of its subsystem link when that
 * points into bus/; a class device (mtty's parent is one) has no bus.
 */
static int read_parent_bus(vfd_context *ctx, const char *dir, char **ret)
{
	_cleanup_free_ char *target = NULL;
	char path[VFD_PATH_MAX];
	char *slash, *bus;
	int r;

	r = vfd_pathf(path, sizeof(path), "%s/subsystem", dir);
	if (r < 0)
		return r;
	r = vfd_root_readlink(ctx, path, &target);
	if (r < 0 && r != -ENOENT)
		return r;

	bus = NULL;
	if (target) {
		slash = strrchr(target, '/');
		if (slash && slash[1] != '\0') {
			*slash = '\0';
			bus = slash + 1;
			/* the component before the name must be "bus" */
			slash = strrchr(target, '/');
			if (strcmp(slash ? slash + 1 : target, "bus") != 0)
				bus = NULL;
		}
	}

	bus = strdup(bus ? bus : "");
	if (!bus)
		return -ENOMEM;
	*ret = bus;
	return 0;
}

int vfd_mdev_parent_load(vfd_context *ctx, const char *name, vfd_mdev_parent **ret)
{
	_cleanup_(vfd_mdev_parent_freep) vfd_mdev_parent *p = NULL;
	_cleanup_(vfd_strv_freep) char **type_ids = NULL;
	char dir[VFD_PATH_MAX], path[VFD_PATH_MAX];
	size_t i, n;
	int r;

	if (!ctx || !ret || !vfd_name_is_component(name))
		return -EINVAL;

	r = vfd_pathf(dir, sizeof(dir), MDEV_BUS_CLASS_DIR "/%s", name);
	if (r < 0)
		return r;
	r = vfd_root_exists(ctx, dir);
	if (r < 0)
		return r;
	if (r == 0)
		return -ENODEV;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->name = strdup(name);
	if (!p->name)
		return -ENOMEM;
	r = read_parent_bus(ctx, dir, &p->bus);
	if (r < 0)
		return r;
	r = read_link_basename_optional(ctx, dir, "driver", &p->driver);
	if (r < 0)
		return r;

	r = vfd_pathf(path, sizeof(path), "%s/mdev_supported_types", dir);
	if (r < 0)
		return r;
	r = vfd_root_list_dir(ctx, path, &type_ids);
	if (r == -ENOENT)
		return -ENODEV; /* unregistered as a parent while we looked */
	if (r < 0)
		return r;
	n = vfd_strv_length(type_ids);

	p->types = calloc(n + 1, sizeof(*p->types));
	if (!p->types)
		return -ENOMEM;
	/* listing is sorted, so are the types */
	for (i = 0; i < n; i++) {
		r = mdev_type_load(ctx, name, type_ids[i], &p->types[p->n_types]);
		if (r < 0)
			return r;
		p->n_types++;
	}

	*ret = TAKE_PTR(p);
	return 0;
}

int vfd_mdev_parent_enumerate(vfd_context *ctx, vfd_mdev_parent ***ret, size_t *ret_n)
{
	_cleanup_(vfd_strv_freep) char **names = NULL;
	vfd_mdev_parent **a;
	size_t n = 0, i;
	int r;

	if (!ctx || !ret || !ret_n)
		return -EINVAL;

	/* mdev module not loaded: no parents */
	r = vfd_root_list_dir_or_empty(ctx, MDEV_BUS_CLASS_DIR, &names);
	if (r < 0)
		return r;

	a = calloc(vfd_strv_length(names) + 1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	for (i = 0; names[i]; i++) {
		r = vfd_mdev_parent_load(ctx, names[i], &a[n]);
		if (r == -ENODEV)
			continue;
		if (r < 0) {
			vfd_mdev_parent_array_free(a, n);
			return r;
		}
		n++;
	}

	*ret = a;
	*ret_n = n;
	return 0;
}

static bool same_inode(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* 1 when the instance directory lives under sys/class/mdev_bus/<parent>. */
static int mdev_lives_under(vfd_context *ctx, const char *parent, const char *uuid,
			    const struct stat *mdev_st)
{
	char path[VFD_PATH_MAX];
	struct stat st;
	int r;

	if (!vfd_name_is_component(parent))
		return 0;
	r = vfd_pathf(path, sizeof(path), MDEV_BUS_CLASS_DIR "/%s/%s", parent, uuid);
	if (r < 0)
		return r;
	r = vfd_root_stat(ctx, path, &st);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	if (r < 0)
		return r;
	return same_inode(&st, mdev_st);
}

/*
 * The parent is the device whose directory holds the instance's directory.
 * sysfs writes the bus link as "../../../devices/.../<parent>/<uuid>", so
 * the component before the UUID names it; confirm that by inode through
 * sys/class/mdev_bus, and search all parents if the link text misleads.
 */
static int mdev_find_parent(vfd_context *ctx, const char *uuid, char **ret)
{
	_cleanup_(vfd_strv_freep) char **parents = NULL;
	_cleanup_free_ char *target = NULL;
	char path[VFD_PATH_MAX];
	struct stat mdev_st;
	char *slash, *candidate = NULL;
	char **p;
	int r;

	r = vfd_pathf(path, sizeof(path), MDEV_DEVICES_DIR "/%s", uuid);
	if (r < 0)
		return r;
	r = vfd_root_stat(ctx, path, &mdev_st);
	if (r < 0)
		return r;
	r = vfd_root_readlink(ctx, path, &target);
	if (r < 0 && r != -EINVAL) /* -EINVAL: a directory, not a link */
		return r;

	if (target) {
		slash = strrchr(target, '/');
		if (slash) {
			*slash = '\0';
			slash = strrchr(target, '/');
			candidate = slash ? slash + 1 : target;
		}
	}
	if (candidate) {
		r = mdev_lives_under(ctx, candidate, uuid, &mdev_st);
		if (r < 0)
			return r;
		if (r > 0)
			goto found;
	}

	r = vfd_root_list_dir(ctx, MDEV_BUS_CLASS_DIR, &parents);
	if (r < 0)
		return r == -ENOENT ? -EBADMSG : r;
	for (p = parents; *p; p++) {
		r = mdev_lives_under(ctx, *p, uuid, &mdev_st);
		if (r < 0)
			return r;
		if (r > 0) {
			candidate = *p;
			goto found;
		}
	}
	/* an instance whose parent is not an mdev parent: inconsistent sysfs */
	return -EBADMSG;

found:
	candidate = strdup(candidate);
	if (!candidate)
		return -ENOMEM;
	*ret = candidate;
	return 0;
}

int vfd_mdev_load(vfd_context *ctx, const char *uuid, vfd_mdev **ret)
{
	_cleanup_(vfd_mdev_freep) vfd_mdev *m = NULL;
	_cleanup_free_ char *group = NULL;
	char dir[VFD_PATH_MAX], path[VFD_PATH_MAX];
	int r;

	if (!ctx || !ret || vfd_uuid_validate(uuid) < 0)
		return -EINVAL;

	r = vfd_pathf(dir, sizeof(dir), MDEV_DEVICES_DIR "/%s", uuid);
	if (r < 0)
		return r;
	r = vfd_root_exists(ctx, dir);
	if (r < 0)
		return r;
	if (r == 0)
		return -ENODEV;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	memcpy(m->uuid, uuid, sizeof(m->uuid) - 1);
	m->iommu_group = -1;

	r = vfd_pathf(path, sizeof(path), "%s/mdev_type", dir);
	if (r < 0)
		return r;
	r = vfd_root_readlink_basename(ctx, path, &m->type_id);
	if (r < 0)
		return r;
	r = mdev_find_parent(ctx, uuid, &m->parent);
	if (r < 0)
		return r;
	r = read_link_basename_optional(ctx, dir, "driver", &m->driver);
	if (r < 0)
		return r;

	r = read_link_basename_optional(ctx, dir, "iommu_group", &group);
	if (r < 0)
		return r;
	if (group) {
		unsigned id;

		if (vfd_parse_unsigned(group, &id) < 0 || id > INT32_MAX)
			return -EBADMSG;
		m->iommu_group = (int)id;
	}

	*ret = TAKE_PTR(m);
	return 0;
}

int vfd_mdev_enumerate(vfd_context *ctx, vfd_mdev ***ret, size_t *ret_n)
{
	_cleanup_(vfd_strv_freep) char **names = NULL;
	vfd_mdev **a;
	size_t n = 0, i;
	int r;

	if (!ctx || !ret || !ret_n)
		return -EINVAL;

	r = vfd_root_list_dir_or_empty(ctx, MDEV_DEVICES_DIR, &names);
	if (r < 0)
		return r;

	a = calloc(vfd_strv_length(names) + 1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	/* sorted listing of canonical lower-case UUIDs: sorted by UUID */
	for (i = 0; names[i]; i++) {
		if (vfd_uuid_validate(names[i]) < 0)
			continue;
		r = vfd_mdev_load(ctx, names[i], &a[n]);
		if (r == -ENODEV)
			continue; /* removed while we listed */
		if (r < 0) {
			vfd_mdev_array_free(a, n);
			return r;
		}
		n++;
	}

	*ret = a;
	*ret_n = n;
	return 0;
}
