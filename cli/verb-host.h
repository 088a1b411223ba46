/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the verbs that change the host share (verb-host.c, verb-vm.c):
 * the error line with the stable error name, and the arguments of an
 * mdev creation.
 */
#pragma once

#include <systemd/sd-bus.h>

#define MDEV_ATTRS_MAX 32

/* "vfioctl: WHAT: MESSAGE (org.vfiod1.Error.X)"; returns the exit status */
int host_report_error(const char *what, const sd_bus_error *error, int r);

typedef struct MdevArgs {
	const char *positional[3]; /* [VM NAME,] PARENT, TYPE */
	unsigned first;            /* index of PARENT in positional */
	const char *uuid;          /* "" for a new one */
	const char *attr_names[MDEV_ATTRS_MAX];
	const char *attr_values[MDEV_ATTRS_MAX];
	size_t n_attrs;
	char storage[MDEV_ATTRS_MAX][256];
} MdevArgs;

/*
 * argv: "create-mdev" or "create", then n_leading extra positional
 * arguments (the VM's name), PARENT, TYPE, and --uuid UUID, --attr
 * NAME=VALUE (repeatable, kept in order). 0 or a usage exit status.
 */
int mdev_args_parse(int argc, char *argv[], unsigned n_leading, MdevArgs *ret);
/* appends (parent, type, uuid, attributes) to a call made by bus_call_new() */
int mdev_args_append(sd_bus_message *call, const MdevArgs *a);
/* calls, prints the new UUID (or {"uuid": ...} with --json); an exit status */
int mdev_call_and_print(sd_bus *bus, sd_bus_message *call, const char *what);
