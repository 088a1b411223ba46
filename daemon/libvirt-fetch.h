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
#include <libvirt/libvirt.h>
#include <systemd/sd-event.h>

typedef struct LibvirtFetch LibvirtFetch;

/*
 * On the loop: the XML of domain name (owned by the callee, NULL when the
 * domain is gone or not running, or the call failed: error says why).
 */
typedef void (*LibvirtFetchDone)(void *userdata, const char *name, const char *alias, char *xml,
				 const char *error);

int libvirt_fetch_new(sd_event *e, LibvirtFetchDone done, void *userdata, LibvirtFetch **ret);
/* results still under way are dropped (their threads free them) */
LibvirtFetch *libvirt_fetch_free(LibvirtFetch *f);

/*
 * Looks domain name up, and if it runs, reads its live XML, on a new
 * thread; done() gets it with alias (may be NULL) passed through.
 */
int libvirt_fetch_xml(LibvirtFetch *f, virConnectPtr conn, const char *name, const char *alias);
