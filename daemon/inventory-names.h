/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The vendor and device names of the inventory's PCI functions, kept as
 * copies per vendor:device pair (a host has many functions of few models).
 *
 * Why copies: the hardware database is a 10+ MiB file that sd-hwdb maps,
 * and a lookup walks its trie through megabytes of pages, which then count
 * in vfiod's RSS for as long as the mapping lives (a libvfiod context keeps
 * it for its life). Here each lookup runs in a context of its own, opened
 * only when a model not seen before turns up and freed right after, so the
 * mapping lives for the length of one lookup and replies read no database
 * at all.
 */
#pragma once

#include <stdint.h>

#include "vfiod/inventory.h"

typedef struct InventoryNames InventoryNames;

int inventory_names_new(const char *root, InventoryNames **ret);
InventoryNames *inventory_names_free(InventoryNames *names);

/*
 * Looks up every model of devices[] not known yet (one database opening
 * per model). A root without a database names nothing, and is asked again
 * only when a new model turns up. -ENOMEM only.
 */
int inventory_names_update(InventoryNames *names, vfd_pci_device *const *devices, size_t n);

/* NULL where the database does not know the name, or the model was never updated */
void inventory_names_get(const InventoryNames *names, uint16_t vendor_id, uint16_t device_id,
			 const char **ret_vendor, const char **ret_device);
