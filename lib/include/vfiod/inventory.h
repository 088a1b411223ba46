/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfiod: host inventory for VFIO device assignment. The base header of
 * the library: the context and its root-relative /sys and /dev layer, PCI
 * functions, IOMMU groups, mediated devices, and the name checks.
 *
 * The public headers are the files of lib/include/vfiod/, included as
 * "vfiod/NAME.h"; the -internal.h files in lib/ are the library's own.
 *
 * All functions return 0 (or a positive count) on success and a negative
 * errno on failure. Output parameters are named ret_*, come last and are
 * left untouched on failure. Destructors accept NULL and return NULL.
 * The library never prints.
 *
 * Every /sys and /dev access goes through a vfd_context, whose root
 * directory is "/" in production and a fixture tree in tests.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfiod/util.h"

struct stat;

/* ---- context and root-relative filesystem layer (lib/root.c) ---- */

typedef struct vfd_context vfd_context;

/* root: NULL or "/" for the real system, else a directory holding sys/ and dev/ */
int vfd_context_new(const char *root, vfd_context **ret);
vfd_context *vfd_context_free(vfd_context *ctx);
VFD_DEFINE_CLEANUP(vfd_context, vfd_context_free)
const char *vfd_context_root(const vfd_context *ctx);

/*
 * Paths below are relative to the root ("sys/bus/pci/devices/..."), never
 * absolute, never containing ".." (-EINVAL). Symlinks are followed only
 * while they stay inside the root; an absolute symlink, or a relative one
 * climbing above the root, fails with -EXDEV (openat2 RESOLVE_BENEATH,
 * Linux >= 5.6). Reads strip one trailing newline; files larger than
 * 64 KiB give -EFBIG, text with a NUL byte -EBADMSG. Nothing is created:
 * O_CREAT is refused.
 */
int vfd_root_open(vfd_context *ctx, const char *path, int flags); /* fd, always O_CLOEXEC */
int vfd_root_read_string(vfd_context *ctx, const char *path, char **ret);
int vfd_root_read_u64(vfd_context *ctx, const char *path, uint64_t *ret); /* decimal or 0x hex */
int vfd_root_read_int(vfd_context *ctx, const char *path, int *ret); /* also "-1" */
/* binary read, e.g. PCI config space: returns the bytes read (short at EOF) */
int vfd_root_pread(vfd_context *ctx, const char *path, void *buf, size_t size, uint64_t offset);
/* value in one write(), as sysfs wants it; the file is opened O_TRUNC like ">" */
int vfd_root_write_string(vfd_context *ctx, const char *path, const char *value);
/*
 * Writes size bytes at offset of a binary attribute (a PCI function's
 * config) in one pwrite(); -EIO for a short write. No fault step, no write
 * hook: config space is not an attribute the fixtures imitate.
 */
int vfd_root_pwrite(vfd_context *ctx, const char *path, const void *buf, size_t size,
		    uint64_t offset);
/* basename of the symlink target, e.g. driver -> ../../bus/pci/drivers/e1000e gives "e1000e" */
int vfd_root_readlink_basename(vfd_context *ctx, const char *path, char **ret);
/* the link text itself, unresolved */
int vfd_root_readlink(vfd_context *ctx, const char *path, char **ret);
/* stat() following symlinks inside the root */
int vfd_root_stat(vfd_context *ctx, const char *path, struct stat *ret);
int vfd_root_exists(vfd_context *ctx, const char *path); /* 1, 0 or -errno */
/* sorted list of entries (no . and ..), NULL-terminated; free with vfd_strv_free */
int vfd_root_list_dir(vfd_context *ctx, const char *path, char ***ret);

/*
 * Attributes of one directory, opened once: vfd_root_open_dir() gives an
 * O_PATH descriptor of a directory below the root (same rules as above);
 * the vfd_dir_*() functions then read one attribute, name a single path
 * component, relative to it. Resolution stays beneath that directory
 * (RESOLVE_BENEATH from it: a symlinked attribute leading out of it fails
 * with -EXDEV); links are read, never followed. Same read rules as the
 * vfd_root_*() functions. The caller closes the descriptor.
 */
int vfd_root_open_dir(vfd_context *ctx, const char *path);
int vfd_dir_read_string(int dfd, const char *name, char **ret);
int vfd_dir_read_u64(int dfd, const char *name, uint64_t *ret);
int vfd_dir_read_int(int dfd, const char *name, int *ret);
int vfd_dir_pread(int dfd, const char *name, void *buf, size_t size, uint64_t offset);
int vfd_dir_readlink_basename(int dfd, const char *name, char **ret);
int vfd_dir_exists(int dfd, const char *name); /* 1, 0 or -errno */

/*
 * How many writes went through ctx so far (vfd_root_write_string()): a
 * reader keeping copies of what it read compares two counts to learn that
 * it wrote in between. Safe from any thread.
 */
unsigned long vfd_context_writes(const vfd_context *ctx);

char **vfd_strv_free(char **l);
VFD_DEFINE_CLEANUP(char *, vfd_strv_free)
size_t vfd_strv_length(char *const *l);

/* ---- PCI addresses (lib/pci-address.c) ---- */

typedef struct vfd_pci_address {
	uint16_t domain;
	uint8_t bus;
	uint8_t slot;     /* 0..31 */
	uint8_t function; /* 0..7 */
} vfd_pci_address;

#define VFD_PCI_ADDRESS_STRLEN 13 /* "dddd:bb:ss.f" + NUL */

/*
 * Strict: exactly DDDD:BB:SS.F in hex (either case), slot <= 0x1f,
 * function <= 7. Rejects everything else (short forms, whitespace,
 * newlines, path characters, overlong input) with -EINVAL.
 */
int vfd_pci_address_parse(const char *s, vfd_pci_address *ret);
/* lower-case canonical form; buf must hold VFD_PCI_ADDRESS_STRLEN bytes */
char *vfd_pci_address_format(const vfd_pci_address *a, char *buf);
int vfd_pci_address_compare(const vfd_pci_address *a, const vfd_pci_address *b);

/* ---- PCI functions (lib/pci-device.c) ---- */

typedef struct vfd_pci_device {
	vfd_pci_address address;
	char name[VFD_PCI_ADDRESS_STRLEN]; /* canonical address string */
	uint16_t vendor_id;
	uint16_t device_id;
	uint16_t subsystem_vendor_id;
	uint16_t subsystem_device_id;
	uint32_t class_code;   /* 24 bits: base class, subclass, prog-if */
	char *driver;          /* bound driver name, NULL when unbound */
	char *driver_override; /* NULL when not set */
	int numa_node;         /* -1 when unknown */
	/*
	 * The kernel's reset methods in the order it tries them (sysfs
	 * reset_method, e.g. "flr bus"); NULL when the function has none:
	 * the kernel hides the attribute then, and it cannot be reset.
	 */
	char *reset_method;
	int iommu_group;       /* -1 when the function has no IOMMU group */
	bool is_bridge;        /* header type 1/2 or class 0x0604/0x0607 */

	/* SR-IOV: a PF has totalvfs > 0; a VF has is_virtfn and physfn. */
	unsigned sriov_totalvfs;
	unsigned sriov_numvfs;
	/* a PF's sriov_drivers_autoprobe: new VFs probe host drivers (true when absent, before 4.12) */
	bool sriov_drivers_autoprobe;
	bool is_virtfn;
	vfd_pci_address physfn;
	vfd_pci_address *virtfns; /* the PF's current VFs, sorted */
	size_t n_virtfns;

	/* a VF whose driver offers vendor vGPU types (vfiod/vendor-vgpu.h); NULL: none */
	struct vfd_vgpu_info *vgpu;
} vfd_pci_device;

/* -ENODEV when the address does not exist under sys/bus/pci/devices */
int vfd_pci_device_load(vfd_context *ctx, const vfd_pci_address *addr, vfd_pci_device **ret);
vfd_pci_device *vfd_pci_device_free(vfd_pci_device *d);
VFD_DEFINE_CLEANUP(vfd_pci_device, vfd_pci_device_free)
/*
 * All functions, sorted by address. The array has a spare NULL slot at the
 * end and is never NULL on success; an absent sys/bus/pci gives 0 entries.
 * The same holds for the other *_enumerate() functions below.
 */
int vfd_pci_device_enumerate(vfd_context *ctx, vfd_pci_device ***ret, size_t *ret_n);
void vfd_pci_device_array_free(vfd_pci_device **a, size_t n);

/* A driver is a VFIO driver when it is vfio-pci or a variant driver built on vfio-pci-core. */
int vfd_driver_is_vfio(vfd_context *ctx, const char *driver); /* 1, 0 or -errno */

/* ---- IOMMU groups (lib/iommu-group.c) ---- */

typedef enum vfd_member_state {
	VFD_MEMBER_VFIO,           /* bound to vfio-pci or a variant driver: viable */
	VFD_MEMBER_UNBOUND,        /* no driver: viable */
	VFD_MEMBER_DMA_MANAGED,    /* e.g. pcieport, pci-stub (driver_managed_dma): viable */
	VFD_MEMBER_HOST_DRIVER,    /* bound to a host driver that uses DMA: not viable */
	_VFD_MEMBER_STATE_MAX,
} vfd_member_state;

const char *vfd_member_state_to_string(vfd_member_state s); /* "vfio", "unbound", ... */

typedef struct vfd_group_member {
	char *name;    /* device name, e.g. "0000:00:1f.2" or an mdev UUID */
	char *bus;     /* "pci", "mdev", ... */
	char *driver;  /* NULL when unbound */
	bool is_bridge;
	vfd_member_state state;
	bool viable;
	char *reason;  /* human sentence saying why (not) viable */
} vfd_group_member;

typedef struct vfd_iommu_group {
	unsigned id;
	vfd_group_member *members; /* sorted by name */
	size_t n_members;
	bool viable;               /* every member viable */
} vfd_iommu_group;

/* -ENODEV when there is no such group */
int vfd_iommu_group_load(vfd_context *ctx, unsigned id, vfd_iommu_group **ret);
vfd_iommu_group *vfd_iommu_group_free(vfd_iommu_group *g);
VFD_DEFINE_CLEANUP(vfd_iommu_group, vfd_iommu_group_free)
int vfd_iommu_group_enumerate(vfd_context *ctx, vfd_iommu_group ***ret, size_t *ret_n);
void vfd_iommu_group_array_free(vfd_iommu_group **a, size_t n);

/* ---- mediated devices (lib/mdev.c) ---- */

typedef struct vfd_mdev_type {
	char *id;          /* directory name, e.g. "mtty-2" */
	char *parent;      /* parent device name */
	char *name;        /* NULL when the type has no name attribute */
	char *description; /* NULL when absent */
	char *device_api;  /* "vfio-pci", "vfio-ccw", ... */
	unsigned available_instances;
} vfd_mdev_type;

typedef struct vfd_mdev_parent {
	char *name;        /* device name under /sys/class/mdev_bus */
	char *bus;         /* bus of the parent device, e.g. "pci" or "" for virtual */
	char *driver;      /* NULL when unbound */
	vfd_mdev_type **types;
	size_t n_types;
} vfd_mdev_parent;

typedef struct vfd_mdev {
	char uuid[37];
	char *type_id;
	char *parent;
	char *driver;      /* e.g. "vfio_mdev" or NULL */
	int iommu_group;   /* -1 when none */
} vfd_mdev;

/* parents sorted by name, each with its types sorted by id */
int vfd_mdev_parent_enumerate(vfd_context *ctx, vfd_mdev_parent ***ret, size_t *ret_n);
/* -ENODEV when name is not an mdev parent, -EINVAL when not a plain name */
int vfd_mdev_parent_load(vfd_context *ctx, const char *name, vfd_mdev_parent **ret);
vfd_mdev_parent *vfd_mdev_parent_free(vfd_mdev_parent *p);
VFD_DEFINE_CLEANUP(vfd_mdev_parent, vfd_mdev_parent_free)
void vfd_mdev_parent_array_free(vfd_mdev_parent **a, size_t n);
/* instances sorted by UUID */
int vfd_mdev_enumerate(vfd_context *ctx, vfd_mdev ***ret, size_t *ret_n);
/* -ENODEV when no instance has that UUID, -EINVAL when uuid is malformed */
int vfd_mdev_load(vfd_context *ctx, const char *uuid, vfd_mdev **ret);
vfd_mdev *vfd_mdev_free(vfd_mdev *m);
VFD_DEFINE_CLEANUP(vfd_mdev, vfd_mdev_free)
void vfd_mdev_array_free(vfd_mdev **a, size_t n);
/* strict UUID: 8-4-4-4-12 hex digits (either case), -EINVAL otherwise */
int vfd_uuid_validate(const char *s);
#define VFD_UUID_STRLEN 37 /* 8-4-4-4-12 + NUL */
/* a valid UUID (any case) into its lower case form; -EINVAL as vfd_uuid_validate() */
int vfd_uuid_normalize(const char *s, char ret[VFD_UUID_STRLEN]);

/*
 * VM names (vfiod's D-Bus API, the libvirt hook, the journal's file
 * names): 1..64 of [A-Za-z0-9_.-], starting with a letter or digit, so
 * safe in paths, logs and tables.
 */
#define VFD_VM_NAME_MAX 64
bool vfd_vm_name_is_valid(const char *s);

/*
 * Names of devices that are not PCI addresses (mdev parents such as
 * "mtty", or a PCI address), written by the kernel as one directory
 * entry: 1..255 bytes, not "." or "..", no '/', no whitespace or control
 * bytes. vfiod rejects other names with InvalidArgs, vfioctl before any
 * bus call.
 */
#define VFD_DEVICE_NAME_MAX 255
bool vfd_device_name_is_valid(const char *s);
