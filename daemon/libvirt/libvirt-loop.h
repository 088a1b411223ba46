/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvirt's client library on vfiod's sd-event loop.
 *
 * The remote driver needs an event implementation for its socket, its
 * keepalive timer and the dispatch of domain events. libvirt's own
 * (virEventRegisterDefaultImpl) wants a thread spinning
 * virEventRunDefaultImpl, and its callbacks would then run beside the
 * manager's; here every libvirt watch and timer is an sd-event source
 * instead, so libvirt's callbacks run on the one thread that owns the
 * manager, between bus calls, like every other vfiod event.
 *
 * libvirt's contract (libvirt-event.h), as implemented here:
 *   handles  fd + READABLE/WRITABLE; ERROR and HANGUP are always reported.
 *            An update to no events disables the watch. One fd may be
 *            watched twice (libvirt allows it; epoll does not: the second
 *            watch is on a duplicate of the fd).
 *   timers   a period in ms: -1 disabled, 0 fires on every loop
 *            iteration, N > 0 fires every N ms until changed.
 *   removal  may happen from inside the watch's own callback; the free
 *            callback (ff) runs later from a clean stack (a defer source),
 *            never inside the remove call: libvirt holds locks there.
 *
 * There is one event implementation per process (virEventRegisterImpl is
 * global), so the loop is a process-wide setting as well.
 *
 * Threads: libvirt calls these from whichever thread makes an RPC (vfiod's
 * fetch and broker threads). Only the thread that set the loop touches
 * sd-event; a call from another thread is queued, in order, and applied by
 * the loop (an eventfd wakes it), as libvirt's own poll loop applies its
 * updates late too. An add from another thread gets its id at once; a
 * remove or update from there answers 0 / nothing, whatever the loop
 * finds when it applies it (a failed add is logged, its ff run).
 */
#pragma once

#include <systemd/sd-event.h>

#include "vfiod/libvirt-dl.h"

/*
 * Makes event libvirt's event loop, in the library lv. Call once, before
 * the first virConnectOpen(). Also silences libvirt's default error
 * printer: vfiod logs libvirt's errors itself (virGetLastErrorMessage()).
 */
int libvirt_loop_install(sd_event *event, const vfd_libvirt *lv);

/*
 * The implementation, as libvirt calls it. Exported for the unit test,
 * which drives it like libvirt would (tests/unit/test-libvirt-loop.c).
 * libvirt_loop_set_event() points it at a loop without registering it
 * with libvirt; NULL drops every watch (their ff run at once).
 */
void libvirt_loop_set_event(sd_event *event);
int libvirt_loop_add_handle(int fd, int events, virEventHandleCallback cb, void *opaque,
			    virFreeCallback ff);
void libvirt_loop_update_handle(int watch, int events);
int libvirt_loop_remove_handle(int watch);
int libvirt_loop_add_timeout(int interval_ms, virEventTimeoutCallback cb, void *opaque,
			     virFreeCallback ff);
void libvirt_loop_update_timeout(int timer, int interval_ms);
int libvirt_loop_remove_timeout(int timer);
