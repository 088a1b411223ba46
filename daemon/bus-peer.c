/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See bus-peer.h. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "bus-dict.h"
#include "bus-peer.h"
#include "log.h"
#include "vfiod/util.h"

/* the credentials of GetConnectionCredentials this file reads; the fd is the reply's */
typedef struct PeerCredentials {
	unsigned seen; /* credential_keys already read */
	bool have_uid, have_pid, have_pidfd;
	uint32_t uid, pid;
	int pidfd;
} PeerCredentials;

/*
 * one entry of the a{sv}; a known key of another type is an error (-ENXIO),
 * never skipped, and a known key twice is an error (-EBADMSG), never "the
 * last one wins"
 */
static int read_entry(sd_bus_message *reply, const char *key, void *userdata)
{
	static const char *const credential_keys[] = { "UnixUserID", "ProcessID", "ProcessFD" };
	PeerCredentials *c = userdata;
	int r;

	if (!vfd_bus_dict_key_once(&c->seen, credential_keys, ELEMENTSOF(credential_keys), key))
		return -EBADMSG;
	if (strcmp(key, "UnixUserID") == 0) {
		r = sd_bus_message_read(reply, "v", "u", &c->uid);
		c->have_uid = r >= 0;
	} else if (strcmp(key, "ProcessID") == 0) {
		r = sd_bus_message_read(reply, "v", "u", &c->pid);
		c->have_pid = r >= 0;
	} else if (strcmp(key, "ProcessFD") == 0) {
		r = sd_bus_message_read(reply, "v", "h", &c->pidfd);
		c->have_pidfd = r >= 0;
	} else
		return 0;
	return r < 0 ? r : 1;
}

int bus_sender_process(sd_bus_message *message, VMMProcess *ret, uid_t *ret_uid, bool *ret_pinned)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	PeerCredentials c = { .pidfd = -1 };
	VMMProcess p = VMM_PROCESS_NULL;
	const char *sender = sd_bus_message_get_sender(message);
	int r;

	if (!sender)
		return -ENODATA;
	r = sd_bus_call_method(sd_bus_message_get_bus(message), "org.freedesktop.DBus",
			       "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetConnectionCredentials",
			       &error, &reply, "s", sender);
	if (r < 0) {
		log_debug("GetConnectionCredentials(%s): %s", sender,
			  error.message ? error.message : strerror(-r));
		return r;
	}
	/* the bus driver's answer, not a reply another peer forged with our cookie */
	if (!sd_bus_message_get_sender(reply) ||
	    strcmp(sd_bus_message_get_sender(reply), "org.freedesktop.DBus") != 0)
		return -EPROTO;
	r = vfd_bus_read_dict(reply, read_entry, &c);
	if (r < 0)
		return r;
	if (!c.have_uid)
		return -ENODATA;

	if (c.have_pidfd) {
		/*
		 * The opener itself: -ESRCH once it has exited, whoever has its
		 * pid. (dbus 1.16 then leaves ProcessID out: it reads the pid
		 * from the pidfd when asked.)
		 */
		r = vmm_process_from_pidfd(c.pidfd, &p);
		if (r < 0)
			return r;
		if (c.have_pid && p.pid != (pid_t) c.pid) {
			vmm_process_done(&p);
			return -EPROTO;
		}
	} else {
		if (!c.have_pid || c.pid == 0)
			return -ENODATA;
		r = vmm_process_from_pid((pid_t) c.pid, &p);
		if (r < 0)
			return r;
	}

	*ret = p;
	*ret_uid = (uid_t) c.uid;
	*ret_pinned = c.have_pidfd;
	return 0;
}
