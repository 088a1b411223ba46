/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The parts of a libvirt domain XML that decide a memory locking limit,
 * read by a hardened parser (lib/domain-xml.c).
 *
 * The input is untrusted: it is size-capped before libxml2 sees it, any
 * DOCTYPE (and so any entity declaration, internal or external) is
 * rejected outright, the network is off, entities are never substituted,
 * and the element tree may not nest deeper than VFD_DOMAIN_XML_MAX_DEPTH.
 *
 * Errors are a negative errno plus, when error_message is not NULL, an
 * allocated sentence in *error_message (set on failure only). The library
 * never prints, libxml2's own reports included.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfiod/inventory.h"

/* Larger inputs are refused before parsing (-EFBIG). Real domains are a few KiB. */
#define VFD_DOMAIN_XML_MAX_BYTES (1024u * 1024u)
/* Deeper element trees are refused (-ELOOP). libvirt's own documents nest < 10. */
#define VFD_DOMAIN_XML_MAX_DEPTH 64u

/* libvirt's "no limit" for memory tunables, in KiB: 2^53 - 1 (VIR_DOMAIN_MEMORY_PARAM_UNLIMITED). */
#define VFD_LIBVIRT_MEMORY_UNLIMITED_KIB 9007199254740991ULL

typedef enum vfd_domain_hostdev_kind {
	VFD_DOMAIN_HOSTDEV_PCI,  /* <hostdev type='pci'> or <interface type='hostdev'> */
	VFD_DOMAIN_HOSTDEV_MDEV, /* <hostdev type='mdev'> */
} vfd_domain_hostdev_kind;

typedef struct vfd_domain_hostdev {
	vfd_domain_hostdev_kind kind;
	/* PCI: assigned through VFIO. libvirt's default backend; false for <driver name='kvm'|'xen'/>. */
	bool vfio;
	/* PCI: <driver iommufd='yes'/> (libvirt >= 12): through /dev/iommu, no type1 container */
	bool iommufd;
	/* PCI: managed='yes' (libvirt moves it to vfio-pci and back itself);
	 * libvirt's default is 'no': the device must be on vfio-pci already */
	bool managed;
	bool from_interface;          /* came from <interface type='hostdev'> */
	vfd_pci_address source;       /* PCI: the host function */
	char *mdev_uuid;              /* MDEV: canonical lower-case UUID */
	char *mdev_model;             /* MDEV: model attribute ("vfio-pci", ...), NULL when absent */
	bool has_guest_pci_address;   /* an explicit <address type='pci'/> in the guest */
	unsigned guest_pci_bus;
} vfd_domain_hostdev;

typedef struct vfd_domain_nvme_disk {
	char *target;                 /* <target dev=...>, NULL when absent */
	vfd_pci_address source;       /* the host NVMe controller QEMU drives through VFIO */
} vfd_domain_nvme_disk;

/* A <devices><memory model=...> device: guest RAM besides the boot memory. */
typedef struct vfd_domain_memory_device {
	char *model;                  /* "dimm", "nvdimm", "virtio-mem", ...; NULL when absent */
	uint64_t size_kib;            /* <target><size>: for virtio-mem the most it can plug */
	uint64_t block_kib;           /* virtio-mem <target><block>, 0 when absent */
} vfd_domain_memory_device;

typedef struct vfd_domain_vdpa {
	char *device;                 /* /dev/vhost-vdpa-N, NULL when absent */
	bool is_disk;                 /* <disk type='vhostvdpa'>, else <interface type='vdpa'> */
} vfd_domain_vdpa;

/*
 * A <controller type='pci'>. libvirt numbers one written without an index
 * itself, before anything else looks at the controllers
 * (virDomainAssignControllerIndexes): in document order, each takes the
 * lowest index no PCI controller has yet. index is that number then.
 */
typedef struct vfd_domain_pci_controller {
	unsigned index;
	bool index_given;             /* false: numbered as libvirt does */
	char *model;                  /* "pci-root", "pcie-root-port", ...; NULL when absent */
} vfd_domain_pci_controller;

typedef struct vfd_domain {
	char *name;                   /* NULL when absent */
	char *uuid;                   /* <uuid>, canonical lower case; NULL when absent */
	char *virt_type;              /* <domain type=...>: "kvm", "qemu", ... */
	char *arch;                   /* <os><type arch=...>, NULL when absent */
	char *machine;                /* <os><type machine=...>, NULL when absent */

	/* libvirt's virDomainDefGetMemoryTotal(): <memory>, or the NUMA cells
	 * plus memory devices when <memory> is absent; KiB, rounded up. */
	uint64_t memory_kib;
	uint64_t max_memory_kib;      /* <maxMemory>, 0 when absent */
	unsigned max_memory_slots;    /* <maxMemory slots=...>, 0 when absent */
	size_t n_numa_cells;          /* <cpu><numa><cell>: QEMU gives each its own RAM backend */
	vfd_domain_memory_device *memory_devices; /* in document order */
	size_t n_memory_devices;
	bool has_hard_limit;          /* <memtune><hard_limit> below libvirt's "unlimited" */
	uint64_t hard_limit_kib;
	bool memory_locked;           /* <memoryBacking><locked/> */
	char *iommu_model;            /* <devices><iommu model=...>, NULL without a vIOMMU */

	unsigned *pci_root_indexes;   /* <controller type='pci' model='pci-root'>, indexes as numbered */
	size_t n_pci_root_indexes;
	vfd_domain_pci_controller *pci_controllers; /* every <controller type='pci'>, in document order */
	size_t n_pci_controllers;
	/* <interface type='network'>: libvirt resolves it when the domain starts, to a
	 * VFIO host device if the network is a hostdev pool (<forward mode='hostdev'>) */
	size_t n_network_interfaces;
	uint8_t guest_bus_used[32];   /* bitmap: buses named by explicit guest PCI addresses */

	vfd_domain_hostdev *hostdevs;
	size_t n_hostdevs;
	vfd_domain_nvme_disk *nvme_disks;
	size_t n_nvme_disks;
	vfd_domain_vdpa *vdpa_devices;
	size_t n_vdpa_devices;
} vfd_domain;

vfd_domain *vfd_domain_free(vfd_domain *d);
VFD_DEFINE_CLEANUP(vfd_domain, vfd_domain_free)

/*
 * Parses a domain XML document of size bytes (no NUL needed). Errors:
 * -EFBIG over VFD_DOMAIN_XML_MAX_BYTES, -ENODATA empty, -EPERM DOCTYPE or
 * entity, -ELOOP too deep, -EBADMSG not well-formed or not UTF-8, -EINVAL
 * wrong root element or a bad value, -ERANGE a number or size too large,
 * -ENOMEM.
 */
int vfd_domain_parse_xml(const char *xml, size_t size, vfd_domain **ret, char **error_message);

/*
 * Reads path ("-" for standard input) with at most VFD_DOMAIN_XML_MAX_BYTES
 * bytes, then parses it. The size check comes before parsing, and a larger
 * input is never read past the cap.
 */
int vfd_domain_parse_file(const char *path, vfd_domain **ret, char **error_message);

/*
 * libvirt's scaled memory values: value is a decimal count, unit one of
 * b/byte/bytes, k/KiB (1024), KB (1000), M/MiB, MB, G/GiB, GB, T/TiB, TB,
 * P/PiB, PB, E/EiB, EB (case-insensitive); NULL or "" means KiB. The result
 * is in KiB rounded up. -EINVAL for a malformed value or unknown unit,
 * -ERANGE when the bytes exceed max_bytes.
 */
int vfd_domain_scale_to_kib(const char *value, const char *unit, uint64_t max_bytes, uint64_t *ret_kib);
/* The same in bytes, with default_scale for a missing unit (1 for bytes, 1024 for KiB). */
int vfd_domain_scale_to_bytes(const char *value, const char *unit, uint64_t default_scale,
			      uint64_t max_bytes, uint64_t *ret_bytes);

/* ---- device aliases of a live domain (libvirt events) ---- */

/*
 * A VFIO host device of a running domain and the alias libvirt gave it
 * (<alias name=...>): what VIR_DOMAIN_EVENT_ID_DEVICE_ADDED/REMOVED name.
 */
typedef struct vfd_domain_alias {
	char *alias;
	vfd_domain_hostdev_kind kind;
	vfd_pci_address pci;  /* PCI (also <interface type='hostdev'>) */
	bool managed;         /* PCI: managed='yes', libvirt moves it to vfio-pci and back itself */
	char *mdev_uuid;      /* MDEV: canonical lower-case UUID */
} vfd_domain_alias;

void vfd_domain_aliases_free(vfd_domain_alias *aliases, size_t n);
/*
 * The VFIO host devices of a domain XML (untrusted, parsed like
 * vfd_domain_parse_xml() with the same errors) that carry an alias, in
 * document order. Devices without an alias (an inactive definition) and
 * non-VFIO ones (USB, SCSI, <driver name='kvm'>) are left out.
 */
int vfd_domain_hostdev_aliases(const char *xml, size_t size, vfd_domain_alias **ret, size_t *ret_n,
			       char **error_message);
