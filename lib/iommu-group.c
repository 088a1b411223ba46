/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * IOMMU groups from sys/kernel/iommu_groups/N/devices/, with the viability
 * of each member for VFIO (see lib/driver.c for the rule).
 */
#include <stdio.h>
#include <string.h>

#include "vfd-internal.h"
#include "vfiod/inventory.h"

#define IOMMU_GROUPS_DIR "sys/kernel/iommu_groups"

static void group_member_done(vfd_group_member *m)
{
	free(m->name);
	free(m->bus);
	free(m->driver);
	free(m->reason);
}

vfd_iommu_group *vfd_iommu_group_free(vfd_iommu_group *g)
{
	size_t i;

	if (!g)
		return NULL;
	for (i = 0; i < g->n_members; i++)
		group_member_done(&g->members[i]);
	free(g->members);
	free(g);
	return NULL;
}

VFD_DEFINE_ARRAY_FREE(vfd_iommu_group_array_free, vfd_iommu_group, vfd_iommu_group_free)

static int member_load(vfd_context *ctx, const char *group_devices, const char *name,
		       vfd_group_member *ret)
{
	_cleanup_free_ char *bus = NULL, *driver = NULL, *reason = NULL, *dup = NULL;
	char dir[VFD_PATH_MAX], path[VFD_PATH_MAX];
	vfd_member_state state;
	bool is_bridge = false;
	int r;

	r = vfd_pathf(dir, sizeof(dir), "%s/%s", group_devices, name);
	if (r < 0)
		return r;

	/* the bus is the basename of the device's subsystem link: "pci", "mdev", ... */
	r = vfd_pathf(path, sizeof(path), "%s/subsystem", dir);
	if (r < 0)
		return r;
	r = vfd_root_readlink_basename(ctx, path, &bus);
	if (r < 0)
		return r;

	r = vfd_pathf(path, sizeof(path), "%s/driver", dir);
	if (r < 0)
		return r;
	r = vfd_root_readlink_basename(ctx, path, &driver);
	if (r < 0 && r != -ENOENT)
		return r;

	if (strcmp(bus, "pci") == 0) {
		uint64_t class_code;

		r = vfd_pathf(path, sizeof(path), "%s/class", dir);
		if (r < 0)
			return r;
		r = vfd_root_read_u64(ctx, path, &class_code);
		if (r < 0)
			return r;
		r = vfd_pci_dir_is_bridge(ctx, dir, (uint32_t)class_code, &is_bridge);
		if (r < 0)
			return r;
	}

	r = vfd_driver_classify(ctx, bus, driver, &state, &reason);
	if (r < 0)
		return r;

	dup = strdup(name);
	if (!dup)
		return -ENOMEM;

	*ret = (vfd_group_member){
		.name = TAKE_PTR(dup),
		.bus = TAKE_PTR(bus),
		.driver = TAKE_PTR(driver),
		.is_bridge = is_bridge,
		.state = state,
		.viable = state != VFD_MEMBER_HOST_DRIVER,
		.reason = TAKE_PTR(reason),
	};
	return 0;
}

int vfd_iommu_group_load(vfd_context *ctx, unsigned id, vfd_iommu_group **ret)
{
	_cleanup_(vfd_iommu_group_freep) vfd_iommu_group *g = NULL;
	_cleanup_(vfd_strv_freep) char **names = NULL;
	char devices[VFD_PATH_MAX];
	size_t i, n;
	int r;

	if (!ctx || !ret)
		return -EINVAL;

	r = vfd_pathf(devices, sizeof(devices), IOMMU_GROUPS_DIR "/%u/devices", id);
	if (r < 0)
		return r;
	r = vfd_root_list_dir(ctx, devices, &names);
	if (r == -ENOENT)
		return -ENODEV;
	if (r < 0)
		return r;
	n = vfd_strv_length(names);

	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->id = id;
	if (n > 0) {
		g->members = calloc(n, sizeof(*g->members));
		if (!g->members)
			return -ENOMEM;
	}

	/* names come sorted from the listing, so members are sorted by name */
	for (i = 0; i < n; i++) {
		r = member_load(ctx, devices, names[i], &g->members[g->n_members]);
		if (r == -ENOENT) {
			char path[VFD_PATH_MAX];
			int q;

			/* removed from the group while we listed: skip it */
			q = vfd_pathf(path, sizeof(path), "%s/%s", devices, names[i]);
			if (q < 0)
				return q;
			q = vfd_root_exists(ctx, path);
			if (q == 0)
				continue;
		}
		if (r < 0)
			return r;
		g->n_members++;
	}

	/* an empty group has nothing VFIO could open */
	g->viable = g->n_members > 0;
	for (i = 0; i < g->n_members; i++)
		if (!g->members[i].viable)
			g->viable = false;

	*ret = TAKE_PTR(g);
	return 0;
}

static int cmp_group(const void *a, const void *b)
{
	const vfd_iommu_group *const *x = a, *const *y = b;

	return (*x)->id < (*y)->id ? -1 : (*x)->id > (*y)->id;
}

int vfd_iommu_group_enumerate(vfd_context *ctx, vfd_iommu_group ***ret, size_t *ret_n)
{
	_cleanup_(vfd_strv_freep) char **names = NULL;
	vfd_iommu_group **a = NULL;
	size_t n = 0, i;
	int r;

	if (!ctx || !ret || !ret_n)
		return -EINVAL;

	/* no IOMMU (or no iommu_groups support): no groups */
	r = vfd_root_list_dir_or_empty(ctx, IOMMU_GROUPS_DIR, &names);
	if (r < 0)
		return r;

	a = calloc(vfd_strv_length(names) + 1, sizeof(*a));
	if (!a)
		return -ENOMEM;

	for (i = 0; names[i]; i++) {
		unsigned id;

		if (vfd_parse_unsigned(names[i], &id) < 0)
			continue;
		r = vfd_iommu_group_load(ctx, id, &a[n]);
		if (r == -ENODEV)
			continue;
		if (r < 0) {
			vfd_iommu_group_array_free(a, n);
			return r;
		}
		n++;
	}

	/* listing order is "1", "10", "2": sort numerically */
	if (n > 1)
		qsort(a, n, sizeof(*a), cmp_group);
	*ret = a;
	*ret_n = n;
	return 0;
}
