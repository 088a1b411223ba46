/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * systemd's file descriptor store (sd_pid_notify_with_fds(3), "FDSTORE=1"):
 * the descriptors vfiod holds for its VMs (iommufd, container, groups,
 * device cdevs) outlive vfiod's restart there, and come back at the next
 * start (sd_listen_fds_with_names(3)). The only file that speaks
 * sd-daemon's store protocol; the VM's files name and check what they
 * store (vm-backend.c, "The fd store").
 *
 * The unit sets FileDescriptorStoreMax= and keeps NotifyAccess=main: only
 * vfiod's main process can store, remove or name a descriptor, so what
 * comes back was stored by a vfiod. It is still checked before use (a
 * name the VM does not expect, a file of another kind, a VM without a
 * journal): the next vfiod may be another version, and the store is
 * untrusted input like the journal.
 *
 * Without $NOTIFY_SOCKET (a plain vfiod, the dbus tests) nothing is
 * stored and the journal alone carries a VM across a restart.
 */
#pragma once

#include <stdbool.h>

typedef struct FdStore FdStore;

/* takes what the previous process stored ($LISTEN_FDS, $LISTEN_FDNAMES) */
int fdstore_new(FdStore **ret);
/* closes what nobody took */
FdStore *fdstore_free(FdStore *s);

/*
 * Stores a duplicate of fd under name (a valid FDNAME). s NULL or no
 * service manager: nothing. While a descriptor of that name from the
 * previous process waits to be taken back, nothing either: the store
 * has one already, and its taker decides (fdstore_take()). A negative
 * errno when the message to the service manager failed.
 */
int fdstore_put(FdStore *s, const char *name, int fd);
/* the store lets go of name (its copy is closed by fdstore_sync()'s return) */
void fdstore_remove(FdStore *s, const char *name);
/*
 * Returns once the service manager handled every message before
 * (sd_notify_barrier(3)): the copies removed are closed. Before a device
 * is proven free and unbound, which any open file of it would block.
 */
void fdstore_sync(FdStore *s);

/*
 * The descriptor the previous process stored under name, taken back
 * (unchecked: the caller checks it is what the name says). -ENOENT: none;
 * -ENOTUNIQ: more than one (all closed, the name removed from the store).
 */
int fdstore_take(FdStore *s, const char *name);
/*
 * Every descriptor nobody took back whose name starts with prefix is
 * closed, logged and removed from the store (then synced): what a VM
 * adopted again did not expect. prefix NULL: recovery is over, every one
 * left (a VM without a journal, a name no VM expects, a malformed one).
 */
void fdstore_settle(FdStore *s, const char *prefix);

/* [A-Za-z0-9._-], 1..255 characters: what vfiod stores, a subset of FDNAME's rules */
bool fdstore_name_is_valid(const char *name);
