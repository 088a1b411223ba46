/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PCI names from the udev hardware database (see vfiod/pci-names.h).
 *
 * sd-hwdb opens a database by path only. To keep the lookup below the
 * context's root (symlinks included), the file is opened through the root
 * layer and handed to sd-hwdb as /proc/self/fd/N, which it opens again;
 * our descriptor is closed right after. sd-hwdb maps the file, so the
 * names stay valid even when systemd-hwdb replaces it later (it writes a
 * new file and renames it over the old one).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-hwdb.h>

#include "vfd-internal.h"
#include "vfiod/pci-names.h"

/* one looked-up vendor:device pair; the names point into the hwdb's mapping */
typedef struct names_entry {
	uint32_t key;          /* vendor << 16 | device */
	bool used;
	const char *vendor;    /* NULL: unknown */
	const char *device;
} names_entry;

struct vfd_pci_names_db {
	sd_hwdb *hwdb; /* NULL: no usable database below the root */
	/*
	 * The answers so far, open addressing, at most half full. A host has
	 * many functions of few models (VFs, multi-port cards), and a trie
	 * search of the real database costs tens of microseconds: each pair
	 * is searched once per context.
	 */
	names_entry *cache;
	size_t cache_size;     /* a power of two, or 0 */
	size_t cache_used;
};

/* the order sd-hwdb itself searches (systemd 252 and later), relative to the root */
static const char *const hwdb_paths[] = {
	"etc/systemd/hwdb/hwdb.bin",
	"etc/udev/hwdb.bin",
	"usr/lib/systemd/hwdb/hwdb.bin",
	"lib/systemd/hwdb/hwdb.bin",
	"lib/udev/hwdb.bin",
	"usr/lib/udev/hwdb.bin",
};

void vfd_pci_names_db_free(vfd_pci_names_db *db)
{
	if (!db)
		return;
	sd_hwdb_unref(db->hwdb);
	free(db->cache);
	free(db);
}

static sd_hwdb *hwdb_open_below_root(vfd_context *ctx)
{
	for (size_t i = 0; i < ELEMENTSOF(hwdb_paths); i++) {
		_cleanup_close_ int fd = -1;
		char proc_path[64];
		sd_hwdb *hwdb = NULL;

		fd = vfd_root_open(ctx, hwdb_paths[i], O_RDONLY);
		if (fd < 0)
			continue;

		snprintf(proc_path, sizeof(proc_path), "/proc/self/fd/%d", fd);
		/* a corrupt or foreign file: try the next place, as sd-hwdb does not */
		if (sd_hwdb_new_from_path(proc_path, &hwdb) >= 0)
			return hwdb;
	}
	return NULL;
}

/* the context's database, opened on the first call; NULL when there is none */
static vfd_pci_names_db *context_db(vfd_context *ctx)
{
	vfd_pci_names_db **slot = vfd_context_names_db(ctx);

	if (!*slot) {
		vfd_pci_names_db *db = calloc(1, sizeof(*db));

		/* out of memory: no names this time, ask again next time */
		if (!db)
			return NULL;
		db->hwdb = hwdb_open_below_root(ctx);
		*slot = db;
	}
	return *slot;
}

static sd_hwdb *context_hwdb(vfd_context *ctx)
{
	vfd_pci_names_db *db = context_db(ctx);

	return db ? db->hwdb : NULL;
}

static size_t cache_slot(const names_entry *cache, size_t size, uint32_t key)
{
	size_t i = (key * 2654435761u) & (size - 1);

	while (cache[i].used && cache[i].key != key)
		i = (i + 1) & (size - 1);
	return i;
}

static const names_entry *cache_find(const vfd_pci_names_db *db, uint32_t key)
{
	size_t i;

	if (db->cache_size == 0)
		return NULL;
	i = cache_slot(db->cache, db->cache_size, key);
	return db->cache[i].used ? &db->cache[i] : NULL;
}

/* remembers an answer; without memory it is simply searched again next time */
static void cache_add(vfd_pci_names_db *db, const names_entry *e)
{
	if (2 * (db->cache_used + 1) > db->cache_size) {
		size_t size = db->cache_size ? 2 * db->cache_size : 256;
		names_entry *cache = calloc(size, sizeof(*cache));

		if (!cache)
			return;
		for (size_t i = 0; i < db->cache_size; i++)
			if (db->cache[i].used)
				cache[cache_slot(cache, size, db->cache[i].key)] = db->cache[i];
		free(db->cache);
		db->cache = cache;
		db->cache_size = size;
	}
	db->cache[cache_slot(db->cache, db->cache_size, e->key)] = *e;
	db->cache_used++;
}

bool vfd_pci_names_available(vfd_context *ctx)
{
	return ctx && context_hwdb(ctx);
}

static const char *hwdb_value(sd_hwdb *hwdb, const char *modalias, const char *key)
{
	const char *value = NULL;

	if (sd_hwdb_get(hwdb, modalias, key, &value) < 0 || !value || value[0] == '\0')
		return NULL;
	return value;
}

int vfd_pci_names_lookup(vfd_context *ctx, uint16_t vendor_id, uint16_t device_id,
			 const char **ret_vendor, const char **ret_device)
{
	const char *vendor = NULL, *device = NULL;
	uint32_t key = (uint32_t) vendor_id << 16 | device_id;
	const names_entry *hit;
	vfd_pci_names_db *db;
	char modalias[32];

	if (!ctx)
		return -EINVAL;

	db = context_db(ctx);
	hit = db ? cache_find(db, key) : NULL;
	if (hit) {
		vendor = hit->vendor;
		device = hit->device;
	} else if (db && db->hwdb) {
		/*
		 * The kernel's modalias up to the device id, upper-case hex as
		 * in the database's keys: "pci:v00008086*" gives the vendor,
		 * "pci:v00008086d000010D3*" the model. Without the subsystem
		 * part the generic model name wins, as lspci shows it.
		 */
		snprintf(modalias, sizeof(modalias), "pci:v%08Xd%08X",
			 (unsigned) vendor_id, (unsigned) device_id);
		vendor = hwdb_value(db->hwdb, modalias, "ID_VENDOR_FROM_DATABASE");
		device = hwdb_value(db->hwdb, modalias, "ID_MODEL_FROM_DATABASE");
		cache_add(db, &(names_entry){ .key = key, .used = true, .vendor = vendor, .device = device });
	}

	if (ret_vendor)
		*ret_vendor = vendor;
	if (ret_device)
		*ret_device = device;
	return 0;
}

static int read_id(vfd_context *ctx, const char *address, const char *attr, uint16_t *ret)
{
	char path[VFD_PATH_MAX];
	uint64_t v;
	int r;

	r = vfd_pathf(path, sizeof(path), "sys/bus/pci/devices/%s/%s", address, attr);
	if (r < 0)
		return r;
	r = vfd_root_read_u64(ctx, path, &v);
	if (r == -ENOENT)
		return -ENODEV;
	if (r < 0)
		return r;
	if (v > UINT16_MAX)
		return -EBADMSG;
	*ret = (uint16_t) v;
	return 0;
}

/* "pci:v00008086d000010D3sv...": the ids in one read; -ENOENT without the file */
static int read_modalias_ids(vfd_context *ctx, const char *address, uint16_t *ret_vendor,
			     uint16_t *ret_device)
{
	_cleanup_free_ char *modalias = NULL;
	char path[VFD_PATH_MAX];
	unsigned vendor, device;
	int r, n = 0;

	r = vfd_pathf(path, sizeof(path), "sys/bus/pci/devices/%s/modalias", address);
	if (r < 0)
		return r;
	r = vfd_root_read_string(ctx, path, &modalias);
	if (r < 0)
		return r;
	if (sscanf(modalias, "pci:v%8Xd%8X%n", &vendor, &device, &n) != 2 || n != 22 ||
	    vendor > UINT16_MAX || device > UINT16_MAX)
		return -EBADMSG;
	*ret_vendor = (uint16_t) vendor;
	*ret_device = (uint16_t) device;
	return 0;
}

int vfd_pci_names_lookup_address(vfd_context *ctx, const char *address,
				 const char **ret_vendor, const char **ret_device)
{
	uint16_t vendor_id, device_id;
	int r;

	if (!ctx || !address || !vfd_name_is_component(address))
		return -EINVAL;

	/* no database: do not read ids that would name nothing */
	if (!context_hwdb(ctx)) {
		if (ret_vendor)
			*ret_vendor = NULL;
		if (ret_device)
			*ret_device = NULL;
		return 0;
	}

	/* one file where the kernel has it (a function's modalias), two otherwise */
	r = read_modalias_ids(ctx, address, &vendor_id, &device_id);
	if (r < 0) {
		r = read_id(ctx, address, "vendor", &vendor_id);
		if (r < 0)
			return r;
		r = read_id(ctx, address, "device", &device_id);
		if (r < 0)
			return r;
	}

	return vfd_pci_names_lookup(ctx, vendor_id, device_id, ret_vendor, ret_device);
}
