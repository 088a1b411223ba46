/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers shared between libvfiod's source files and not part of the
 * library contract (lib/include/vfiod/). Nothing outside lib/ includes
 * this (tests/unit/test-header-walls.sh).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "vfiod/inventory.h"

/* Largest file vfd_root_read_string() accepts; sysfs attributes are a page. */
#define VFD_ROOT_READ_MAX (64u * 1024u)

/* Enough for every path the library builds below sys/ (kernel PATH_MAX). */
#define VFD_PATH_MAX 4096

/*
 * snprintf into a fixed path buffer; -ENAMETOOLONG instead of silent
 * truncation, so a long name can never turn into a different path.
 */
int vfd_pathf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * The context's hardware database for PCI names (lib/pci-names.c), kept in
 * the context so that it is opened once per context, not per device.
 */
typedef struct vfd_pci_names_db vfd_pci_names_db;
vfd_pci_names_db **vfd_context_names_db(vfd_context *ctx);
void vfd_pci_names_db_free(vfd_pci_names_db *db);

/* A name that is safe as one path component: non-empty, no '/', not "." or "..". */
bool vfd_name_is_component(const char *name);

/* vfd_root_list_dir(), except that a missing directory is an empty list */
int vfd_root_list_dir_or_empty(vfd_context *ctx, const char *path, char ***ret);

/* Appends s (taken over, also on failure) to the NULL-terminated *l of length *n. */
int vfd_strv_push(char ***l, size_t *n, char *s);
void vfd_strv_sort(char **l);

/* Reads "123" as an unsigned, e.g. the basename of an iommu_group link. */
int vfd_parse_unsigned(const char *s, unsigned *ret);

/*
 * Reads whether the PCI function in directory dir (root-relative) is a
 * bridge: config header type when readable, else the class code.
 */
int vfd_pci_dir_is_bridge(vfd_context *ctx, const char *dir, uint32_t class_code, bool *ret);

/*
 * Classifies a device bound (or not) to driver on bus for the viability of
 * its IOMMU group; ret_reason is a sentence for people. lib/driver.c.
 */
int vfd_driver_classify(vfd_context *ctx, const char *bus, const char *driver,
			vfd_member_state *ret_state, char **ret_reason);

/*
 * A descriptor taken back after a restart (lib/vfio-type1.c): 0 when fd is
 * an open read-write file of character device want; -EBADF, -EACCES, -ENOTTY.
 */
int vfd_fd_check_chr_rw(int fd, dev_t want);
