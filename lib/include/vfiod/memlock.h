/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The memory locking (RLIMIT_MEMLOCK) model: a pure function from a VM
 * description to a limit in bytes, with a breakdown that says which rule
 * produced which bytes. Nothing here touches the system. docs/memlock.md
 * describes both policies and their sources.
 *
 *   libvirt  exactly libvirt 9.0's qemuDomainGetMemLockLimitBytes() for
 *            the same domain (or its later formula, see
 *            vfd_memlock_libvirt_compat), for drop-in use beside libvirt;
 *   precise  (default) what Linux 6.12 will charge: type1 containers and
 *            iommufd IOASes charge mapped memory once each, mdev-only
 *            containers only the vendor driver's pins (bounded by a
 *            per-type budget), vhost-vdpa its own pins; plus a headroom;
 *            never below the pins observed now.
 *
 * Errors are negative errno values. Where an error_message parameter is
 * given and not NULL, *error_message is set on failure only (allocated).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfiod/domain-xml.h"
#include "vfiod/inventory.h"

/* RLIM_INFINITY: no limit at all (libvirt's "unlimited" maps here too). */
#define VFD_MEMLOCK_UNLIMITED UINT64_MAX

typedef enum vfd_memlock_policy {
	VFD_MEMLOCK_POLICY_PRECISE,
	VFD_MEMLOCK_POLICY_LIBVIRT,
	_VFD_MEMLOCK_POLICY_MAX,
} vfd_memlock_policy;

/* Which of libvirt's formulas the libvirt policy reproduces. */
typedef enum vfd_memlock_libvirt_compat {
	/* libvirt 9.0 (Debian 12): NVMe disks count as VFIO devices */
	VFD_MEMLOCK_LIBVIRT_9_0,
	/* libvirt after 9.0: NVMe disks and vhost-vdpa disks each add a full copy */
	VFD_MEMLOCK_LIBVIRT_LATER,
	_VFD_MEMLOCK_LIBVIRT_MAX,
} vfd_memlock_libvirt_compat;

/* How VFIO devices reach the IOMMU. */
typedef enum vfd_memlock_backend {
	VFD_MEMLOCK_BACKEND_TYPE1,   /* /dev/vfio/vfio container, vfio_iommu_type1 */
	VFD_MEMLOCK_BACKEND_IOMMUFD, /* /dev/iommu IOAS, device cdevs */
	_VFD_MEMLOCK_BACKEND_MAX,
} vfd_memlock_backend;

/* Where iommufd charges pins (IOMMU_OPTION_RLIMIT_MODE). */
typedef enum vfd_memlock_iommufd_accounting {
	/* mode 0, the default: the user's locked_vm, shared by all its processes */
	VFD_MEMLOCK_IOMMUFD_PER_USER,
	/* mode 1 (needs CAP_SYS_RESOURCE): the process's mm->locked_vm, like type1 */
	VFD_MEMLOCK_IOMMUFD_PER_PROCESS,
	_VFD_MEMLOCK_IOMMUFD_MAX,
} vfd_memlock_iommufd_accounting;

typedef enum vfd_memlock_device_kind {
	VFD_MEMLOCK_DEVICE_PCI,  /* vfio-pci passthrough: an IOMMU-backed domain */
	VFD_MEMLOCK_DEVICE_MDEV, /* mediated device: pins on demand through the vendor driver */
	VFD_MEMLOCK_DEVICE_NVME, /* QEMU's userspace NVMe driver: its own type1 container */
	VFD_MEMLOCK_DEVICE_VDPA, /* vhost-vdpa: pins into mm->pinned_vm */
	_VFD_MEMLOCK_DEVICE_MAX,
} vfd_memlock_device_kind;

/* Address space of devices that share QEMU's system memory view (no vIOMMU). */
#define VFD_MEMLOCK_SPACE_AUTO (-1)

typedef struct vfd_memlock_device {
	vfd_memlock_device_kind kind;
	char *name;       /* for the breakdown: "0000:01:00.0", an mdev UUID, "vda", ... */
	char *mdev_type;  /* MDEV: type id for the budget ("nvidia-63"), NULL when unknown */
	/*
	 * PCI/MDEV: devices with the same value >= 0 share one container/IOAS.
	 * VFD_MEMLOCK_SPACE_AUTO: what QEMU does: one shared space without a
	 * vIOMMU, one space per device behind a vIOMMU. NVMe and vDPA devices
	 * always have their own.
	 */
	int address_space;
	bool vdpa_disk;   /* VDPA: a vhost-vdpa block device rather than a NIC */
} vfd_memlock_device;

/* How the VMM lays guest RAM out, for the type1 mapping count (vfd_dma_budget_compute). */
typedef enum vfd_memlock_machine {
	VFD_MEMLOCK_MACHINE_OTHER,   /* RAM in one piece (arm virt, pSeries, a VMM of its own) */
	VFD_MEMLOCK_MACHINE_X86_PC,  /* i440fx: RAM split at 3.5 GiB when it reaches it */
	VFD_MEMLOCK_MACHINE_X86_Q35, /* q35: RAM split at 2 GiB when it reaches 2.75 GiB */
	_VFD_MEMLOCK_MACHINE_MAX,
} vfd_memlock_machine;

/* A memory device: guest RAM besides the boot memory. */
typedef struct vfd_memlock_memory_device {
	bool virtio_mem;          /* plugged block by block; else one piece (DIMM, NVDIMM, ...) */
	uint64_t size_bytes;      /* virtio-mem: the most it can plug */
	uint64_t block_bytes;     /* virtio-mem block size; 0: QEMU's default (2 MiB) */
} vfd_memlock_memory_device;

typedef struct vfd_memlock_spec {
	uint64_t memory_kib;      /* guest memory, memory devices included */
	uint64_t max_memory_kib;  /* maximum for memory hotplug, 0 when none */
	bool has_hard_limit;      /* libvirt <memtune><hard_limit> */
	uint64_t hard_limit_kib;
	bool memory_locked;       /* the VMM mlock()s guest memory */
	bool kvm;                 /* hardware virtualization (libvirt domain type 'kvm') */
	bool ppc64;               /* guest architecture ppc64 or ppc64le */
	unsigned n_phbs;          /* pSeries PCI host bridges after address assignment */
	bool viommu;              /* the guest has a virtual IOMMU */
	vfd_memlock_backend backend;
	vfd_memlock_iommufd_accounting iommufd_accounting;

	vfd_memlock_device *devices;
	size_t n_devices;

	/* guest RAM layout, for the type1 mapping count only (not for any limit) */
	vfd_memlock_machine machine;
	size_t n_numa_cells;      /* each NUMA node's RAM is a memory region of its own */
	unsigned max_memory_slots; /* memory devices the guest may have (hotplug) */
	vfd_memlock_memory_device *memory_devices;
	size_t n_memory_devices;

	/*
	 * The VMM's own statement of what it maps besides guest memory, per
	 * address space: the precise policy adds it instead of the
	 * configuration's headroom.
	 */
	bool has_headroom;
	uint64_t headroom_bytes;

	/* libvirt 9.0 only: a VFIO device is being added that is not in the list yet */
	bool libvirt_force_vfio;

	/* observed now, when the VM runs (/proc/PID/status, the daemon's books) */
	bool has_observed;
	uint64_t observed_locked_bytes;    /* VmLck: mm->locked_vm */
	uint64_t observed_pinned_bytes;    /* VmPin: mm->pinned_vm */
	/* iommufd per-user accounting: what the same user's other processes hold */
	uint64_t same_user_locked_bytes;

	/*
	 * Sentences about the input the limit rests on (e.g. a domain XML
	 * that libvirt has not expanded yet): every plan repeats them as
	 * entries of rule "input-note", 0 bytes, not counted.
	 */
	char **notes;
	size_t n_notes;
} vfd_memlock_spec;

int vfd_memlock_spec_new(vfd_memlock_spec **ret);
vfd_memlock_spec *vfd_memlock_spec_free(vfd_memlock_spec *spec);
VFD_DEFINE_CLEANUP(vfd_memlock_spec, vfd_memlock_spec_free)
/* Appends a device; name and mdev_type are copied (either may be NULL). */
int vfd_memlock_spec_add_device(vfd_memlock_spec *spec, vfd_memlock_device_kind kind,
				const char *name, const char *mdev_type, int address_space);
/* Appends a memory device (its size is in memory_kib already). */
int vfd_memlock_spec_add_memory_device(vfd_memlock_spec *spec, bool virtio_mem, uint64_t size_bytes,
				       uint64_t block_bytes);
/* Appends a note (see notes above), printf-style. */
int vfd_memlock_spec_add_note(vfd_memlock_spec *spec, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* -EINVAL with a sentence when the spec cannot describe a VM (e.g. no memory). */
int vfd_memlock_spec_validate(const vfd_memlock_spec *spec, char **error_message);

/* ---- configuration of the precise policy (and the libvirt formula variant) ---- */

#define VFD_MEMLOCK_DEFAULT_HEADROOM_BYTES (64ULL << 20)
#define VFD_MEMLOCK_DEFAULT_MDEV_BUDGET_BYTES (256ULL << 20)

typedef struct vfd_memlock_mdev_budget {
	char *mdev_type;
	uint64_t bytes;
} vfd_memlock_mdev_budget;

typedef struct vfd_memlock_config {
	/* added to each address space that maps all guest memory: ROMs, firmware, VGA RAM */
	uint64_t headroom_bytes;
	/* most an mdev of an unlisted type is expected to pin */
	uint64_t mdev_default_budget_bytes;
	vfd_memlock_mdev_budget *mdev_budgets;
	size_t n_mdev_budgets;
	vfd_memlock_libvirt_compat libvirt_compat;
} vfd_memlock_config;

/* Defaults as documented; free with vfd_memlock_config_free(). */
int vfd_memlock_config_new(vfd_memlock_config **ret);
vfd_memlock_config *vfd_memlock_config_free(vfd_memlock_config *cfg);
VFD_DEFINE_CLEANUP(vfd_memlock_config, vfd_memlock_config_free)
/* Sets (or replaces) the budget of one mdev type. */
int vfd_memlock_config_set_mdev_budget(vfd_memlock_config *cfg, const char *mdev_type, uint64_t bytes);
uint64_t vfd_memlock_config_mdev_budget(const vfd_memlock_config *cfg, const char *mdev_type);
/*
 * Reads "key = value" lines ('#' comments, blank lines):
 *   headroom = SIZE
 *   mdev-default-budget = SIZE
 *   mdev-budget TYPE = SIZE
 *   libvirt-compat = 9.0 | later
 * SIZE is a number with an optional unit as in domain XML (default bytes
 * here, not KiB: "64M", "1GiB", "65536"). Errors name the line.
 */
int vfd_memlock_config_parse(vfd_memlock_config *cfg, const char *text, size_t size, char **error_message);
/* A size as the config file takes it, in bytes. */
int vfd_memlock_parse_size(const char *s, uint64_t *ret_bytes);

/* ---- the result ---- */

typedef struct vfd_memlock_entry {
	char *rule;    /* stable id, e.g. "guest-memory", "mmio-window", "ppc64-hash-table" */
	uint64_t bytes;
	char *detail;  /* a sentence for people: which input gave these bytes, and why */
	/* the counted entries add up to limit_bytes (unless it is 0 or unlimited) */
	bool counted;
} vfd_memlock_entry;

typedef struct vfd_memlock_plan {
	vfd_memlock_policy policy;
	vfd_memlock_libvirt_compat libvirt_compat; /* libvirt policy only */
	/* 0: leave the limit alone (libvirt's convention); VFD_MEMLOCK_UNLIMITED: RLIM_INFINITY */
	uint64_t limit_bytes;
	/* precise: the kernel counter the limit is checked against ("locked_vm", ...), or NULL */
	const char *binding_counter;
	vfd_memlock_entry *entries;
	size_t n_entries;
} vfd_memlock_plan;

vfd_memlock_plan *vfd_memlock_plan_free(vfd_memlock_plan *plan);
VFD_DEFINE_CLEANUP(vfd_memlock_plan, vfd_memlock_plan_free)

/* cfg NULL: defaults. -EINVAL bad spec, -EOVERFLOW a sum beyond 64 bits. */
int vfd_memlock_plan_compute(const vfd_memlock_spec *spec, const vfd_memlock_config *cfg,
			     vfd_memlock_policy policy, vfd_memlock_plan **ret, char **error_message);

/*
 * What the kernel charges for spec's devices once the VMM has mapped all
 * of guest memory in each address space (the precise policy's spaces,
 * without headroom or observed pins, which only pad the limit): guest
 * memory once per container/IOAS with an IOMMU-backed device and once per
 * NVMe disk (*ret_bytes); an mdev-only space charges only what the vendor
 * driver pins, which no model predicts: up to the sum of its budgets, at
 * most guest memory (*ret_slack). The counter is locked_vm (per-user
 * iommufd accounting: the user's locked_vm); vDPA pins go to pinned_vm
 * and are not included. cfg NULL: defaults. -EOPNOTSUPP for a VMM that
 * mlock()s its memory and for ppc64 KVM, whose charges this does not
 * model; -EINVAL bad spec, -EOVERFLOW a sum beyond 64 bits.
 */
int vfd_memlock_expected_charge(const vfd_memlock_spec *spec, const vfd_memlock_config *cfg,
				uint64_t *ret_bytes, uint64_t *ret_slack);

/* ---- type1's DMA mapping count (dma_entry_limit) ---- */

/*
 * A type1 container holds at most dma_entry_limit DMA mappings
 * (vfio_iommu_type1's module parameter, U16_MAX by default, read when the
 * container's IOMMU type is set): the next VFIO_IOMMU_MAP_DMA fails with
 * ENOSPC, whatever its size. QEMU maps each RAM section of the guest once
 * per container, and a virtio-mem device once per plugged block, so a
 * large virtio-mem device with a small block size exhausts it. iommufd
 * has no such cap. Behind a vIOMMU that translates, the guest's own IOMMU
 * mappings are mapped one by one, without bound: the count is unknown.
 * docs/memlock.md, "type1 mapping budget".
 */
#define VFD_TYPE1_DEFAULT_DMA_ENTRY_LIMIT 65535u
/* a plan warns above this share of the limit (percent) */
#define VFD_DMA_BUDGET_WARN_PERCENT 90u
/* an allowance for the sections besides guest RAM: firmware and option ROMs,
 * low RAM split around the legacy VGA and BIOS areas */
#define VFD_DMA_FIXED_SECTIONS 8u
/* mmap'ed regions of one assigned device QEMU maps for peer-to-peer DMA:
 * six BARs, one of them split around its MSI-X table */
#define VFD_DMA_DEVICE_P2P_REGIONS 7u
/* QEMU's virtio-mem default block size on x86 (the THP size) */
#define VFD_DMA_VIRTIO_MEM_DEFAULT_BLOCK (2ULL << 20)

typedef enum vfd_dma_verdict {
	VFD_DMA_VERDICT_NONE,    /* no type1 container of VFIO devices (iommufd, or none): no cap */
	VFD_DMA_VERDICT_OK,
	VFD_DMA_VERDICT_NEAR,    /* above VFD_DMA_BUDGET_WARN_PERCENT of the limit: warn */
	VFD_DMA_VERDICT_OVER,    /* above the limit: refuse */
	VFD_DMA_VERDICT_UNKNOWN, /* behind a vIOMMU the guest decides: warn */
	_VFD_DMA_VERDICT_MAX,
} vfd_dma_verdict;

typedef struct vfd_dma_entry {
	char *rule;     /* stable id: "fixed-sections", "boot-memory", "virtio-mem", ... */
	uint64_t count; /* DMA mappings */
	char *detail;   /* a sentence for people */
} vfd_dma_entry;

typedef struct vfd_dma_budget {
	vfd_dma_verdict verdict;
	/* mappings of the busiest type1 container; behind a vIOMMU those of a
	 * guest in passthrough mode only (a floor) */
	uint64_t mappings;
	uint64_t limit;           /* the dma_entry_limit compared with */
	bool limit_from_host;     /* read from the kernel; false: the default */
	vfd_dma_entry *entries;   /* add up to mappings */
	size_t n_entries;
	/* NEAR, OVER, UNKNOWN: one sentence naming count and limit, and what to do */
	char *message;
} vfd_dma_budget;

vfd_dma_budget *vfd_dma_budget_free(vfd_dma_budget *b);
VFD_DEFINE_CLEANUP(vfd_dma_budget, vfd_dma_budget_free)

/*
 * The mapping count of spec's type1 containers against limit (the host's
 * dma_entry_limit; 0 when it cannot be read, e.g. vfio_iommu_type1 is not
 * loaded yet: VFD_TYPE1_DEFAULT_DMA_ENTRY_LIMIT then). Only PCI and mdev
 * devices count: QEMU's userspace NVMe driver has a container of its own.
 * -EINVAL bad spec, -ENOMEM.
 */
int vfd_dma_budget_compute(const vfd_memlock_spec *spec, uint64_t limit, vfd_dma_budget **ret,
			   char **error_message);
/* the verdict for count mappings against limit (both known), without a spec */
vfd_dma_verdict vfd_dma_verdict_for(uint64_t count, uint64_t limit);
const char *vfd_dma_verdict_to_string(vfd_dma_verdict v); /* "none", "ok", "near", "over", "unknown" */

/* ---- from a libvirt domain ---- */

/*
 * Host facts a domain XML does not carry. Any callback may be NULL, and
 * any may fail: the fact is then unknown, and the rules say what that
 * means (libvirt: an unknown IOMMU group isolates nothing).
 */
typedef struct vfd_memlock_host_lookup {
	/* IOMMU group number of a host PCI function, or a negative errno */
	int (*pci_iommu_group)(const vfd_pci_address *addr, void *userdata);
	/* mdev type id of a host mdev (allocated), or a negative errno */
	int (*mdev_type)(const char *uuid, char **ret, void *userdata);
	void *userdata;
} vfd_memlock_host_lookup;

/*
 * Builds the spec libvirt would see for this domain: memory as
 * virDomainDefGetMemoryTotal(), VFIO hostdevs (PCI through VFIO, mdev),
 * NVMe disks, vDPA interfaces and disks, the vIOMMU, and on pSeries the
 * PHBs that libvirt's address assignment ends up with (each isolation
 * group, i.e. host IOMMU group, of a PCI hostdev without a guest address
 * gets its own PHB). backend: the domain XML of libvirt 9.0 cannot say.
 */
int vfd_memlock_spec_from_domain(const vfd_domain *dom, const vfd_memlock_host_lookup *lookup,
				 vfd_memlock_backend backend, vfd_memlock_spec **ret,
				 char **error_message);

/*
 * Reads VmLck and VmPin out of the text of /proc/PID/status into the
 * observed fields of spec (has_observed set). -EBADMSG when missing.
 */
int vfd_memlock_spec_observe_status(vfd_memlock_spec *spec, const char *status_text);

/* ---- names, for the CLI and D-Bus arguments ---- */

const char *vfd_memlock_policy_to_string(vfd_memlock_policy p);          /* "precise", "libvirt" */
int vfd_memlock_policy_from_string(const char *s);                       /* or -EINVAL */
const char *vfd_memlock_libvirt_compat_to_string(vfd_memlock_libvirt_compat c); /* "9.0", "later" */
int vfd_memlock_libvirt_compat_from_string(const char *s);
const char *vfd_memlock_backend_to_string(vfd_memlock_backend b);        /* "type1", "iommufd" */
int vfd_memlock_backend_from_string(const char *s);
const char *vfd_memlock_iommufd_accounting_to_string(vfd_memlock_iommufd_accounting a); /* "user", "process" */
int vfd_memlock_iommufd_accounting_from_string(const char *s);
const char *vfd_memlock_device_kind_to_string(vfd_memlock_device_kind k); /* "pci", "mdev", "nvme", "vdpa" */
int vfd_memlock_device_kind_from_string(const char *s);
