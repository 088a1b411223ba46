/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfiod as libvirt's iommufd broker (Manager.StartLibvirtDomain,
 * docs/libvirt.md "The iommufd broker").
 *
 * A defined, shut-off domain whose XML says <iommufd enabled='yes'
 * fdgroup='NAME'/> takes its iommufd from the client that starts it
 * (libvirt >= 12.2). vfiod is that client:
 *
 *   1. reads the domain's XML (thread: libvirt calls block);
 *   2. on the loop: prepares a VM of the domain's name and UUID on the
 *      iommufd backend (vfiod opens /dev/iommu and sets per-process
 *      accounting before any object exists), claims every unmanaged PCI
 *      hostdev, and duplicates its iommufd;
 *   3. thread: virDomainFDAssociate(NAME, the duplicate) and
 *      virDomainCreate() on vfiod's own libvirt connection (the one of
 *      libvirt-events.h: an association lives on the connection that
 *      made it, and libvirt takes it when the domain starts). libvirtd
 *      runs the QEMU hook meanwhile, which leaves a VM of the iommufd
 *      backend to vfiod (cli/libvirt-hook/hook-bus.c);
 *   4. on the loop: QEMU's pid from libvirt's pidfile, AttachVMM
 *      (vfiod follows QEMU, applies its RLIMIT_MEMLOCK plan, checks the
 *      charge), and the VM's path is the answer.
 *
 * Any failure releases the prepared VM (every claim given back). The VM
 * is released on QEMU's exit (destroy, shutdown, crash).
 */
#pragma once

typedef struct Manager Manager;
typedef struct VM VM;

/*
 * The end of a start: r 0 and the VM (QEMU attached), or r negative and a
 * sentence saying why (vm NULL). Called once, on the loop.
 */
typedef void (*LibvirtBrokerDone)(void *userdata, int r, const char *message, VM *vm);

/*
 * Starts the defined domain name as described above. 0: under way, done
 * hears the end. Negative, done never called: -ENOTCONN vfiod has no
 * libvirt connection, -ENOTUNIQ vfiod holds a VM of that name, -ENOMEM.
 * The caller authorized the start (manager-dbus-libvirt.c: root only).
 */
int libvirt_broker_start(Manager *m, const char *name, LibvirtBrokerDone done, void *userdata);

/* libvirt's pidfiles of QEMU domains (also the hook's) */
#define LIBVIRT_BROKER_QEMU_STATE_DIR "/run/libvirt/qemu"
