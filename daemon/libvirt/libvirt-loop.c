/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "libvirt-loop.h"
#include "log.h"
#include "vfiod/util.h"

#define USEC_PER_MSEC UINT64_C(1000)

/* one libvirt handle or timer */
typedef struct Watch {
	int id;
	bool is_timer;
	int fd;
	int own_fd;               /* a duplicate of fd we watch instead (see add_handle), or -1 */
	int interval_ms;          /* timers: -1 off, 0 every iteration, else the period */
	sd_event_source *source;  /* io; time or defer for timers; NULL while off */
	virEventHandleCallback handle_cb;
	virEventTimeoutCallback timeout_cb;
	void *opaque;
	virFreeCallback ff;
	struct Watch *next;
} Watch;

/* an ff waiting for a clean stack */
typedef struct PendingFree {
	sd_event_source *defer;
	virFreeCallback ff;
	void *opaque;
	struct PendingFree *next;
} PendingFree;

/*
 * A call of libvirt's on another thread (the fetch and broker threads make
 * libvirt calls; its remote client turns its socket's watch off and on
 * from the calling thread): sd-event is not thread-safe, so the call is
 * queued and the loop applies it (libvirt's own poll loop applies its
 * updates as late). Only the queue and the ids are shared, under lock.
 */
typedef enum OpKind { OP_ADD_HANDLE, OP_UPDATE_HANDLE, OP_REMOVE_HANDLE,
		      OP_ADD_TIMEOUT, OP_UPDATE_TIMEOUT, OP_REMOVE_TIMEOUT } OpKind;

typedef struct Op {
	OpKind kind;
	int id;
	int fd;
	int events_or_ms;
	virEventHandleCallback handle_cb;
	virEventTimeoutCallback timeout_cb;
	void *opaque;
	virFreeCallback ff;
	struct Op *next;
} Op;

static sd_event *loop_event;      /* loop thread only, like everything below but the queue */
static Watch *watches;
static PendingFree *pending_frees;
static _Thread_local bool is_loop_thread; /* each thread its own: no race on who is who */
static sd_event_source *wake_source;

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static Op *queue_head, **queue_tail = &queue_head; /* under queue_lock */
static int next_id = 1;                            /* under queue_lock */
static int wake_fd = -1;                           /* set and closed by the loop thread only */
static bool have_loop;                             /* under queue_lock */

static Watch *find_watch(int id, bool is_timer)
{
	for (Watch *w = watches; w; w = w->next)
		if (w->id == id && w->is_timer == is_timer)
			return w;
	return NULL;
}

static void unlink_watch(Watch *w)
{
	for (Watch **p = &watches; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			return;
		}
}

/* under queue_lock */
static int allocate_id_locked(void)
{
	/* ids stay positive: libvirt reads a negative one as a failure */
	if (next_id == INT32_MAX)
		next_id = 1;
	return next_id++;
}

static int allocate_id(void)
{
	int id;

	pthread_mutex_lock(&queue_lock);
	id = allocate_id_locked();
	pthread_mutex_unlock(&queue_lock);
	return id;
}

static bool op_adds(const Op *o)
{
	return o->kind == OP_ADD_HANDLE || o->kind == OP_ADD_TIMEOUT;
}

static bool on_loop_thread(void)
{
	return is_loop_thread;
}

/*
 * Queues op for the loop (a copy): an add's id, 0 for the rest; -1 when
 * there is no loop to apply it
 */
static int enqueue(const Op *op)
{
	Op *o = malloc(sizeof(*o));
	uint64_t one = 1;
	int fd, id;

	if (!o)
		return -1;
	*o = *op;
	o->next = NULL;
	pthread_mutex_lock(&queue_lock);
	if (!have_loop) {
		pthread_mutex_unlock(&queue_lock);
		free(o);
		return -1;
	}
	id = op_adds(o) ? (o->id = allocate_id_locked()) : 0;
	*queue_tail = o;
	queue_tail = &o->next;
	fd = wake_fd;
	/* under the lock: the loop closes wake_fd only after have_loop went false */
	(void) !write(fd, &one, sizeof(one));
	pthread_mutex_unlock(&queue_lock);
	return id;
}

/* ---- deferred free callbacks ---- */

static void pending_free_run(PendingFree *p)
{
	for (PendingFree **q = &pending_frees; *q; q = &(*q)->next)
		if (*q == p) {
			*q = p->next;
			break;
		}
	sd_event_source_disable_unref(p->defer);
	p->ff(p->opaque);
	free(p);
}

static int on_pending_free(sd_event_source *s, void *userdata)
{
	pending_free_run(userdata);
	return 0;
}

/*
 * ff(opaque) from a later loop iteration. When the loop takes no new
 * source (it has finished: vfiod is exiting), ff waits for
 * libvirt_loop_set_event(NULL); with no loop at all it runs now.
 */
static void free_later(virFreeCallback ff, void *opaque)
{
	PendingFree *p;

	if (!ff)
		return;
	if (!loop_event) {
		ff(opaque);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		/* running ff here may deadlock in libvirt; leaking it cannot */
		log_warning("Out of memory: leaking a libvirt event callback's data.");
		return;
	}
	*p = (PendingFree) { .ff = ff, .opaque = opaque, .next = pending_frees };
	pending_frees = p;
	if (sd_event_add_defer(loop_event, &p->defer, on_pending_free, p) >= 0)
		(void) sd_event_source_set_description(p->defer, "libvirt-free");
}

static void watch_drop(Watch *w)
{
	unlink_watch(w);
	w->source = sd_event_source_disable_unref(w->source);
	if (w->own_fd >= 0)
		close(w->own_fd);
	free_later(w->ff, w->opaque);
	free(w);
}

/* ---- handles ---- */

static uint32_t to_epoll(int events)
{
	uint32_t e = 0;

	if (events & VIR_EVENT_HANDLE_READABLE)
		e |= EPOLLIN;
	if (events & VIR_EVENT_HANDLE_WRITABLE)
		e |= EPOLLOUT;
	return e;
}

static int from_epoll(uint32_t revents)
{
	int events = 0;

	if (revents & (EPOLLIN | EPOLLPRI))
		events |= VIR_EVENT_HANDLE_READABLE;
	if (revents & EPOLLOUT)
		events |= VIR_EVENT_HANDLE_WRITABLE;
	if (revents & EPOLLERR)
		events |= VIR_EVENT_HANDLE_ERROR;
	if (revents & EPOLLHUP)
		events |= VIR_EVENT_HANDLE_HANGUP;
	return events;
}

static int on_handle_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	Watch *w = userdata;
	virEventHandleCallback cb = w->handle_cb;
	void *opaque = w->opaque;
	int id = w->id, libvirt_fd = w->fd;

	/* the callback may remove (and free) w: nothing of it is touched after */
	cb(id, libvirt_fd, from_epoll(revents), opaque);
	return 0;
}

static int add_handle(int id, int fd, int events, virEventHandleCallback cb, void *opaque,
		      virFreeCallback ff)
{
	Watch *w;
	int r;

	if (!loop_event || fd < 0 || !cb)
		return -1;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -1;
	*w = (Watch) { .fd = fd, .own_fd = -1, .handle_cb = cb, .opaque = opaque, .ff = ff };

	r = sd_event_add_io(loop_event, &w->source, fd, to_epoll(events), on_handle_io, w);
	if (r == -EEXIST) {
		/*
		 * libvirt may watch one fd twice for different events; epoll takes
		 * an fd once, but a duplicate is a registration of its own.
		 */
		w->own_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		r = w->own_fd < 0 ? negative_errno() :
			sd_event_add_io(loop_event, &w->source, w->own_fd, to_epoll(events), on_handle_io, w);
		if (r < 0 && w->own_fd >= 0)
			close(w->own_fd);
	}
	if (r < 0) {
		log_debug_errno(r, "libvirt: cannot watch fd %d: %m", fd);
		free(w);
		return -1;
	}
	(void) sd_event_source_set_description(w->source, "libvirt-handle");
	/* epoll reports errors and hangups anyway; with no event asked for, stay quiet */
	if (events == 0)
		(void) sd_event_source_set_enabled(w->source, SD_EVENT_OFF);

	w->id = id;
	w->next = watches;
	watches = w;
	return w->id;
}

static void update_handle(int watch, int events)
{
	Watch *w = find_watch(watch, false);
	int r;

	if (!w)
		return;
	if (events == 0) {
		(void) sd_event_source_set_enabled(w->source, SD_EVENT_OFF);
		return;
	}
	r = sd_event_source_set_io_events(w->source, to_epoll(events));
	if (r >= 0)
		r = sd_event_source_set_enabled(w->source, SD_EVENT_ON);
	if (r < 0)
		log_warning_errno(r, "libvirt: cannot change the events of fd %d: %m", w->fd);
}

static int remove_handle(int watch)
{
	Watch *w = find_watch(watch, false);

	if (!w)
		return -1;
	watch_drop(w);
	return 0;
}

/* ---- timers ---- */

static int timer_arm(Watch *w, int interval_ms);

static void timer_fire(Watch *w)
{
	virEventTimeoutCallback cb = w->timeout_cb;
	void *opaque = w->opaque;
	int id = w->id;

	cb(id, opaque);
}

static int on_timer_elapsed(sd_event_source *s, uint64_t usec, void *userdata)
{
	Watch *w = userdata;
	int r;

	/* periodic: the next period starts now, before the callback may change it */
	r = sd_event_source_set_time_relative(s, (uint64_t) w->interval_ms * USEC_PER_MSEC);
	if (r >= 0)
		r = sd_event_source_set_enabled(s, SD_EVENT_ON);
	if (r < 0)
		log_warning_errno(r, "libvirt: cannot re-arm a timer: %m");
	timer_fire(w);
	return 0;
}

static int on_timer_immediate(sd_event_source *s, void *userdata)
{
	/* a defer source left ON: fires on every loop iteration, as libvirt's 0 means */
	timer_fire(userdata);
	return 0;
}

static int timer_arm(Watch *w, int interval_ms)
{
	sd_event_source *s = NULL;
	int r;

	/* the kind of source follows the interval; it may be changed from inside its callback */
	w->source = sd_event_source_disable_unref(w->source);
	w->interval_ms = interval_ms;
	if (interval_ms < 0)
		return 0;

	if (interval_ms == 0) {
		r = sd_event_add_defer(loop_event, &s, on_timer_immediate, w);
		if (r >= 0)
			r = sd_event_source_set_enabled(s, SD_EVENT_ON);
	} else
		r = sd_event_add_time_relative(loop_event, &s, CLOCK_MONOTONIC,
					       (uint64_t) interval_ms * USEC_PER_MSEC,
					       USEC_PER_MSEC, on_timer_elapsed, w);
	if (r < 0) {
		sd_event_source_disable_unref(s);
		return r;
	}
	if (interval_ms > 0)
		r = sd_event_source_set_enabled(s, SD_EVENT_ON); /* periodic, not one-shot */
	(void) sd_event_source_set_description(s, "libvirt-timer");
	w->source = s;
	return 0;
}

static int add_timeout(int id, int interval_ms, virEventTimeoutCallback cb, void *opaque,
		       virFreeCallback ff)
{
	Watch *w;
	int r;

	if (!loop_event || !cb)
		return -1;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -1;
	*w = (Watch) { .is_timer = true, .fd = -1, .own_fd = -1, .timeout_cb = cb, .opaque = opaque, .ff = ff };

	r = timer_arm(w, interval_ms);
	if (r < 0) {
		log_debug_errno(r, "libvirt: cannot add a timer: %m");
		free(w);
		return -1;
	}
	w->id = id;
	w->next = watches;
	watches = w;
	return w->id;
}

static void update_timeout(int timer, int interval_ms)
{
	Watch *w = find_watch(timer, true);
	int r;

	if (!w)
		return;
	r = timer_arm(w, interval_ms);
	if (r < 0)
		log_warning_errno(r, "libvirt: cannot change a timer to %d ms: %m", interval_ms);
}

static int remove_timeout(int timer)
{
	Watch *w = find_watch(timer, true);

	if (!w)
		return -1;
	watch_drop(w);
	return 0;
}

/* ---- libvirt's entry points: on the loop at once, from elsewhere queued ---- */

/* one call of libvirt's, on the loop thread: what the call returns (an add's id, or -1) */
static int apply(const Op *o)
{
	switch (o->kind) {
	case OP_ADD_HANDLE:
		return add_handle(o->id, o->fd, o->events_or_ms, o->handle_cb, o->opaque, o->ff);
	case OP_UPDATE_HANDLE:
		update_handle(o->id, o->events_or_ms);
		return 0;
	case OP_REMOVE_HANDLE:
		return remove_handle(o->id);
	case OP_ADD_TIMEOUT:
		return add_timeout(o->id, o->events_or_ms, o->timeout_cb, o->opaque, o->ff);
	case OP_UPDATE_TIMEOUT:
		update_timeout(o->id, o->events_or_ms);
		return 0;
	case OP_REMOVE_TIMEOUT:
		return remove_timeout(o->id);
	}
	return -1;
}

/* the queued calls, in their order, on the loop thread */
static void drain_queue(void)
{
	Op *list;
	uint64_t n;

	pthread_mutex_lock(&queue_lock);
	list = queue_head;
	queue_head = NULL;
	queue_tail = &queue_head;
	if (wake_fd >= 0)
		(void) !read(wake_fd, &n, sizeof(n));
	pthread_mutex_unlock(&queue_lock);
	while (list) {
		Op *o = list;

		list = o->next;
		if (apply(o) < 0 && op_adds(o)) {
			/* libvirt has the id already and learns nothing: its fd or timer goes unwatched */
			log_warning("libvirt: cannot add the %s (fd %d) asked for from another thread; "
				    "that connection may stop receiving events.",
				    o->kind == OP_ADD_HANDLE ? "watch" : "timer", o->fd);
			free_later(o->ff, o->opaque);
		}
		free(o);
	}
}

static int on_wake(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	drain_queue();
	return 0;
}

/* a call of libvirt's: applied now on the loop thread (after what was queued), queued elsewhere */
static int submit(Op *o)
{
	if (!on_loop_thread())
		return enqueue(o);
	drain_queue();
	if (op_adds(o))
		o->id = allocate_id();
	return apply(o);
}

int libvirt_loop_add_handle(int fd, int events, virEventHandleCallback cb, void *opaque,
			    virFreeCallback ff)
{
	if (fd < 0 || !cb)
		return -1;
	return submit(&(Op) { .kind = OP_ADD_HANDLE, .fd = fd, .events_or_ms = events, .handle_cb = cb,
			      .opaque = opaque, .ff = ff });
}

void libvirt_loop_update_handle(int watch, int events)
{
	(void) submit(&(Op) { .kind = OP_UPDATE_HANDLE, .id = watch, .events_or_ms = events });
}

int libvirt_loop_remove_handle(int watch)
{
	return submit(&(Op) { .kind = OP_REMOVE_HANDLE, .id = watch });
}

int libvirt_loop_add_timeout(int interval_ms, virEventTimeoutCallback cb, void *opaque,
			     virFreeCallback ff)
{
	if (!cb)
		return -1;
	return submit(&(Op) { .kind = OP_ADD_TIMEOUT, .fd = -1, .events_or_ms = interval_ms,
			      .timeout_cb = cb, .opaque = opaque, .ff = ff });
}

void libvirt_loop_update_timeout(int timer, int interval_ms)
{
	(void) submit(&(Op) { .kind = OP_UPDATE_TIMEOUT, .id = timer, .events_or_ms = interval_ms });
}

int libvirt_loop_remove_timeout(int timer)
{
	return submit(&(Op) { .kind = OP_REMOVE_TIMEOUT, .id = timer });
}

/* ---- installing ---- */

void libvirt_loop_set_event(sd_event *event)
{
	int r;

	/* no more calls queued for the old loop; what was queued is applied to it */
	pthread_mutex_lock(&queue_lock);
	have_loop = false;
	pthread_mutex_unlock(&queue_lock);
	if (loop_event)
		drain_queue();
	is_loop_thread = false;
	wake_source = sd_event_source_disable_unref(wake_source);
	if (wake_fd >= 0) {
		close(wake_fd);
		wake_fd = -1;
	}
	/* the loop goes away: every watch with it, and every ff now (no loop left to defer to) */
	if (!event)
		while (watches)
			watch_drop(watches);
	sd_event_unref(loop_event);
	loop_event = event ? sd_event_ref(event) : NULL;
	if (!event) {
		while (pending_frees)
			pending_free_run(pending_frees);
		return;
	}
	is_loop_thread = true;
	wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r = wake_fd < 0 ? negative_errno() :
		sd_event_add_io(event, &wake_source, wake_fd, EPOLLIN, on_wake, NULL);
	if (r < 0) {
		/* calls from other threads then fail (-1), as with no loop */
		log_warning_errno(r, "libvirt: cannot take calls from other threads: %m");
		return;
	}
	(void) sd_event_source_set_description(wake_source, "libvirt-wake");
	pthread_mutex_lock(&queue_lock);
	have_loop = true;
	pthread_mutex_unlock(&queue_lock);
}

static void ignore_libvirt_error(void *userdata, virErrorPtr error)
{
	/* vfiod logs the failures it cares about with virGetLastErrorMessage() */
}

int libvirt_loop_install(sd_event *event, const vfd_libvirt *lv)
{
	static bool installed;

	if (installed)
		return -EALREADY;
	if (lv->virInitialize() < 0)
		return -EIO;
	lv->virSetErrorFunc(NULL, ignore_libvirt_error);
	libvirt_loop_set_event(event);
	lv->virEventRegisterImpl(libvirt_loop_add_handle, libvirt_loop_update_handle,
			     libvirt_loop_remove_handle, libvirt_loop_add_timeout,
			     libvirt_loop_update_timeout, libvirt_loop_remove_timeout);
	installed = true;
	return 0;
}
