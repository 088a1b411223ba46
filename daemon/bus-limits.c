/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-errors.h"
#include "bus-limits.h"
#include "log.h"

/* what one walk has seen so far */
typedef struct ArgumentBudget {
	unsigned argument; /* 1-based, the top-level argument being read */
	size_t total_bytes;
	unsigned fds;
	char *reason;
	size_t reason_size;
} ArgumentBudget;

static int over_limit(ArgumentBudget *b, const char *what, size_t value, size_t limit)
{
	snprintf(b->reason, b->reason_size, "argument %u: %s %zu, limit %zu",
		 b->argument, what, value, limit);
	return -E2BIG;
}

static const char *strna(const char *s)
{
	return s ? s : "n/a";
}

static bool is_container(char type)
{
	return type == SD_BUS_TYPE_ARRAY || type == SD_BUS_TYPE_STRUCT ||
	       type == SD_BUS_TYPE_DICT_ENTRY || type == SD_BUS_TYPE_VARIANT;
}

/* bytes of one element of a fixed-size basic type; 0 for the others */
static size_t fixed_size(char type)
{
	switch (type) {
	case SD_BUS_TYPE_BYTE:
		return 1;
	case SD_BUS_TYPE_INT16:
	case SD_BUS_TYPE_UINT16:
		return 2;
	case SD_BUS_TYPE_BOOLEAN:
	case SD_BUS_TYPE_INT32:
	case SD_BUS_TYPE_UINT32:
		return 4;
	case SD_BUS_TYPE_INT64:
	case SD_BUS_TYPE_UINT64:
	case SD_BUS_TYPE_DOUBLE:
		return 8;
	default:
		return 0; /* strings, and 'h': its value is an index to translate */
	}
}

static int account_bytes(ArgumentBudget *b, size_t n)
{
	b->total_bytes += n;
	if (b->total_bytes > BUS_LIMIT_TOTAL_BYTES)
		return over_limit(b, "arguments of at least", b->total_bytes, BUS_LIMIT_TOTAL_BYTES);
	return 0;
}

static int check_basic(sd_bus_message *m, char type, ArgumentBudget *b)
{
	union {
		uint64_t u64;
		const char *s;
		int fd;
	} v;
	size_t n;
	int r;

	r = sd_bus_message_read_basic(m, type, &v);
	if (r < 0)
		return r;

	switch (type) {
	case SD_BUS_TYPE_STRING:
	case SD_BUS_TYPE_OBJECT_PATH:
	case SD_BUS_TYPE_SIGNATURE:
		n = strlen(v.s);
		if (n > BUS_LIMIT_STRING_BYTES)
			return over_limit(b, "a string of bytes", n, BUS_LIMIT_STRING_BYTES);
		return account_bytes(b, n);
	case SD_BUS_TYPE_UNIX_FD:
		if (++b->fds > BUS_LIMIT_FDS)
			return over_limit(b, "descriptors in the call at least", b->fds, BUS_LIMIT_FDS);
		return account_bytes(b, 4);
	default:
		return account_bytes(b, fixed_size(type));
	}
}

/* walks the current container's items; container is its type, 0 for the message body */
static int check_container(sd_bus_message *m, char container, unsigned depth, ArgumentBudget *b)
{
	unsigned items = 0;
	int r;

	for (;;) {
		const char *contents;
		char type;

		r = sd_bus_message_peek_type(m, &type, &contents);
		if (r < 0)
			return r;
		if (r == 0)
			return 0;

		items++;
		if (depth == 0)
			b->argument = items;
		if (container == SD_BUS_TYPE_ARRAY && items > BUS_LIMIT_ARRAY_ITEMS)
			return over_limit(b, "an array of elements at least", items, BUS_LIMIT_ARRAY_ITEMS);

		if (!is_container(type)) {
			r = check_basic(m, type, b);
			if (r < 0)
				return r;
			continue;
		}

		if (depth + 1 > BUS_LIMIT_DEPTH)
			return over_limit(b, "containers nested", depth + 1, BUS_LIMIT_DEPTH);

		/* an array of a fixed-size type is one block: no walk over its elements */
		if (type == SD_BUS_TYPE_ARRAY && contents[1] == '\0' && fixed_size(contents[0]) > 0) {
			const void *p;
			size_t size, n;

			r = sd_bus_message_read_array(m, contents[0], &p, &size);
			if (r < 0)
				return r;
			n = size / fixed_size(contents[0]);
			if (n > BUS_LIMIT_ARRAY_ITEMS)
				return over_limit(b, "an array of elements", n, BUS_LIMIT_ARRAY_ITEMS);
			r = account_bytes(b, size);
			if (r < 0)
				return r;
			continue;
		}

		r = sd_bus_message_enter_container(m, type, contents);
		if (r < 0)
			return r;
		r = check_container(m, type, depth + 1, b);
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
}

int bus_limits_check_arguments(sd_bus_message *message, char *reason, size_t reason_size)
{
	ArgumentBudget b = { .reason = reason, .reason_size = reason_size };
	int r, q;

	if (reason_size > 0)
		reason[0] = '\0';

	r = sd_bus_message_rewind(message, true);
	if (r < 0)
		return r;
	r = check_container(message, 0, 0, &b);
	/* the handler reads the arguments from the start */
	q = sd_bus_message_rewind(message, true);
	return r < 0 ? r : q < 0 ? q : 0;
}

static int on_incoming_message(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	char reason[128];
	int r;

	if (!sd_bus_message_is_method_call(m, NULL, NULL))
		return 0;

	r = bus_limits_check_arguments(m, reason, sizeof(reason));
	if (r == 0)
		return 0;
	if (r != -E2BIG)
		/* sd-bus validated the message when it read it: this is our bug, not the caller's */
		return sd_bus_error_set_errnof(ret_error, r, "Cannot read the arguments: %m");

	log_ratelimited(LOG_NOTICE, 0, "Refused %s.%s from %s: %s.",
			strna(sd_bus_message_get_interface(m)), strna(sd_bus_message_get_member(m)),
			strna(sd_bus_message_get_sender(m)), reason);
	/* sd-bus sends this as the reply and dispatches the call no further */
	return sd_bus_error_setf(ret_error, VFD_ERROR_ARGUMENT_TOO_LARGE,
				 "Argument too large: %s", reason);
}

int bus_limits_install(sd_bus *bus)
{
	return sd_bus_add_filter(bus, NULL, on_incoming_message, NULL);
}

/* ---- requests in flight ---- */

typedef struct InFlight {
	uid_t uid;
	unsigned n;
} InFlight;

/* uids with requests in flight now; an entry goes when its count is 0 */
static InFlight *in_flight;
static size_t n_in_flight;

static InFlight *find_in_flight(uid_t uid)
{
	for (size_t i = 0; i < n_in_flight; i++)
		if (in_flight[i].uid == uid)
			return &in_flight[i];
	return NULL;
}

unsigned bus_limits_in_flight(uid_t uid)
{
	InFlight *e = find_in_flight(uid);

	return e ? e->n : 0;
}

int bus_limits_in_flight_take(uid_t uid)
{
	InFlight *e = find_in_flight(uid), *n;

	if (e) {
		if (e->n >= BUS_LIMIT_IN_FLIGHT_PER_UID)
			return -ETOOMANYREFS;
		e->n++;
		return 0;
	}

	n = realloc(in_flight, (n_in_flight + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	in_flight = n;
	in_flight[n_in_flight++] = (InFlight) { .uid = uid, .n = 1 };
	return 0;
}

void bus_limits_in_flight_release(uid_t uid)
{
	InFlight *e = find_in_flight(uid);

	if (!e || e->n == 0)
		return; /* unpaired: nothing to give back */
	if (--e->n > 0)
		return;

	/* forget the uid: the last entry takes its place */
	*e = in_flight[--n_in_flight];
	if (n_in_flight == 0) {
		free(in_flight);
		in_flight = NULL;
	}
}
