/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvirt's device events that cannot be handled now, handled again on a
 * timer instead of being lost:
 *
 * - LIBVIRT_LATER_CHANGE: the VM is in the middle of a device change (a
 *   give-back, a move of its charge to another process; vfiod changes
 *   one device of a VM at a time). Tried again every 500 ms, at most
 *   LIBVIRT_LATER_CHANGE_MAX times: 630 s, past the longest move of a
 *   VM's charge (its deadline is at most 600 s, vm.h).
 * - LIBVIRT_LATER_LAST_CLOSE: libvirt detached a device that is still
 *   open. libvirt reports the detach once QEMU deleted the device, but
 *   the last close of its VFIO file can still be running in the kernel
 *   (vfio-pci resets the function on close, which can take seconds).
 *   The give-back is tried again with a backoff from 200 ms up to 5 s,
 *   for LIBVIRT_LATER_LAST_CLOSE_USEC after the first refusal.
 *
 * One pending event per VM and device: a newer event about the device
 * replaces the older (an attach of a device whose give-back waits ends
 * that wait). At most LIBVIRT_LATER_MAX_PER_VM events of one VM wait at
 * once, and LIBVIRT_LATER_MAX in all. The handler hears each event once,
 * and may put it off again.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "libvirt-devices.h"
#include "vfiod/util.h"

#define LIBVIRT_LATER_CHANGE_USEC (500 * UINT64_C(1000))
#define LIBVIRT_LATER_CHANGE_MAX 1260u
#define LIBVIRT_LATER_LAST_CLOSE_FIRST_USEC (200 * UINT64_C(1000))
#define LIBVIRT_LATER_LAST_CLOSE_STEP_MAX_USEC (5 * UINT64_C(1000000))
#define LIBVIRT_LATER_LAST_CLOSE_USEC (60 * UINT64_C(1000000))
#define LIBVIRT_LATER_MAX_PER_VM 64u
#define LIBVIRT_LATER_MAX 256u

typedef enum LibvirtLaterWhy {
	LIBVIRT_LATER_CHANGE,
	LIBVIRT_LATER_LAST_CLOSE,
} LibvirtLaterWhy;

typedef struct LibvirtLaterEvent {
	unsigned vm_id;
	bool attach;         /* DEVICE_ADDED; else DEVICE_REMOVED */
	LibvirtDevice dev;   /* for a removal only the name counts */
	char alias[128];     /* libvirt's alias of the device, for the journal */
	unsigned tries;      /* put off that often before */
	/* a removal: the add of the device it was about (VMDevice.serial); 0 for an attach */
	uint64_t device_serial;
	/* CLOCK_MONOTONIC: when the give-back first found the device open; 0: it did not */
	uint64_t last_close_since_usec;
} LibvirtLaterEvent;

typedef struct LibvirtLater LibvirtLater;
/* an event's turn: the handler looks its VM up again by ev->vm_id */
typedef void (*LibvirtLaterHandler)(void *userdata, const LibvirtLaterEvent *ev);

int libvirt_later_new(sd_event *e, LibvirtLaterHandler handler, void *userdata, LibvirtLater **ret);
LibvirtLater *libvirt_later_free(LibvirtLater *l);
VFD_DEFINE_CLEANUP(LibvirtLater, libvirt_later_free)

/*
 * The delay before the next try of an event put off for why that was put
 * off tries times before. 0: no more tries (the change took too long, or
 * the last close did not come within LIBVIRT_LATER_LAST_CLOSE_USEC of
 * since_usec; now is CLOCK_MONOTONIC's time now).
 */
uint64_t libvirt_later_delay_usec(LibvirtLaterWhy why, unsigned tries, uint64_t since_usec,
				  uint64_t now);

/*
 * Puts ev off for why (ev->tries counts this one on: the caller passes
 * the event as it was handled). Replaces a waiting event of the same VM
 * and device. -ETIME: no more tries (libvirt_later_delay_usec() said 0);
 * -ENOSPC: LIBVIRT_LATER_MAX_PER_VM events of the VM, or LIBVIRT_LATER_MAX
 * in all, wait already; -ENOMEM.
 */
int libvirt_later_add(LibvirtLater *l, const LibvirtLaterEvent *ev, LibvirtLaterWhy why);
/* 1 and a copy in *ret_ev when an event of VM vm_id about device name waits, else 0 */
int libvirt_later_get(const LibvirtLater *l, unsigned vm_id, const char *name, LibvirtLaterEvent *ret_ev);
/* drops the waiting event of VM vm_id about device name; 1 when there was one, into *ret_ev */
int libvirt_later_cancel(LibvirtLater *l, unsigned vm_id, const char *name, LibvirtLaterEvent *ret_ev);
size_t libvirt_later_count(const LibvirtLater *l);
