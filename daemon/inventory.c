/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "inventory.h"
#include "inventory-names.h"
#include "log.h"

/* names noted stale since the last refresh, without repeats */
typedef struct NameSet {
	char **names;
	size_t n, allocated;
} NameSet;

typedef struct GroupSet {
	unsigned *ids;
	size_t n, allocated;
} GroupSet;

/* an inotify watch of one function's driver_override */
typedef struct OverrideWatch {
	int wd;
	vfd_pci_address address;
} OverrideWatch;

struct Inventory {
	vfd_context *ctx;
	bool direct;

	/*
	 * The kernel sends no uevent when driver_override is written: the
	 * write itself is watched (inotify: every write() notifies, sysfs
	 * attributes too). -1 when not watching (fixture root, direct mode).
	 */
	int inotify_fd;
	OverrideWatch *watches; /* sorted by wd */
	size_t n_watches;

	/* each sorted as libvfiod's *_enumerate() sorts it; NULL-terminated */
	vfd_pci_device **devices;
	size_t n_devices;
	vfd_iommu_group **groups;
	size_t n_groups;
	vfd_mdev_parent **parents;
	size_t n_parents;
	vfd_mdev **mdevs;
	size_t n_mdevs;

	/* stale since the last refresh */
	bool stale_all; /* read everything: at start, after lost events, after a failed re-read */
	NameSet stale_pci, stale_mdevs, stale_parents;
	GroupSet stale_groups;

	/* no uevents (a fixture root): vfiod's own writes are the changes */
	unsigned long writes_seen;
	bool watch_writes;

	unsigned long generation;

	InventoryNames *names; /* the functions' names, copied (inventory-names.h) */
};

/* ---- stale sets ---- */

static void name_set_clear(NameSet *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->names[i]);
	s->n = 0;
}

static void name_set_done(NameSet *s)
{
	name_set_clear(s);
	free(s->names);
	*s = (NameSet) {};
}

/* a failed allocation loses a name: the caller falls back to stale_all */
static int name_set_add(NameSet *s, const char *name)
{
	char *copy;

	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return 0;

	if (s->n == s->allocated) {
		size_t want = s->allocated ? s->allocated * 2 : 16;
		char **nn = realloc(s->names, want * sizeof(*nn));

		if (!nn)
			return -ENOMEM;
		s->names = nn;
		s->allocated = want;
	}
	copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	s->names[s->n++] = copy;
	return 0;
}

static int group_set_add(GroupSet *s, int id)
{
	if (id < 0)
		return 0; /* no group */
	for (size_t i = 0; i < s->n; i++)
		if (s->ids[i] == (unsigned) id)
			return 0;

	if (s->n == s->allocated) {
		size_t want = s->allocated ? s->allocated * 2 : 16;
		unsigned *ni = realloc(s->ids, want * sizeof(*ni));

		if (!ni)
			return -ENOMEM;
		s->ids = ni;
		s->allocated = want;
	}
	s->ids[s->n++] = (unsigned) id;
	return 0;
}

static void note_failed(Inventory *inv, int r)
{
	if (r < 0)
		inv->stale_all = true;
}

/*
 * Names noted between two queries are bounded: a host where nobody asks
 * (mdevs with new UUIDs, cdevs with new numbers, created and removed for
 * weeks) would otherwise grow the sets without end. Past the bound, or once
 * everything is to be read again anyway, the names are not kept.
 */
#define STALE_NAMES_MAX 128

static void clear_stale_names(Inventory *inv);

static void note_name(Inventory *inv, NameSet *set, const char *name)
{
	if (inv->stale_all)
		return;
	if (set->n >= STALE_NAMES_MAX) {
		inv->stale_all = true;
		clear_stale_names(inv);
		return;
	}
	note_failed(inv, name_set_add(set, name));
}

/* ---- the arrays: sorted, NULL-terminated, one spare slot ---- */

/*
 * Puts item at index i of a (replacing when found, inserting otherwise),
 * or removes index i when item is NULL and found. free_fn frees what is
 * replaced or removed.
 */
static int array_put(void ***a, size_t *n, size_t i, bool found, void *item,
		     void *(*free_fn)(void *))
{
	if (found) {
		free_fn((*a)[i]);
		if (item) {
			(*a)[i] = item;
			return 0;
		}
		memmove(*a + i, *a + i + 1, (*n - i) * sizeof(void *)); /* with the NULL */
		(*n)--;
		return 0;
	}

	if (!item)
		return 0;

	void **na = realloc(*a, (*n + 2) * sizeof(void *));
	if (!na)
		return -ENOMEM;
	if (!*a)
		na[0] = NULL; /* a new array: its terminator */
	*a = na;
	memmove(*a + i + 1, *a + i, (*n - i + 1) * sizeof(void *));
	(*a)[i] = item;
	(*n)++;
	return 0;
}

/* lower bound of key in a sorted array; *ret_found when equal */
#define LOWER_BOUND(a, n, cmp_key, key, ret_found)                      \
	({                                                              \
		size_t _lo = 0, _hi = (n);                              \
		*(ret_found) = false;                                   \
		while (_lo < _hi) {                                     \
			size_t _mid = _lo + (_hi - _lo) / 2;            \
			int _c = cmp_key((a)[_mid], key);               \
			if (_c == 0) {                                  \
				*(ret_found) = true;                    \
				_lo = _mid;                             \
				break;                                  \
			}                                               \
			if (_c < 0)                                     \
				_lo = _mid + 1;                         \
			else                                            \
				_hi = _mid;                             \
		}                                                       \
		_lo;                                                    \
	})

static int device_cmp_key(const vfd_pci_device *d, const vfd_pci_address *a)
{
	return vfd_pci_address_compare(&d->address, a);
}

static int group_cmp_key(const vfd_iommu_group *g, const unsigned *id)
{
	return g->id < *id ? -1 : g->id > *id;
}

static int parent_cmp_key(const vfd_mdev_parent *p, const char *name)
{
	return strcmp(p->name, name);
}

static int mdev_cmp_key(const vfd_mdev *m, const char *uuid)
{
	return strcmp(m->uuid, uuid);
}

static void *device_free_any(void *p) { return vfd_pci_device_free(p); }
static void *group_free_any(void *p) { return vfd_iommu_group_free(p); }
static void *parent_free_any(void *p) { return vfd_mdev_parent_free(p); }
static void *mdev_free_any(void *p) { return vfd_mdev_free(p); }

static void drop_all(Inventory *inv)
{
	vfd_pci_device_array_free(inv->devices, inv->n_devices);
	vfd_iommu_group_array_free(inv->groups, inv->n_groups);
	vfd_mdev_parent_array_free(inv->parents, inv->n_parents);
	vfd_mdev_array_free(inv->mdevs, inv->n_mdevs);
	inv->devices = NULL;
	inv->groups = NULL;
	inv->parents = NULL;
	inv->mdevs = NULL;
	inv->n_devices = inv->n_groups = inv->n_parents = inv->n_mdevs = 0;
}

Inventory *inventory_free(Inventory *inv)
{
	if (!inv)
		return NULL;
	drop_all(inv);
	name_set_done(&inv->stale_pci);
	name_set_done(&inv->stale_mdevs);
	name_set_done(&inv->stale_parents);
	free(inv->stale_groups.ids);
	if (inv->inotify_fd >= 0)
		close(inv->inotify_fd);
	free(inv->watches);
	inventory_names_free(inv->names);
	free(inv);
	return NULL;
}

int inventory_new(vfd_context *ctx, bool direct, Inventory **ret)
{
	Inventory *inv;

	inv = calloc(1, sizeof(*inv));
	if (!inv)
		return -ENOMEM;
	if (inventory_names_new(vfd_context_root(ctx), &inv->names) < 0) {
		free(inv);
		return -ENOMEM;
	}
	inv->ctx = ctx;
	inv->direct = direct;
	inv->stale_all = true;
	inv->inotify_fd = -1;
	/* a fixture root has no uevents; the real one has them (manager.c) */
	inv->watch_writes = vfd_context_root(ctx) && strcmp(vfd_context_root(ctx), "/") != 0;
	*ret = inv;
	return 0;
}

/* ---- driver_override writes (inotify) ---- */

int inventory_watch_overrides(Inventory *inv)
{
	if (inv->inotify_fd >= 0)
		return 0;
	inv->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (inv->inotify_fd < 0)
		return negative_errno();
	inv->stale_all = true; /* watches are set while reading */
	return 0;
}

static size_t watch_lower_bound(const Inventory *inv, int wd, bool *ret_found)
{
	size_t lo = 0, hi = inv->n_watches;

	*ret_found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (inv->watches[mid].wd == wd) {
			*ret_found = true;
			return mid;
		}
		if (inv->watches[mid].wd < wd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void watch_forget(Inventory *inv, size_t i)
{
	memmove(inv->watches + i, inv->watches + i + 1,
		(inv->n_watches - i - 1) * sizeof(*inv->watches));
	inv->n_watches--;
}

static void unwatch_device(Inventory *inv, const vfd_pci_address *a)
{
	for (size_t i = 0; i < inv->n_watches;)
		if (vfd_pci_address_compare(&inv->watches[i].address, a) == 0) {
			(void) inotify_rm_watch(inv->inotify_fd, inv->watches[i].wd);
			watch_forget(inv, i);
		} else
			i++;
}

/*
 * Without a watch on every driver_override (inotify's limits reached,
 * ENOSPC, or any other failure), a write there would go unseen: the copy cannot be trusted, so
 * every query reads afresh, as vfiod did before it kept one.
 */
static void give_up_watching(Inventory *inv, int error)
{
	(void) log_warning_errno(error, "Cannot watch every driver_override (%m); "
				 "reading the inventory afresh on every call from now on.");
	close(inv->inotify_fd);
	inv->inotify_fd = -1;
	free(inv->watches);
	inv->watches = NULL;
	inv->n_watches = 0;
	inv->direct = true;
	inv->stale_all = true;
}

static int watch_device(Inventory *inv, const vfd_pci_device *d)
{
	_cleanup_close_ int fd = -1;
	char path[VFD_PCI_ADDRESS_STRLEN + 64], self[64];
	OverrideWatch *nw;
	bool found;
	size_t i;
	int wd;

	if (inv->inotify_fd < 0)
		return 0;

	/* the attribute found through the root layer; inotify gets that very inode */
	snprintf(path, sizeof(path), "sys/bus/pci/devices/%s/driver_override", d->name);
	fd = vfd_root_open(inv->ctx, path, O_PATH);
	if (fd == -ENOENT)
		return 0; /* no override attribute, or gone already: its removal re-reads it */
	if (fd < 0)
		return fd;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	wd = inotify_add_watch(inv->inotify_fd, self, IN_MODIFY);
	if (wd < 0)
		return negative_errno();

	/* the same inode gives the same wd: watched once */
	i = watch_lower_bound(inv, wd, &found);
	if (found) {
		inv->watches[i].address = d->address;
		return 0;
	}
	nw = realloc(inv->watches, (inv->n_watches + 1) * sizeof(*nw));
	if (!nw) {
		(void) inotify_rm_watch(inv->inotify_fd, wd);
		return -ENOMEM;
	}
	inv->watches = nw;
	memmove(nw + i + 1, nw + i, (inv->n_watches - i) * sizeof(*nw));
	nw[i] = (OverrideWatch) { .wd = wd, .address = d->address };
	inv->n_watches++;
	return 0;
}

/* after reading everything: a watch for each function, none for the gone */
static int watch_all(Inventory *inv)
{
	int r;

	if (inv->inotify_fd < 0)
		return 0;

	for (size_t i = 0; i < inv->n_devices; i++) {
		r = watch_device(inv, inv->devices[i]);
		if (r < 0) {
			give_up_watching(inv, r);
			return 0;
		}
	}
	for (size_t i = 0; i < inv->n_watches;) {
		bool found;

		(void) LOWER_BOUND(inv->devices, inv->n_devices, device_cmp_key,
				   &inv->watches[i].address, &found);
		if (found) {
			i++;
			continue;
		}
		(void) inotify_rm_watch(inv->inotify_fd, inv->watches[i].wd);
		watch_forget(inv, i);
	}
	return 0;
}

/* the writes of driver_override since the last query: their functions are stale */
static void drain_override_writes(Inventory *inv)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	if (inv->inotify_fd < 0)
		return;

	for (;;) {
		ssize_t n = read(inv->inotify_fd, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				inv->stale_all = true;
			return;
		}

		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *) p;
			bool found;
			size_t i;

			p += sizeof(*e) + e->len;
			if (e->mask & IN_Q_OVERFLOW) {
				inv->stale_all = true;
				continue;
			}
			i = watch_lower_bound(inv, e->wd, &found);
			if (!found)
				continue;
			if (e->mask & IN_IGNORED) {
				watch_forget(inv, i);
				continue;
			}
			if (e->mask & IN_MODIFY) {
				char name[VFD_PCI_ADDRESS_STRLEN];

				note_failed(inv, name_set_add(&inv->stale_pci,
							      vfd_pci_address_format(&inv->watches[i].address, name)));
			}
		}
	}
}

/* ---- notes ---- */

void inventory_note_pci(Inventory *inv, const char *address)
{
	vfd_pci_address a;

	/* sysfs names every function canonically; anything else is not one */
	if (vfd_pci_address_parse(address, &a) < 0)
		return;
	note_name(inv, &inv->stale_pci, address);
}

void inventory_note_mdev(Inventory *inv, const char *uuid)
{
	if (vfd_uuid_validate(uuid) < 0)
		return;
	note_name(inv, &inv->stale_mdevs, uuid);
}

void inventory_note_group(Inventory *inv, const char *number)
{
	unsigned id;
	char *end;

	errno = 0;
	id = (unsigned) strtoul(number, &end, 10);
	if (errno != 0 || end == number || *end != '\0' || id > INT32_MAX || inv->stale_all)
		return;
	note_failed(inv, group_set_add(&inv->stale_groups, (int) id));
}

void inventory_note_other(Inventory *inv, const char *sysname)
{
	if (!vfd_device_name_is_valid(sysname))
		return;
	note_name(inv, &inv->stale_parents, sysname);
}

void inventory_note_all(Inventory *inv)
{
	inv->stale_all = true;
}

/* ---- re-reading ---- */

static int read_everything(Inventory *inv)
{
	vfd_pci_device **devices = NULL;
	vfd_iommu_group **groups = NULL;
	vfd_mdev_parent **parents = NULL;
	vfd_mdev **mdevs = NULL;
	size_t n_devices = 0, n_groups = 0, n_parents = 0, n_mdevs = 0;
	int r;

	r = vfd_pci_device_enumerate(inv->ctx, &devices, &n_devices);
	if (r >= 0)
		r = vfd_iommu_group_enumerate(inv->ctx, &groups, &n_groups);
	if (r >= 0)
		r = vfd_mdev_parent_enumerate(inv->ctx, &parents, &n_parents);
	if (r >= 0)
		r = vfd_mdev_enumerate(inv->ctx, &mdevs, &n_mdevs);
	if (r < 0) {
		vfd_pci_device_array_free(devices, n_devices);
		vfd_iommu_group_array_free(groups, n_groups);
		vfd_mdev_parent_array_free(parents, n_parents);
		vfd_mdev_array_free(mdevs, n_mdevs);
		return r;
	}

	drop_all(inv);
	inv->devices = devices;
	inv->n_devices = n_devices;
	inv->groups = groups;
	inv->n_groups = n_groups;
	inv->parents = parents;
	inv->n_parents = n_parents;
	inv->mdevs = mdevs;
	inv->n_mdevs = n_mdevs;
	return watch_all(inv);
}

/* one function again, and the stale marks of what its change touches */
static int reread_device(Inventory *inv, const char *name)
{
	_cleanup_(vfd_pci_device_freep) vfd_pci_device *d = NULL;
	const vfd_pci_device *old;
	vfd_pci_address a;
	bool found;
	size_t i;
	int r;

	if (vfd_pci_address_parse(name, &a) < 0)
		return 0;

	r = vfd_pci_device_load(inv->ctx, &a, &d);
	if (r < 0 && r != -ENODEV)
		return r;

	i = LOWER_BOUND(inv->devices, inv->n_devices, device_cmp_key, &a, &found);
	old = found ? inv->devices[i] : NULL;

	/* its groups before and after: a member came, went or changed driver */
	if (old && (r = group_set_add(&inv->stale_groups, old->iommu_group)) < 0)
		return r;
	if (d && (r = group_set_add(&inv->stale_groups, d->iommu_group)) < 0)
		return r;
	/* a VF came or went: its PF's numvfs and virtfn links */
	if (old && old->is_virtfn) {
		char pf[VFD_PCI_ADDRESS_STRLEN];

		r = name_set_add(&inv->stale_pci, vfd_pci_address_format(&old->physfn, pf));
		if (r < 0)
			return r;
	}
	if (d && d->is_virtfn) {
		char pf[VFD_PCI_ADDRESS_STRLEN];

		r = name_set_add(&inv->stale_pci, vfd_pci_address_format(&d->physfn, pf));
		if (r < 0)
			return r;
	}
	/* a parent driver bound or unbound: the function as an mdev parent */
	r = name_set_add(&inv->stale_parents, name);
	if (r < 0)
		return r;
	/* gone: its mdevs went with it (their own uevents say so too; a lost one must not matter) */
	if (!d && old)
		for (size_t j = 0; j < inv->n_mdevs; j++)
			if (strcmp(inv->mdevs[j]->parent, name) == 0) {
				r = name_set_add(&inv->stale_mdevs, inv->mdevs[j]->uuid);
				if (r < 0)
					return r;
			}

	if (d) {
		r = watch_device(inv, d);
		if (r < 0)
			give_up_watching(inv, r);
	} else if (old)
		unwatch_device(inv, &old->address);

	r = array_put((void ***) &inv->devices, &inv->n_devices, i, found, d, device_free_any);
	if (r < 0)
		return r;
	TAKE_PTR(d);
	return 0;
}

static int reread_mdev(Inventory *inv, const char *uuid)
{
	_cleanup_(vfd_mdev_freep) vfd_mdev *m = NULL;
	const vfd_mdev *old;
	bool found;
	size_t i;
	int r;

	r = vfd_mdev_load(inv->ctx, uuid, &m);
	if (r == -EINVAL)
		return 0;
	if (r < 0 && r != -ENODEV)
		return r;

	i = LOWER_BOUND(inv->mdevs, inv->n_mdevs, mdev_cmp_key, uuid, &found);
	old = found ? inv->mdevs[i] : NULL;

	/* its parent's available_instances, its group before and after */
	if (old) {
		if ((r = name_set_add(&inv->stale_parents, old->parent)) < 0 ||
		    (r = group_set_add(&inv->stale_groups, old->iommu_group)) < 0)
			return r;
	}
	if (m) {
		if ((r = name_set_add(&inv->stale_parents, m->parent)) < 0 ||
		    (r = group_set_add(&inv->stale_groups, m->iommu_group)) < 0)
			return r;
	}

	r = array_put((void ***) &inv->mdevs, &inv->n_mdevs, i, found, m, mdev_free_any);
	if (r < 0)
		return r;
	TAKE_PTR(m);
	return 0;
}

static int reread_parent(Inventory *inv, const char *name)
{
	_cleanup_(vfd_mdev_parent_freep) vfd_mdev_parent *p = NULL;
	bool found;
	size_t i;
	int r;

	r = vfd_mdev_parent_load(inv->ctx, name, &p);
	if (r == -EINVAL)
		return 0;
	if (r < 0 && r != -ENODEV)
		return r;

	i = LOWER_BOUND(inv->parents, inv->n_parents, parent_cmp_key, name, &found);
	r = array_put((void ***) &inv->parents, &inv->n_parents, i, found, p, parent_free_any);
	if (r < 0)
		return r;
	TAKE_PTR(p);
	return 0;
}

static int reread_group(Inventory *inv, unsigned id)
{
	_cleanup_(vfd_iommu_group_freep) vfd_iommu_group *g = NULL;
	bool found;
	size_t i;
	int r;

	r = vfd_iommu_group_load(inv->ctx, id, &g);
	if (r < 0 && r != -ENODEV && r != -ENOENT)
		return r;

	i = LOWER_BOUND(inv->groups, inv->n_groups, group_cmp_key, &id, &found);
	r = array_put((void ***) &inv->groups, &inv->n_groups, i, found, g, group_free_any);
	if (r < 0)
		return r;
	TAKE_PTR(g);
	return 0;
}

static int reread_stale(Inventory *inv)
{
	int r;

	/* in this order: each kind may mark the ones after it (or a PF) stale */
	for (size_t i = 0; i < inv->stale_pci.n; i++) {
		r = reread_device(inv, inv->stale_pci.names[i]);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < inv->stale_mdevs.n; i++) {
		r = reread_mdev(inv, inv->stale_mdevs.names[i]);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < inv->stale_parents.n; i++) {
		r = reread_parent(inv, inv->stale_parents.names[i]);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < inv->stale_groups.n; i++) {
		r = reread_group(inv, inv->stale_groups.ids[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static bool anything_stale(const Inventory *inv)
{
	return inv->stale_all || inv->stale_pci.n > 0 || inv->stale_mdevs.n > 0 ||
	       inv->stale_parents.n > 0 || inv->stale_groups.n > 0;
}

static void clear_stale_names(Inventory *inv)
{
	name_set_clear(&inv->stale_pci);
	name_set_clear(&inv->stale_mdevs);
	name_set_clear(&inv->stale_parents);
	inv->stale_groups.n = 0;
}

static void clear_stale(Inventory *inv)
{
	inv->stale_all = false;
	clear_stale_names(inv);
}

int inventory_refresh(Inventory *inv)
{
	int r;

	if (inv->direct)
		inv->stale_all = true;

	drain_override_writes(inv);

	if (inv->watch_writes) {
		/* read before reading: a write after this count is seen next time */
		unsigned long writes = vfd_context_writes(inv->ctx);

		if (writes != inv->writes_seen) {
			inv->writes_seen = writes;
			inv->stale_all = true;
		}
	}

	if (!anything_stale(inv))
		return 0;

	if (inv->stale_all) {
		r = read_everything(inv);
		if (r < 0)
			return r; /* still stale_all: the next query tries again */
		/* what reading a whole host allocated and freed goes back, not only the copy */
		(void) malloc_trim(0);
	} else {
		r = reread_stale(inv);
		if (r < 0) {
			/* what was half re-read is not trusted: all of it next time */
			(void) log_warning_errno(r, "Failed to re-read changed inventory entries, reading all of it: %m");
			inv->stale_all = true;
			r = read_everything(inv);
			if (r < 0)
				return r;
		}
	}

	/* a model not seen before is named now; the rest were named when first seen */
	r = inventory_names_update(inv->names, inv->devices, inv->n_devices);
	if (r < 0)
		return r;

	clear_stale(inv);
	inv->generation++;
	return 0;
}

unsigned long inventory_generation(const Inventory *inv)
{
	return inv->generation;
}

/* ---- queries ---- */

void inventory_devices(const Inventory *inv, vfd_pci_device *const **ret, size_t *ret_n)
{
	*ret = inv->devices;
	*ret_n = inv->n_devices;
}

const vfd_pci_device *inventory_device(const Inventory *inv, const vfd_pci_address *addr)
{
	bool found;
	size_t i = LOWER_BOUND(inv->devices, inv->n_devices, device_cmp_key, addr, &found);

	return found ? inv->devices[i] : NULL;
}

void inventory_device_names(const Inventory *inv, const vfd_pci_device *d,
			    const char **ret_vendor, const char **ret_device)
{
	inventory_names_get(inv->names, d->vendor_id, d->device_id, ret_vendor, ret_device);
}

void inventory_groups(const Inventory *inv, vfd_iommu_group *const **ret, size_t *ret_n)
{
	*ret = inv->groups;
	*ret_n = inv->n_groups;
}

const vfd_iommu_group *inventory_group(const Inventory *inv, unsigned id)
{
	bool found;
	size_t i = LOWER_BOUND(inv->groups, inv->n_groups, group_cmp_key, &id, &found);

	return found ? inv->groups[i] : NULL;
}

void inventory_mdev_parents(const Inventory *inv, vfd_mdev_parent *const **ret, size_t *ret_n)
{
	*ret = inv->parents;
	*ret_n = inv->n_parents;
}

const vfd_mdev_parent *inventory_mdev_parent(const Inventory *inv, const char *name)
{
	bool found;
	size_t i = LOWER_BOUND(inv->parents, inv->n_parents, parent_cmp_key, name, &found);

	return found ? inv->parents[i] : NULL;
}

void inventory_mdevs(const Inventory *inv, vfd_mdev *const **ret, size_t *ret_n)
{
	*ret = inv->mdevs;
	*ret_n = inv->n_mdevs;
}
