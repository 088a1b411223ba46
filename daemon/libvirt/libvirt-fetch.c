/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See libvirt-fetch.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libvirt-fetch.h"
#include "log.h"
#include "vfiod/util.h"

typedef struct FetchJob {
	const vfd_libvirt *lv;
	virConnectPtr conn; /* a reference of the job's own */
	int fd;             /* the thread's end of the socket pair (a dup, its own) */
	LibvirtFetchRequest req; /* its strings are the job's own */
	char *xml;
	char *error;
} FetchJob;

struct LibvirtFetch {
	int fds[2]; /* [0] read by the loop, [1] duplicated for each job */
	sd_event_source *io;
	const vfd_libvirt *lv;
	LibvirtFetchDone done;
	void *userdata;
};

static void job_free(FetchJob *j)
{
	if (!j)
		return;
	if (j->conn)
		j->lv->virConnectClose(j->conn);
	if (j->fd >= 0)
		close(j->fd);
	free((char *) j->req.uuid);
	free((char *) j->req.alias);
	free((char *) j->req.device);
	free(j->xml);
	free(j->error);
	free(j);
}

static void *fetch_thread(void *arg)
{
	FetchJob *j = arg;
	const vfd_libvirt *lv = j->lv;
	virDomainPtr dom;
	ssize_t n;

	dom = lv->virDomainLookupByUUIDString(j->conn, j->req.uuid);
	if (j->req.why == LIBVIRT_FETCH_DETACH) {
		/* libvirt waits for QEMU's unplug here (a few seconds at most), not vfiod's loop */
		if (!dom || lv->virDomainIsActive(dom) != 1 ||
		    lv->virDomainDetachDeviceAlias(dom, j->req.alias, VIR_DOMAIN_AFFECT_LIVE) < 0) {
			const char *msg = lv->virGetLastErrorMessage();

			j->error = strdup(dom ? (msg ? msg : "the detach failed") : "no such running domain");
			if (!j->error)
				j->error = strdup("out of memory");
		}
	} else if (dom && lv->virDomainIsActive(dom) == 1)
		j->xml = lv->virDomainGetXMLDesc(dom, 0);
	if (!j->xml && j->req.why != LIBVIRT_FETCH_DETACH) {
		const char *msg = lv->virGetLastErrorMessage();

		j->error = strdup(dom ? (msg ? msg : "no XML") : "no such running domain");
	}
	if (dom)
		lv->virDomainFree(dom);

	/* hand the job to the loop; when the loop is gone, nobody wants it */
	n = send(j->fd, &j, sizeof(j), MSG_NOSIGNAL);
	if (n != (ssize_t) sizeof(j))
		job_free(j);
	return NULL;
}

static int on_result(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	LibvirtFetch *f = userdata;
	FetchJob *j;
	ssize_t n;

	n = recv(fd, &j, sizeof(j), MSG_DONTWAIT);
	if (n != (ssize_t) sizeof(j))
		return 0;
	f->done(f->userdata, &j->req, TAKE_PTR(j->xml), j->error);
	job_free(j);
	return 0;
}

int libvirt_fetch_new(sd_event *e, const vfd_libvirt *lv, LibvirtFetchDone done, void *userdata,
		      LibvirtFetch **ret)
{
	LibvirtFetch *f;
	int r;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->lv = lv;
	f->done = done;
	f->userdata = userdata;
	/* datagrams: one pointer each, never split */
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, f->fds) < 0) {
		free(f);
		return negative_errno();
	}
	r = sd_event_add_io(e, &f->io, f->fds[0], EPOLLIN, on_result, f);
	if (r < 0) {
		libvirt_fetch_free(f);
		return r;
	}
	(void) sd_event_source_set_description(f->io, "libvirt-fetch");
	*ret = f;
	return 0;
}

LibvirtFetch *libvirt_fetch_free(LibvirtFetch *f)
{
	if (!f)
		return NULL;
	sd_event_source_disable_unref(f->io);
	/* threads still under way find their peer closed and free their jobs */
	if (f->fds[0] >= 0)
		close(f->fds[0]);
	if (f->fds[1] >= 0)
		close(f->fds[1]);
	free(f);
	return NULL;
}

static char *strdup_or_null(const char *s, bool *oom)
{
	char *copy = s ? strdup(s) : NULL;

	if (s && !copy)
		*oom = true;
	return copy;
}

int libvirt_fetch_xml(LibvirtFetch *f, virConnectPtr conn, const LibvirtFetchRequest *req)
{
	bool oom = false;
	pthread_attr_t attr;
	pthread_t thread;
	FetchJob *j;
	int r;

	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->fd = -1;
	j->lv = f->lv;
	j->req = (LibvirtFetchRequest) {
		.uuid = strdup_or_null(req->uuid, &oom),
		.why = req->why,
		.alias = strdup_or_null(req->alias, &oom),
		.device = strdup_or_null(req->device, &oom),
	};
	if (oom || !j->req.uuid) {
		job_free(j);
		return -ENOMEM;
	}
	j->fd = fcntl(f->fds[1], F_DUPFD_CLOEXEC, 3);
	if (j->fd < 0) {
		r = negative_errno();
		job_free(j);
		return r;
	}
	if (f->lv->virConnectRef(conn) < 0) {
		job_free(j);
		return -EIO;
	}
	j->conn = conn;

	r = -pthread_attr_init(&attr);
	if (r == 0)
		r = -pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (r == 0)
		r = -pthread_create(&thread, &attr, fetch_thread, j);
	pthread_attr_destroy(&attr);
	if (r < 0) {
		job_free(j);
		return r;
	}
	return 0;
}
