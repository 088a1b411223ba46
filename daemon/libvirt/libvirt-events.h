/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfiod as a libvirt client: what libvirt does to the devices of a VM
 * vfiod knows, learnt from libvirt's domain events, since libvirt has no
 * hook for device hotplug.
 *
 * Connection. libvirt is optional: vfiod starts and works without it.
 * It connects to the URI (default qemu:///system) on its sd-event loop
 * (libvirt-loop.h), retries with a backoff from 1 s up to 60 s while
 * libvirtd is not there, and when the connection closes (libvirtd
 * restarted: the close callback, or the keepalive timing out) it
 * reconnects the same way. Events of the time in between are lost: on
 * every connect the live XML of each running domain vfiod holds is
 * compared with the VM (a device libvirt attached meanwhile is added
 * after the fact, one the XML lacks is only reported) and its aliases
 * are learnt.
 *
 * Trust. The events come from a libvirt client that may attach devices
 * to a domain, and that client is no one vfiod trusts with host devices.
 * So:
 *   - a domain is a VM's only when its UUID is the VM's UUID (the hook
 *     registers domains under their UUID); a name proves nothing, and a
 *     VM registered outside libvirt is never a domain's;
 *   - an alias is a label, never a device: the device is what the
 *     domain's live XML (read on a thread, libvirt-fetch.h; parsed as
 *     untrusted, lib/domain-xml.c) shows under that alias, and only a
 *     <hostdev type='pci'> (by source address), <hostdev type='mdev'> (by
 *     source UUID) or <interface type='hostdev'> counts. A disk or NIC
 *     with a "ua-vfiod-" alias changes nothing.
 *
 * Events, for a domain whose UUID is a VM's:
 *   DEVICE_ADDED    the alias is looked up in the live XML. A VFIO host
 *                   device the VM has already (added through vfioctl
 *                   first, the safe order) is now in use: counted in the
 *                   expected charge, charge checked. One the VM does not
 *                   have is added to it after the fact: QEMU already
 *                   uses it, so the claim, the limit and the accounting
 *                   follow the attach instead of preceding it (logged).
 *   DEVICE_REMOVED  the device that alias named in the last live XML read
 *                   (libvirt-devices.h) is given back once the live XML
 *                   no longer has it, and QEMU is proven to have closed
 *                   its group (type1 with vmm_opens_groups: an exclusive
 *                   open of /dev/vfio/N succeeds; the kernel allows one
 *                   opener per group); the limit is lowered after.
 *   DEVICE_REMOVAL_FAILED  logged; the device stays with the VM.
 *   LIFECYCLE       a stopped or crashed domain forgets its aliases; the
 *                   VM itself is released by its VMM's pidfd exit, as any
 *                   VM. A started domain has its aliases learnt.
 */
#pragma once

#include <stdbool.h>
#include "vfiod/libvirt-dl.h"

typedef struct Manager Manager;
typedef struct LibvirtEvents LibvirtEvents;

/* the default URI, and the value that turns the client off */
#define LIBVIRT_EVENTS_DEFAULT_URI "qemu:///system"
#define LIBVIRT_EVENTS_URI_OFF "none"

/*
 * Starts the client: loads libvirt's client library (vfiod/libvirt-dl.h),
 * installs the event loop bridge, connects now or schedules the retries.
 * Fails on resource errors (-ENOMEM, ...) and, logged here (at info level
 * for the default URI, else as a warning), when the library cannot be
 * loaded (-ENOPKG not installed, -ENOSYS too old);
 * never because libvirtd is absent.
 */
int libvirt_events_new(Manager *m, const char *uri, LibvirtEvents **ret);
LibvirtEvents *libvirt_events_free(LibvirtEvents *l);

/*
 * A VM got its VMM (RegisterVM, AttachVMM): when it is a running libvirt
 * domain, its device aliases are learnt now (a DEVICE_REMOVED names only
 * the alias) and devices libvirt has that the VM lacks are added after the
 * fact. l may be NULL (no libvirt client); nothing happens while
 * disconnected (the connect does it).
 */
typedef struct VM VM;
void libvirt_events_vm_ready(LibvirtEvents *l, VM *vm);

/*
 * The client's connection and library, for the iommufd broker
 * (libvirt-broker.h), which associates descriptors on it: NULL when l is
 * NULL or not connected.
 */
virConnectPtr libvirt_events_connection(LibvirtEvents *l);

/*
 * What a failed after-the-fact claim (errno r) of a device libvirt
 * attached means: REFUSED, the device is not the VM's to have (another
 * VM's, the host's, above the VM's cap, no IOMMU group): libvirt is asked
 * to detach it again. LATER, the VM was in the middle of a device change
 * (vm_changing: a give-back, a move of its charge to another process):
 * the claim is tried again once that ended, never a detach. FAILED, a
 * trouble of vfiod's: logged.
 */
typedef enum LibvirtClaimVerdict {
	LIBVIRT_CLAIM_REFUSED,
	LIBVIRT_CLAIM_LATER,
	LIBVIRT_CLAIM_FAILED,
} LibvirtClaimVerdict;

LibvirtClaimVerdict libvirt_claim_verdict(int r, bool vm_changing);
const vfd_libvirt *libvirt_events_library(LibvirtEvents *l);
