/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What one call of the libvirt QEMU hook asks for, decided before any bus
 * call: the operation from argv, and from the domain XML on standard input
 * the VM vfiod should hold (name, UUID, memory, vIOMMU, the host devices
 * vfiod claims). No D-Bus here and no printing: errors are a negative errno
 * plus one sentence in *error_message.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfiod/memlock.h"
#include "vfiod/util.h"

/* libvirt's hook operations that concern vfiod; every other one is HOOK_OP_OTHER */
typedef enum HookOp {
	HOOK_OP_PREPARE,
	HOOK_OP_STARTED,
	HOOK_OP_STOPPED,
	HOOK_OP_RELEASE,
	HOOK_OP_RECONNECT,
	HOOK_OP_OTHER,
} HookOp;

/* "prepare" -> HOOK_OP_PREPARE, ...; unknown or NULL -> HOOK_OP_OTHER */
HookOp hook_op_from_string(const char *s);

/*
 * The domain name libvirt passes as argv[1] is checked before reading
 * anything: not empty, at most HOOK_ARG_NAME_MAX bytes, no control bytes.
 * (libvirt allows more than vfiod does; a name vfiod cannot hold is only
 * an error where vfiod must act.) -EINVAL with a message otherwise.
 */
#define HOOK_ARG_NAME_MAX 1024
int hook_check_name_arg(const char *name, char **error_message);

typedef struct HookVM {
	char *name;
	char *uuid;              /* canonical lower case */
	uint64_t memory_bytes;
	bool viommu;
	char **pci_devices;      /* canonical addresses of unmanaged VFIO PCI hostdevs */
	size_t n_pci_devices;
	char **mdevs;            /* UUIDs of <hostdev type='mdev'> */
	size_t n_mdevs;
	size_t n_managed_skipped; /* managed='yes' PCI hostdevs: libvirt's own */
	vfd_memlock_spec *spec;  /* the domain as the memlock model reads it (type1) */
	uint64_t dma_mappings;   /* predicted type1 mappings for vfiod; 0: unknown (vIOMMU) */
} HookVM;

HookVM *hook_vm_free(HookVM *vm);
VFD_DEFINE_CLEANUP(HookVM, hook_vm_free)

/* true when vfiod has something to hold for this domain */
static inline bool hook_vm_has_devices(const HookVM *vm)
{
	return vm->n_pci_devices > 0 || vm->n_mdevs > 0;
}

/*
 * Reads the domain XML (size bytes, untrusted: lib/domain-xml.c) for the
 * domain libvirt named name_arg. Errors: those of vfd_domain_parse_xml(),
 * and -EINVAL when the document names another domain or has no <name> or
 * <uuid>.
 */
int hook_vm_from_xml(const char *name_arg, const char *xml, size_t size, HookVM **ret,
		     char **error_message);

/*
 * type1's mapping budget of the domain (lib/memlock-dma.c) against limit,
 * type1's dma_entry_limit on this host (0: unreadable, the default then).
 * Over the limit: -EXFULL, *error_message names count and limit and says
 * what to do. Near it, or unknown behind a vIOMMU: 0 and *ret_warning set
 * (NULL otherwise). *ret_mappings: the count to hand vfiod, 0 when unknown
 * or when no type1 container is made (every hostdev <driver iommufd='yes'/>).
 */
int hook_vm_check_dma_budget(const HookVM *vm, uint64_t limit, uint64_t *ret_mappings, char **ret_warning,
			     char **error_message);
