/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What every vfioctl verb shares: the global options and the exit codes.
 * Verbs return an exit status; they print their one line of error
 * themselves.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "bus-json.h"
#include "output.h"

#define VFIOCTL_EXIT_FAILURE 1 /* runtime error: daemon unreachable, no such device, ... */
#define VFIOCTL_EXIT_USAGE   2 /* bad command line: nothing was asked of the daemon */

extern bool arg_json;
extern const char *arg_bus_address; /* NULL: the system bus */

/* prints "vfioctl: MESSAGE" on stderr and returns VFIOCTL_EXIT_USAGE */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* prints "vfioctl: MESSAGE" on stderr and returns VFIOCTL_EXIT_FAILURE */
int runtime_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* group records: their members become objects (verb-groups.c, used by show too) */
extern const BusJsonStruct group_record_structs[];
extern const Column group_member_columns[];
extern const size_t group_member_columns_n;
/* copies the names of member_names into the group's members, for the tables (verb-groups.c) */
int group_add_member_names(json_object *group);

/* verbs: argv[0] is the verb, argc counts it */
int verb_devices(int argc, char *argv[]);
int verb_groups(int argc, char *argv[]);
int verb_mdev_parents(int argc, char *argv[]);
int verb_mdev_types(int argc, char *argv[]);
int verb_mdevs(int argc, char *argv[]);
int verb_show(int argc, char *argv[]);
int verb_memlock(int argc, char *argv[]);
/* VM ownership: verb-vm.c, verb-host.c; each parses its own sub-commands */
int verb_vm(int argc, char *argv[]);
int verb_bind(int argc, char *argv[]);
int verb_unbind(int argc, char *argv[]);
int verb_mdev(int argc, char *argv[]); /* memlock helper: verb-memlock.c, parses its own options */
/* persistent configuration: verb-config.c */
int verb_config(int argc, char *argv[]);
/* devices whose reset failed: verb-quarantine.c */
int verb_quarantine(int argc, char *argv[]);
int verb_kernel_host(int argc, char *argv[]);
/* SR-IOV VF counts: verb-sriov.c */
int verb_sriov(int argc, char *argv[]);
/* the shell completion's names, hidden from --help: verb-complete.c */
int verb_complete(int argc, char *argv[]);
