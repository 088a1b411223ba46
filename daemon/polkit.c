/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "bus-errors.h"
#include "bus-limits.h"
#include "log.h"
#include "polkit.h"
#include "vfiod/util.h"

/* polkit's CheckAuthorizationFlags: the caller may be asked for a password */
#define POLKIT_ALLOW_USER_INTERACTION 1u

typedef struct PolkitQuery {
	sd_bus_message *message; /* the method call waiting for the answer */
	char *action;
	authorized_fn run;
	void *request;
	void (*free_request)(void *request);
	uid_t uid; /* holds one of its in-flight slots (bus-limits.h) */
	bool counted;
	struct PolkitQuery *prev, *next; /* in pending while polkit is asked */
	bool linked;
} PolkitQuery;

/* the checks waiting for polkit's answer, for polkit_drop_pending() */
static PolkitQuery *pending;

static void polkit_query_free(void *userdata)
{
	PolkitQuery *q = userdata;

	if (!q)
		return;
	if (q->linked) {
		if (q->prev)
			q->prev->next = q->next;
		else
			pending = q->next;
		if (q->next)
			q->next->prev = q->prev;
	}
	if (q->free_request)
		q->free_request(q->request);
	if (q->counted)
		bus_limits_in_flight_release(q->uid);
	sd_bus_message_unref(q->message);
	free(q->action);
	free(q);
}

int bus_sender_identity(sd_bus_message *message, pid_t *ret_pid, uid_t *ret_uid)
{
	_cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
	pid_t pid;
	uid_t uid;
	int r;

	/*
	 * Only what the bus daemon says: dbus-daemon attaches no credentials
	 * to messages, so sd-bus asks it (GetConnectionCredentials) for the
	 * connection's ProcessID and UnixUserID, which it took from
	 * SO_PEERCRED when the connection was made; sd-bus returns the
	 * latter as the euid. Never SD_BUS_CREDS_AUGMENT: that fills in what
	 * the bus did not say from /proc/PID, and the process holding that
	 * pid now need not be the one that connected (a connection outlives
	 * its opener; the pid can then be recycled, by root too).
	 */
	r = sd_bus_query_sender_creds(message, SD_BUS_CREDS_PID | SD_BUS_CREDS_EUID, &creds);
	if (r < 0)
		return r;
	/* belt and braces: a library that augmented anyway must not decide */
	if (sd_bus_creds_get_augmented_mask(creds) & (SD_BUS_CREDS_PID | SD_BUS_CREDS_EUID))
		return -EPROTO;
	/* no uid from the bus is no uid: -ENODATA, and the caller is refused */
	r = sd_bus_creds_get_euid(creds, &uid);
	if (r < 0)
		return r;
	r = sd_bus_creds_get_pid(creds, &pid);
	if (r < 0)
		return r;

	if (ret_pid)
		*ret_pid = pid;
	if (ret_uid)
		*ret_uid = uid;
	return 0;
}

int bus_sender_is_root(sd_bus_message *message)
{
	uid_t uid;
	int r;

	r = bus_sender_identity(message, NULL, &uid);
	if (r < 0)
		return r;
	return uid == 0;
}

static int reply_denied(sd_bus_message *message, const char *action, const char *why)
{
	return sd_bus_reply_method_errorf(message, SD_BUS_ERROR_ACCESS_DENIED,
					  "Not authorized for %s: %s", action, why);
}

/* runs the request and turns its failure into the reply a handler's would become */
static void run_request(PolkitQuery *q)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	r = q->run(q->message, q->request, &error);
	if (sd_bus_error_is_set(&error))
		r = sd_bus_reply_method_error(q->message, &error);
	else if (r < 0)
		r = sd_bus_reply_method_errno(q->message, r, NULL);
	if (r < 0)
		log_ratelimited(LOG_WARNING, r, "Failed to reply to %s: %m",
				sd_bus_message_get_member(q->message));
}

static int on_check_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
	PolkitQuery *q = userdata;
	const sd_bus_error *e;
	int authorized, challenge, r;

	e = sd_bus_message_get_error(reply);
	if (e) {
		/* no polkit on the bus, an error or the timeout: fail closed */
		log_ratelimited(LOG_INFO, 0, "polkit gave no answer for %s (%s): denying.",
				q->action, e->name);
		r = reply_denied(q->message, q->action, "polkit is not available");
		goto done;
	}

	r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_STRUCT, "bba{ss}");
	if (r >= 0)
		r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
	if (r < 0) {
		log_ratelimited(LOG_WARNING, r, "Cannot parse polkit's answer for %s: %m", q->action);
		r = reply_denied(q->message, q->action, "polkit's answer is unreadable");
		goto done;
	}

	if (!authorized) {
		r = reply_denied(q->message, q->action,
				 challenge ? "authentication is required" : "polkit says no");
		goto done;
	}

	run_request(q);
	r = 0;
done:
	if (r < 0)
		log_ratelimited(LOG_WARNING, r, "Failed to reply to %s: %m",
				sd_bus_message_get_member(q->message));
	return 0;
}

static int call_check_authorization(sd_bus_message *message, PolkitQuery *q)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
	sd_bus *bus = sd_bus_message_get_bus(message);
	sd_bus_slot *slot = NULL;
	const char *sender;
	uint32_t flags = 0;
	int r;

	sender = sd_bus_message_get_sender(message);
	if (!sender)
		return -EBADMSG;

	if (sd_bus_message_get_allow_interactive_authorization(message))
		flags |= POLKIT_ALLOW_USER_INTERACTION;

	r = sd_bus_message_new_method_call(bus, &call, "org.freedesktop.PolicyKit1",
					   "/org/freedesktop/PolicyKit1/Authority",
					   "org.freedesktop.PolicyKit1.Authority",
					   "CheckAuthorization");
	if (r < 0)
		return r;

	/* subject (sa{sv}), action, details a{ss}, flags, cancellation id */
	r = sd_bus_message_append(call, "(sa{sv})sa{ss}us",
				  "system-bus-name", 1, "name", "s", sender,
				  q->action, 0, flags, "");
	if (r < 0)
		return r;

	r = sd_bus_call_async(bus, &slot, call, on_check_reply, q, POLKIT_TIMEOUT_USEC);
	if (r < 0)
		return r;

	/* the bus owns the pending call from now on, and frees q with it */
	(void) sd_bus_slot_set_destroy_callback(slot, polkit_query_free);
	(void) sd_bus_slot_set_floating(slot, true);
	sd_bus_slot_unref(slot);
	q->next = pending;
	if (pending)
		pending->prev = q;
	pending = q;
	q->linked = true;
	return 0;
}

void polkit_drop_pending(void)
{
	for (PolkitQuery *q = pending; q; q = q->next)
		q->message = sd_bus_message_unref(q->message);
}

int polkit_authorize(sd_bus_message *message, const char *action, authorized_fn run,
		     void *request, void (*free_request)(void *request), sd_bus_error *error)
{
	PolkitQuery *q;
	uid_t uid;
	int r;

	r = bus_sender_identity(message, NULL, &uid);
	if (r < 0) {
		if (free_request)
			free_request(request);
		return sd_bus_error_set_errnof(error, r, "Cannot read the caller's credentials: %m");
	}
	if (uid == 0) {
		r = run(message, request, error);
		if (free_request)
			free_request(request);
		return r < 0 || sd_bus_error_is_set(error) ? r : 1;
	}

	/* a cap on what one user may keep waiting, before polkit is asked */
	r = bus_limits_in_flight_take(uid);
	if (r < 0) {
		if (free_request)
			free_request(request);
		if (r == -ETOOMANYREFS)
			return sd_bus_error_setf(error, VFD_ERROR_TOO_MANY_REQUESTS,
						 "Too many requests of uid %u wait for authorization "
						 "(limit %u); try again when they are answered",
						 (unsigned) uid, BUS_LIMIT_IN_FLIGHT_PER_UID);
		return r;
	}

	q = calloc(1, sizeof(*q));
	if (!q) {
		bus_limits_in_flight_release(uid);
		if (free_request)
			free_request(request);
		return -ENOMEM;
	}
	q->uid = uid;
	q->counted = true;
	q->message = sd_bus_message_ref(message);
	q->run = run;
	q->request = request;
	q->free_request = free_request;
	q->action = strdup(action);
	if (!q->action) {
		polkit_query_free(q);
		return -ENOMEM;
	}

	r = call_check_authorization(message, q);
	if (r < 0) {
		polkit_query_free(q);
		return sd_bus_error_set_errnof(error, r, "Cannot ask polkit: %m");
	}

	/* the reply comes from on_check_reply() */
	return 1;
}
