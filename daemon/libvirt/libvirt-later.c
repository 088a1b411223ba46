/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See libvirt-later.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libvirt-later.h"

typedef struct LaterEntry LaterEntry;
struct LaterEntry {
	LibvirtLater *owner;
	LibvirtLaterEvent ev;
	sd_event_source *source;
	LaterEntry *prev, *next;
};

struct LibvirtLater {
	sd_event *event;
	LibvirtLaterHandler handler;
	void *userdata;
	LaterEntry *head;
	size_t n;
};

uint64_t libvirt_later_delay_usec(LibvirtLaterWhy why, unsigned tries, uint64_t since_usec,
				  uint64_t now)
{
	uint64_t delay = LIBVIRT_LATER_LAST_CLOSE_FIRST_USEC, waited;

	switch (why) {
	case LIBVIRT_LATER_CHANGE:
		return tries < LIBVIRT_LATER_CHANGE_MAX ? LIBVIRT_LATER_CHANGE_USEC : 0;
	case LIBVIRT_LATER_LAST_CLOSE:
		waited = now > since_usec ? now - since_usec : 0;
		if (waited >= LIBVIRT_LATER_LAST_CLOSE_USEC)
			return 0;
		for (unsigned i = 0; i < tries && delay < LIBVIRT_LATER_LAST_CLOSE_STEP_MAX_USEC; i++)
			delay *= 2;
		if (delay > LIBVIRT_LATER_LAST_CLOSE_STEP_MAX_USEC)
			delay = LIBVIRT_LATER_LAST_CLOSE_STEP_MAX_USEC;
		/* the last try at the deadline, not past it */
		if (delay > LIBVIRT_LATER_LAST_CLOSE_USEC - waited)
			delay = LIBVIRT_LATER_LAST_CLOSE_USEC - waited;
		return delay;
	}
	return 0;
}

static void entry_unlink(LaterEntry *x)
{
	LibvirtLater *l = x->owner;

	if (x->prev)
		x->prev->next = x->next;
	else
		l->head = x->next;
	if (x->next)
		x->next->prev = x->prev;
	l->n--;
	sd_event_source_disable_unref(x->source);
	free(x);
}

static LaterEntry *entry_find(const LibvirtLater *l, unsigned vm_id, const char *name)
{
	for (LaterEntry *x = l->head; x; x = x->next)
		if (x->ev.vm_id == vm_id && strcmp(x->ev.dev.name, name) == 0)
			return x;
	return NULL;
}

static size_t count_of_vm(const LibvirtLater *l, unsigned vm_id)
{
	size_t n = 0;

	for (const LaterEntry *x = l->head; x; x = x->next)
		n += x->ev.vm_id == vm_id;
	return n;
}

static int on_turn(sd_event_source *s, uint64_t usec, void *userdata)
{
	LaterEntry *x = userdata;
	LibvirtLater *l = x->owner;
	LibvirtLaterEvent ev = x->ev;

	/* gone before the handler runs: it may put the same device off again */
	entry_unlink(x);
	l->handler(l->userdata, &ev);
	return 0;
}

int libvirt_later_add(LibvirtLater *l, const LibvirtLaterEvent *ev, LibvirtLaterWhy why)
{
	LaterEntry *x, *old;
	uint64_t delay, now;
	int r;

	r = sd_event_now(l->event, CLOCK_MONOTONIC, &now);
	if (r < 0)
		return r;
	delay = libvirt_later_delay_usec(why, ev->tries, ev->last_close_since_usec, now);
	if (delay == 0)
		return -ETIME;
	old = entry_find(l, ev->vm_id, ev->dev.name);
	if (!old && (l->n >= LIBVIRT_LATER_MAX || count_of_vm(l, ev->vm_id) >= LIBVIRT_LATER_MAX_PER_VM))
		return -ENOSPC;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->owner = l;
	x->ev = *ev;
	x->ev.tries++;
	r = sd_event_add_time_relative(l->event, &x->source, CLOCK_MONOTONIC, delay, 0, on_turn, x);
	if (r < 0) {
		free(x);
		return r;
	}
	(void) sd_event_source_set_description(x->source, "libvirt-event-later");
	if (old)
		entry_unlink(old);
	x->next = l->head;
	if (l->head)
		l->head->prev = x;
	l->head = x;
	l->n++;
	return 0;
}

int libvirt_later_get(const LibvirtLater *l, unsigned vm_id, const char *name, LibvirtLaterEvent *ret_ev)
{
	const LaterEntry *x = l ? entry_find(l, vm_id, name) : NULL;

	if (!x)
		return 0;
	if (ret_ev)
		*ret_ev = x->ev;
	return 1;
}

int libvirt_later_cancel(LibvirtLater *l, unsigned vm_id, const char *name, LibvirtLaterEvent *ret_ev)
{
	LaterEntry *x = l ? entry_find(l, vm_id, name) : NULL;

	if (!x)
		return 0;
	if (ret_ev)
		*ret_ev = x->ev;
	entry_unlink(x);
	return 1;
}

size_t libvirt_later_count(const LibvirtLater *l)
{
	return l ? l->n : 0;
}

int libvirt_later_new(sd_event *e, LibvirtLaterHandler handler, void *userdata, LibvirtLater **ret)
{
	LibvirtLater *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->event = sd_event_ref(e);
	l->handler = handler;
	l->userdata = userdata;
	*ret = l;
	return 0;
}

LibvirtLater *libvirt_later_free(LibvirtLater *l)
{
	if (!l)
		return NULL;
	while (l->head)
		entry_unlink(l->head);
	sd_event_unref(l->event);
	free(l);
	return NULL;
}
