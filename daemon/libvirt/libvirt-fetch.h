/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A domain's live XML, fetched on a thread of its own and delivered to
 * vfiod's event loop.
 *
 * Why a thread: libvirtd runs its QEMU hooks with the domain locked, the
 * hooks call vfiod over the bus, and every libvirt call about that domain
 * (lookup, state, XML) waits for its lock. Made on vfiod's one thread,
 * such a call would stop vfiod from answering the hook until the hook's
 * bus call times out (measured: a release hook failing after 25 s, the VM
 * kept). The thread does only the libvirt calls; everything that touches
 * vfiod's state runs in the callback, on the loop. libvirt's connection is
 * thread-safe; the thread holds a reference to it.
 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "vfiod/libvirt-dl.h"

typedef struct LibvirtFetch LibvirtFetch;

/* why a domain is read: what the loop does with its XML (libvirt-events.c) */
typedef enum LibvirtFetchWhy {
	LIBVIRT_FETCH_RECONCILE, /* after a (re)connect or a start: the whole domain */
	LIBVIRT_FETCH_ADDED,     /* DEVICE_ADDED of alias */
	LIBVIRT_FETCH_REMOVED,   /* DEVICE_REMOVED of alias, which named device */
	LIBVIRT_FETCH_DETACH,    /* not a read: libvirt is asked to detach alias (live), which named device */
} LibvirtFetchWhy;

typedef struct LibvirtFetchRequest {
	const char *uuid;   /* the domain, by UUID (never by name) */
	LibvirtFetchWhy why;
	const char *alias;  /* ADDED, REMOVED */
	const char *device; /* REMOVED, DETACH: what the alias names (LibvirtDevice.name) */
} LibvirtFetchRequest;

/*
 * On the loop: the request as made, and the XML of its domain (owned by
 * the callee, NULL when the domain is gone or not running, or the call
 * failed: error says why).
 */
typedef void (*LibvirtFetchDone)(void *userdata, const LibvirtFetchRequest *req, char *xml,
				 const char *error);

/* lv: libvirt's client library, which the threads call */
int libvirt_fetch_new(sd_event *e, const vfd_libvirt *lv, LibvirtFetchDone done, void *userdata,
		      LibvirtFetch **ret);
/* results still under way are dropped (their threads free them) */
LibvirtFetch *libvirt_fetch_free(LibvirtFetch *f);

/*
 * Looks the domain up by its UUID, and if it runs, reads its live XML, on
 * a new thread; done() gets it with a copy of req. LIBVIRT_FETCH_DETACH
 * asks libvirt to detach req->alias from the running domain instead:
 * done() gets no XML, and error NULL when libvirt accepted the detach.
 */
int libvirt_fetch_xml(LibvirtFetch *f, virConnectPtr conn, const LibvirtFetchRequest *req);
