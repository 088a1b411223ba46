/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Persistent configuration (lib/config*.c): what vfiod applies at boot.
 *
 * Three sources, read below the context's root, never written:
 *
 *   etc/vfiod/vfiod.json   vfiod's own file (absent: empty, imports on)
 *     {
 *       "bindings": [ { "device": "0000:01:00.0",
 *                       "unbind_host_members": false } ],
 *       "mdevs": [ { "uuid": "...", "parent": "mtty", "type": "mtty-2",
 *                    "attrs": [ { "name": "value" } ],
 *                    "autostart": true } ],
 *       "import": { "mdevctl": true, "driverctl": true },
 *       "sriov": [ { "device": "0000:04:00.0", "num_vfs": 2 } ]
 *     }
 *     Strict: an unknown key, a wrong type or a malformed value fails the
 *     whole load (-EINVAL, the vfd_op_error says where), because applying
 *     half of what the administrator wrote is worse than applying nothing.
 *
 *   etc/mdevctl.d/<parent>/<uuid>   mdevctl's definitions
 *     { "mdev_type": "...", "start": "auto"|"manual",
 *       "attrs": [ { "name": "value" }, ... ] }  (attrs optional, ordered)
 *
 *   etc/driverctl.d/pci-<address>   driverctl's overrides: the file holds
 *     the driver name. Only vfio-pci overrides become bindings.
 *
 * Imported files are read live at each load, so the other tools stay the
 * owners of their files and vfiod follows their edits. A malformed or
 * unusable imported file is skipped and listed in the warnings: one broken
 * file of another tool must not stop the boot-time configuration. An entry
 * of vfiod.json wins over an imported one for the same device or UUID.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "vfiod/mdev-ctl.h"
#include "vfiod/op-error.h"
#include "vfiod/inventory.h"

#define VFD_CONFIG_FILE      "etc/vfiod/vfiod.json"
#define VFD_CONFIG_MDEVCTL   "etc/mdevctl.d"
#define VFD_CONFIG_DRIVERCTL "etc/driverctl.d"

typedef enum vfd_config_source {
	VFD_CONFIG_SOURCE_VFIOD,
	VFD_CONFIG_SOURCE_MDEVCTL,
	VFD_CONFIG_SOURCE_DRIVERCTL,
} vfd_config_source;

const char *vfd_config_source_to_string(vfd_config_source s);

typedef struct vfd_config_binding {
	vfd_pci_address address;
	char name[VFD_PCI_ADDRESS_STRLEN]; /* canonical */
	bool unbind_host_members;
	/*
	 * The VFIO driver to bind it to ("driver" in vfiod.json): vfio-pci or
	 * a variant; NULL: chosen by alias (lib/include/vfiod/vfio-variant.h).
	 */
	char *driver;
	vfd_config_source source;
	char *origin; /* the file it came from, relative to the root */
} vfd_config_binding;

typedef struct vfd_config_mdev {
	char uuid[VFD_UUID_STRLEN]; /* lower case */
	char *parent;
	char *type;
	vfd_mdev_attr *attrs; /* in file order; names and values owned */
	size_t n_attrs;
	bool autostart;
	vfd_config_source source;
	char *origin;
} vfd_config_mdev;

/* vfiod.json's "sriov": a PF's VF count, applied before the bindings (which may name its VFs) */
typedef struct vfd_config_sriov {
	vfd_pci_address address;
	char name[VFD_PCI_ADDRESS_STRLEN]; /* canonical */
	unsigned num_vfs;                  /* 0..65535; checked against sriov_totalvfs when applied */
} vfd_config_sriov;

typedef struct vfd_config {
	vfd_config_binding *bindings;
	size_t n_bindings;
	vfd_config_sriov *sriov;
	size_t n_sriov;
	vfd_config_mdev *mdevs;
	size_t n_mdevs;
	/* imported files skipped, one sentence each: "etc/...: why" */
	char **warnings;
	size_t n_warnings;
	bool import_mdevctl;
	bool import_driverctl;
} vfd_config;

vfd_config *vfd_config_free(vfd_config *c);
VFD_DEFINE_CLEANUP(vfd_config, vfd_config_free)

/*
 * Reads all three sources below ctx's root. -EINVAL (error says why) when
 * vfiod.json is malformed; I/O errors of vfiod.json fail too. Problems of
 * imported files only become warnings.
 */
int vfd_config_load(vfd_context *ctx, vfd_op_error *error, vfd_config **ret);

/* ---- the parsers, one per format (tests call them directly) ---- */

/* An empty config with imports on: what a missing vfiod.json means. */
int vfd_config_new(vfd_config **ret);

/* Parses vfiod.json's text into c (appending); origin names the file. */
int vfd_config_parse_vfiod(vfd_config *c, const char *text, const char *origin,
			   vfd_op_error *error);

/*
 * Parses one mdevctl definition (the file etc/mdevctl.d/<parent>/<uuid>)
 * into *ret. -EINVAL with error set when the parent, UUID or JSON is not
 * acceptable.
 */
int vfd_config_parse_mdevctl(const char *parent, const char *uuid, const char *text,
			     const char *origin, vfd_op_error *error, vfd_config_mdev *ret);

/*
 * Parses one driverctl override (file name "pci-<address>", text the
 * driver). 1 and *ret filled for a vfio-pci override, 0 for an override
 * to another driver (not vfiod's business), -EINVAL for a malformed name
 * or content.
 */
int vfd_config_parse_driverctl(const char *filename, const char *text, const char *origin,
			       vfd_op_error *error, vfd_config_binding *ret);

void vfd_config_mdev_done(vfd_config_mdev *m);
void vfd_config_binding_done(vfd_config_binding *b);

/* the entry for a device or a UUID (any case), or NULL */
const vfd_config_binding *vfd_config_find_binding(const vfd_config *c, const char *name);
const vfd_config_mdev *vfd_config_find_mdev(const vfd_config *c, const char *uuid);
