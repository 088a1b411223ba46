/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Calling vfiod, shared by vfioctl and the libvirt hook: connecting, and
 * method calls to org.vfiod1 that never start it. Bus activation is off
 * on every call: a daemon that is not running must fail the call now,
 * not be started (from inside libvirt's hook, too) or waited for.
 * Nothing here prints; each program words failures its own way.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <systemd/sd-bus.h>

/* Connects to the bus at address, or to the system bus when address is NULL. */
int bus_call_connect(const char *address, sd_bus **ret);

/* A new call of member on path and interface of org.vfiod1, auto-start off. */
int bus_call_new(sd_bus *bus, const char *path, const char *interface, const char *member,
		 sd_bus_message **ret);

/*
 * Calls member with the arguments in types (sd_bus_message_append()
 * syntax, NULL for none) with sd-bus's default timeout. Returns what
 * sd_bus_call() returns; error is set on every failure.
 */
int bus_call_object(sd_bus *bus, const char *path, const char *interface, const char *member,
		    sd_bus_error *error, sd_bus_message **ret_reply, const char *types, ...);
int bus_call_objectv(sd_bus *bus, const char *path, const char *interface, const char *member,
		     sd_bus_error *error, sd_bus_message **ret_reply, const char *types, va_list ap);

/* true when error says nobody owns org.vfiod1 */
bool bus_call_error_is_not_running(const sd_bus_error *error);
