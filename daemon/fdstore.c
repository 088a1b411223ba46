/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See fdstore.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "fdstore.h"
#include "log.h"
#include "vfiod/util.h"

#define FDSTORE_NAME_MAX 255
/* PID 1 answers a barrier at once; the bound keeps a hung manager from holding the loop */
#define FDSTORE_BARRIER_USEC (2ULL * 1000 * 1000)

typedef struct FdStoreEntry {
	char *name; /* NULL: not even a name the store could remove; closed at settle */
	bool ours;  /* a name vfiod stores (fdstore_name_is_valid()): takers may ask for it */
	int fd;     /* -1: taken */
} FdStoreEntry;

struct FdStore {
	bool enabled; /* a service manager listens ($NOTIFY_SOCKET) */
	FdStoreEntry *received;
	size_t n_received;
	bool settled;
};

/* what FDSTOREREMOVE can name: printable ASCII but ':', 1..255 characters */
static bool name_is_removable(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > FDSTORE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] < 0x20 || name[i] > 0x7e || name[i] == ':')
			return false;
	return true;
}

bool fdstore_name_is_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > FDSTORE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(('a' <= name[i] && name[i] <= 'z') || ('A' <= name[i] && name[i] <= 'Z') ||
		      ('0' <= name[i] && name[i] <= '9') || strchr("._-", name[i])))
			return false;
	return true;
}

int fdstore_new(FdStore **ret)
{
	_cleanup_free_ FdStore *s = NULL;
	char **names = NULL;
	int n;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->enabled = getenv("NOTIFY_SOCKET") != NULL;

	/* unset: a child never sees them */
	n = sd_listen_fds_with_names(true, &names);
	if (n < 0) {
		log_warning_errno(n, "Cannot read the descriptors the service manager passed: %m");
		n = 0;
	}
	if (n > 0) {
		s->received = calloc((size_t) n, sizeof(*s->received));
		if (!s->received) {
			for (int i = 0; i < n; i++)
				close(SD_LISTEN_FDS_START + i);
			free(names ? names[0] : NULL);
			return -ENOMEM;
		}
	}
	for (int i = 0; i < n; i++) {
		FdStoreEntry *e = &s->received[i];

		e->fd = SD_LISTEN_FDS_START + i;
		/* untrusted: only names vfiod itself would store are offered to takers */
		if (names && names[i] && name_is_removable(names[i])) {
			e->ours = fdstore_name_is_valid(names[i]);
			e->name = TAKE_PTR(names[i]);
		}
	}
	s->n_received = (size_t) n;
	if (names)
		for (int i = 0; names[i]; i++)
			free(names[i]);
	free(names);
	if (n > 0)
		log_info("The service manager passed back %d stored descriptor(s).", n);
	*ret = TAKE_PTR(s);
	return 0;
}

FdStore *fdstore_free(FdStore *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n_received; i++) {
		if (s->received[i].fd >= 0)
			close(s->received[i].fd);
		free(s->received[i].name);
	}
	free(s->received);
	free(s);
	return NULL;
}

static bool name_pending(const FdStore *s, const char *name)
{
	for (size_t i = 0; !s->settled && i < s->n_received; i++)
		if (s->received[i].fd >= 0 && s->received[i].ours &&
		    strcmp(s->received[i].name, name) == 0)
			return true;
	return false;
}

int fdstore_put(FdStore *s, const char *name, int fd)
{
	char msg[64 + FDSTORE_NAME_MAX];
	int r;

	if (!s || !s->enabled || fd < 0)
		return 0;
	if (!fdstore_name_is_valid(name)) {
		log_error("Not storing a descriptor under the invalid name \"%s\".", name);
		return -EINVAL;
	}
	if (name_pending(s, name))
		return 0;
	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s", name);
	/* the manager keeps its own duplicate; ours stays open */
	r = sd_pid_notify_with_fds(0, false, msg, &fd, 1);
	if (r < 0) {
		log_warning_errno(r, "Cannot store descriptor %s with the service manager: %m", name);
		return r;
	}
	log_debug("Stored descriptor %s.", name);
	return 0;
}

void fdstore_remove(FdStore *s, const char *name)
{
	char msg[64 + FDSTORE_NAME_MAX];
	int r;

	if (!s || !s->enabled || !fdstore_name_is_valid(name))
		return;
	snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", name);
	r = sd_notify(false, msg);
	if (r < 0) {
		log_warning_errno(r, "Cannot remove descriptor %s from the service manager's store: %m",
				  name);
		return;
	}
	log_debug("Removed descriptor %s from the store.", name);
}

void fdstore_sync(FdStore *s)
{
	int r;

	if (!s || !s->enabled)
		return;
	r = sd_notify_barrier(false, FDSTORE_BARRIER_USEC);
	if (r < 0)
		log_warning_errno(r, "The service manager did not confirm the store's changes: %m");
}

int fdstore_take(FdStore *s, const char *name)
{
	size_t found = 0, at = 0;

	if (!s || !name)
		return -ENOENT;
	for (size_t i = 0; !s->settled && i < s->n_received; i++)
		if (s->received[i].fd >= 0 && s->received[i].ours &&
		    strcmp(s->received[i].name, name) == 0) {
			found++;
			at = i;
		}
	if (found == 0)
		return -ENOENT;
	if (found == 1)
		return TAKE_FD(s->received[at].fd);

	/* which one was the VM's cannot be told: none is used, the store forgets them all */
	log_error("The store passed back %zu descriptors named %s; none is used.", found, name);
	for (size_t i = 0; i < s->n_received; i++)
		if (s->received[i].fd >= 0 && s->received[i].ours &&
		    strcmp(s->received[i].name, name) == 0) {
			close(s->received[i].fd);
			s->received[i].fd = -1;
		}
	fdstore_remove(s, name);
	fdstore_sync(s);
	return -ENOTUNIQ;
}

void fdstore_settle(FdStore *s, const char *prefix)
{
	bool removed = false;

	if (!s || s->settled)
		return;
	if (!prefix)
		s->settled = true;
	for (size_t i = 0; i < s->n_received; i++) {
		FdStoreEntry *e = &s->received[i];

		if (e->fd < 0)
			continue;
		if (prefix && (!e->name || strncmp(e->name, prefix, strlen(prefix)) != 0))
			continue;
		removed = true;
		if (e->name) {
			log_warning("Stored descriptor \"%s\" belongs to no VM vfiod adopted%s, or is "
				    "not what the VM expects; closed and removed from the store.", e->name,
				    e->ours ? "" : " (a name vfiod never stores)");
			close(e->fd);
			e->fd = -1;
			/* by the name's own rule, not fdstore_name_is_valid(): it must go too */
			if (s->enabled) {
				char msg[64 + FDSTORE_NAME_MAX];

				snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", e->name);
				(void) sd_notify(false, msg);
			}
		} else {
			/* not even a name FDSTOREREMOVE could say: closed only */
			log_warning("A stored descriptor with a malformed name was passed back; closed.");
			close(e->fd);
			e->fd = -1;
		}
	}
	/* the manager's copies closed before any device of them is proven free */
	if (removed)
		fdstore_sync(s);
}
