/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "inventory-names.h"
#include "vfiod/pci-names.h"

typedef struct {
	uint32_t key; /* vendor << 16 | device */
	bool used;
	char *vendor; /* NULL: unknown */
	char *device;
} NamesEntry;

struct InventoryNames {
	char *root;
	NamesEntry *table; /* open addressing, at most half full */
	size_t size;       /* a power of two, or 0 */
	size_t used;
};

int inventory_names_new(const char *root, InventoryNames **ret)
{
	InventoryNames *names;

	names = calloc(1, sizeof(*names));
	if (!names)
		return -ENOMEM;
	names->root = strdup(root ? root : "/");
	if (!names->root) {
		free(names);
		return -ENOMEM;
	}
	*ret = names;
	return 0;
}

InventoryNames *inventory_names_free(InventoryNames *names)
{
	if (!names)
		return NULL;
	for (size_t i = 0; i < names->size; i++) {
		free(names->table[i].vendor);
		free(names->table[i].device);
	}
	free(names->table);
	free(names->root);
	free(names);
	return NULL;
}

static size_t slot_of(const NamesEntry *table, size_t size, uint32_t key)
{
	size_t i = (key * 2654435761u) & (size - 1);

	while (table[i].used && table[i].key != key)
		i = (i + 1) & (size - 1);
	return i;
}

static const NamesEntry *find(const InventoryNames *names, uint32_t key)
{
	size_t i;

	if (names->size == 0)
		return NULL;
	i = slot_of(names->table, names->size, key);
	return names->table[i].used ? &names->table[i] : NULL;
}

static int grow(InventoryNames *names)
{
	size_t size = names->size ? names->size * 2 : 64;
	NamesEntry *table;

	table = calloc(size, sizeof(*table));
	if (!table)
		return -ENOMEM;
	for (size_t i = 0; i < names->size; i++)
		if (names->table[i].used)
			table[slot_of(table, size, names->table[i].key)] = names->table[i];
	free(names->table);
	names->table = table;
	names->size = size;
	return 0;
}

/* the entry is added even when the database does not know the model: it is asked once */
static int add(InventoryNames *names, uint32_t key, const char *vendor, const char *device)
{
	char *v = NULL, *d = NULL;
	NamesEntry *e;
	int r;

	if ((names->used + 1) * 2 > names->size) {
		r = grow(names);
		if (r < 0)
			return r;
	}
	if ((vendor && !(v = strdup(vendor))) || (device && !(d = strdup(device)))) {
		free(v);
		return -ENOMEM;
	}
	e = &names->table[slot_of(names->table, names->size, key)];
	*e = (NamesEntry) { .key = key, .used = true, .vendor = v, .device = d };
	names->used++;
	return 0;
}

static uint32_t key_of(const vfd_pci_device *d)
{
	return (uint32_t) d->vendor_id << 16 | d->device_id;
}

int inventory_names_update(InventoryNames *names, vfd_pci_device *const *devices, size_t n)
{
	int r;

	for (size_t i = 0; i < n; i++) {
		_cleanup_(vfd_context_freep) vfd_context *ctx = NULL;
		const char *vendor = NULL, *device = NULL;
		uint32_t key = key_of(devices[i]);

		if (find(names, key))
			continue;
		/*
		 * A context (and the database's mapping) per new model, freed at
		 * the end of this iteration: one lookup touches about a megabyte
		 * of the trie, and the pages go with the mapping. Opening it
		 * again costs an open and an mmap; keeping it for all the models
		 * of a burst would raise vfiod's peak RSS by the pages of all.
		 */
		r = vfd_context_new(names->root, &ctx);
		if (r < 0)
			return r == -ENOMEM ? r : 0; /* no root: no names, as without a database */
		(void) vfd_pci_names_lookup(ctx, devices[i]->vendor_id, devices[i]->device_id,
					    &vendor, &device);
		r = add(names, key, vendor, device);
		if (r < 0)
			return r;
	}
	return 0;
}

void inventory_names_get(const InventoryNames *names, uint16_t vendor_id, uint16_t device_id,
			 const char **ret_vendor, const char **ret_device)
{
	const NamesEntry *e = find(names, (uint32_t) vendor_id << 16 | device_id);

	if (ret_vendor)
		*ret_vendor = e ? e->vendor : NULL;
	if (ret_device)
		*ret_device = e ? e->device : NULL;
}
