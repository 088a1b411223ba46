/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Limits a caller meets before anything else looks at its call.
 *
 * Argument sizes: a filter on the bus connection walks the arguments of
 * every method call before sd-bus dispatches it, so before any handler
 * reads them and before polkit is asked. A call over a limit is answered
 * with org.vfiod1.Error.ArgumentTooLarge and goes no further. Handlers
 * still check their own arguments more tightly (a PCI address, a VM name
 * of at most VFD_VM_NAME_MAX bytes); these are the bounds for everything.
 *
 * Requests in flight: a call that waits for polkit holds memory, maybe a
 * descriptor, and one of the pending replies dbus-daemon allows vfiod
 * (max_replies_per_connection). Each unprivileged uid may have at most
 * BUS_LIMIT_IN_FLIGHT_PER_UID of them; more are answered at once with
 * org.vfiod1.Error.TooManyRequests. Counted per uid, not per bus name: one
 * user can open as many connections as the bus lets them. Root is never
 * counted (never waits for polkit).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

/* bytes of one string, object path or signature argument */
#define BUS_LIMIT_STRING_BYTES    4096u
/* elements of one array (a dictionary's entries count as elements) */
#define BUS_LIMIT_ARRAY_ITEMS     256u
/* containers inside containers (a{sv} holding an as is depth 3) */
#define BUS_LIMIT_DEPTH           8u
/* descriptors in one call (the API takes at most one) */
#define BUS_LIMIT_FDS             4u
/* the arguments' bytes in all, as vfiod reads them */
#define BUS_LIMIT_TOTAL_BYTES     (64u * 1024u)
/* polkit queries waiting per unprivileged uid */
#define BUS_LIMIT_IN_FLIGHT_PER_UID 16u

/* Installs the argument filter on bus; call before attaching it to the loop. */
int bus_limits_install(sd_bus *bus);

/*
 * 0 when the arguments of message are within the limits, -E2BIG when not
 * (reason says which, "argument 2: a string of 5000 bytes, limit 4096"),
 * or another negative errno when the message cannot be read. Leaves the
 * message rewound to its first argument.
 */
int bus_limits_check_arguments(sd_bus_message *message, char *reason, size_t reason_size);

/*
 * Takes one in-flight slot of uid: 0, or -ETOOMANYREFS when uid has
 * BUS_LIMIT_IN_FLIGHT_PER_UID already (nothing taken then), -ENOMEM.
 * Every 0 is paired with one bus_limits_in_flight_release(uid).
 */
int bus_limits_in_flight_take(uid_t uid);
void bus_limits_in_flight_release(uid_t uid);
/* the slots uid holds now (tests, logs) */
unsigned bus_limits_in_flight(uid_t uid);
