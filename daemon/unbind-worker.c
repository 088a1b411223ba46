/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See unbind-worker.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "unbind-worker.h"
#include "vfiod/util.h"

struct UnbindJob {
	/* the thread's, until it hands the job back */
	vfd_context *ctx;
	UnbindWorkFn work;
	void *data;
	void (*free_data)(void *);
	int guard_fd;
	int fd; /* the thread's end of the socket pair (a dup of its own) */
	int r;
	vfd_op_error error;

	/* the loop's */
	UnbindWorker *worker;
	UnbindDoneFn done;
	UnbindLateFn late;
	void *userdata;
	sd_event_source *deadline;
	bool abandoned;
	UnbindJob *next;
};

struct UnbindWorker {
	sd_event *event;
	vfd_context *ctx;
	int fds[2]; /* [0] read by the loop, [1] duplicated for each job */
	sd_event_source *io;
	uint64_t deadline_usec;
	UnbindJob *jobs; /* under way */
};

static void job_free(UnbindJob *j)
{
	if (!j)
		return;
	if (j->data && j->free_data)
		j->free_data(j->data);
	if (j->guard_fd >= 0)
		close(j->guard_fd);
	if (j->fd >= 0)
		close(j->fd);
	sd_event_source_disable_unref(j->deadline);
	free(j);
}

static void *unbind_thread(void *arg)
{
	UnbindJob *j = arg;
	ssize_t n;

	j->r = j->work(j->ctx, j->data, &j->error);
	if (j->guard_fd >= 0) {
		close(j->guard_fd);
		j->guard_fd = -1;
	}
	/*
	 * Back to the loop. The job is freed here only when the loop's end is
	 * closed (the worker is gone: ECONNREFUSED): then the loop holds no
	 * pointer to it. A transient failure is retried; should it last, the
	 * job is left as it is (leaked, never freed under the loop's feet).
	 */
	for (int tries = 0; tries < 1000; tries++) {
		n = send(j->fd, &j, sizeof(j), MSG_NOSIGNAL);
		if (n == (ssize_t) sizeof(j))
			return NULL;
		if (n >= 0 || (errno != EINTR && errno != ENOBUFS && errno != ENOMEM && errno != EAGAIN))
			break;
		usleep(10000);
	}
	if (n < 0 && (errno == ECONNREFUSED || errno == EPIPE || errno == ENOTCONN)) {
		j->deadline = NULL; /* the loop freed its sources with the worker */
		job_free(j);
	}
	return NULL;
}

static void worker_unlink(UnbindWorker *w, UnbindJob *j)
{
	for (UnbindJob **p = &w->jobs; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			break;
		}
	j->next = NULL;
}

static int on_result(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	UnbindWorker *w = userdata;
	UnbindJob *j;
	ssize_t n;

	n = recv(fd, &j, sizeof(j), MSG_DONTWAIT);
	if (n != (ssize_t) sizeof(j))
		return 0;
	worker_unlink(w, j);
	j->deadline = sd_event_source_disable_unref(j->deadline);
	if (!j->abandoned) {
		void *data = TAKE_PTR(j->data);

		j->done(j->userdata, data, j->r, &j->error);
	}
	job_free(j);
	return 0;
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
	UnbindJob *j = userdata;

	j->deadline = sd_event_source_disable_unref(j->deadline);
	if (!j->abandoned && j->late)
		j->late(j->userdata);
	return 0;
}

int unbind_worker_new(sd_event *e, vfd_context *ctx, UnbindWorker **ret)
{
	UnbindWorker *w;
	const char *env;
	int r;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->event = sd_event_ref(e);
	w->ctx = ctx;
	w->deadline_usec = UNBIND_DEADLINE_USEC;
	env = getenv("VFIOD_UNBIND_DEADLINE_MS");
	if (env && atoi(env) > 0)
		w->deadline_usec = (uint64_t) atoi(env) * 1000;
	/* datagrams: one pointer each, never split */
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, w->fds) < 0) {
		sd_event_unref(w->event);
		free(w);
		return negative_errno();
	}
	r = sd_event_add_io(e, &w->io, w->fds[0], EPOLLIN, on_result, w);
	if (r < 0) {
		unbind_worker_free(w);
		return r;
	}
	(void) sd_event_source_set_description(w->io, "unbind-worker");
	*ret = w;
	return 0;
}

bool unbind_worker_busy(const UnbindWorker *w)
{
	return w && w->jobs;
}

UnbindWorker *unbind_worker_free(UnbindWorker *w)
{
	if (!w)
		return NULL;
	/* threads still under way find their peer closed and free their jobs */
	while (w->jobs) {
		UnbindJob *j = w->jobs;

		w->jobs = j->next;
		j->deadline = sd_event_source_disable_unref(j->deadline);
		j->abandoned = true;
	}
	sd_event_source_disable_unref(w->io);
	if (w->fds[0] >= 0)
		close(w->fds[0]);
	if (w->fds[1] >= 0)
		close(w->fds[1]);
	sd_event_unref(w->event);
	free(w);
	return NULL;
}

int unbind_worker_start(UnbindWorker *w, UnbindWorkFn work, void *data, void (*free_data)(void *),
			int guard_fd, UnbindDoneFn done, UnbindLateFn late, void *userdata,
			UnbindJob **ret)
{
	pthread_attr_t attr;
	pthread_t thread;
	UnbindJob *j;
	int r;

	j = calloc(1, sizeof(*j));
	if (!j) {
		if (guard_fd >= 0)
			close(guard_fd);
		return -ENOMEM;
	}
	*j = (UnbindJob) {
		.ctx = w->ctx, .work = work, .data = data, .free_data = free_data,
		.guard_fd = guard_fd, .fd = -1, .worker = w, .done = done, .late = late,
		.userdata = userdata,
	};
	j->fd = fcntl(w->fds[1], F_DUPFD_CLOEXEC, 3);
	if (j->fd < 0) {
		r = negative_errno();
		goto fail;
	}
	r = sd_event_add_time_relative(w->event, &j->deadline, CLOCK_MONOTONIC, w->deadline_usec, 0,
				       on_deadline, j);
	if (r < 0)
		goto fail;
	(void) sd_event_source_set_description(j->deadline, "unbind-deadline");

	r = -pthread_attr_init(&attr);
	if (r == 0)
		r = -pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (r == 0)
		r = -pthread_create(&thread, &attr, unbind_thread, j);
	pthread_attr_destroy(&attr);
	if (r < 0)
		goto fail;

	j->next = w->jobs;
	w->jobs = j;
	*ret = j;
	return 0;
fail:
	j->data = NULL; /* the caller keeps data on failure */
	job_free(j);
	return r;
}

void unbind_job_abandon(UnbindJob *j)
{
	if (!j)
		return;
	j->abandoned = true;
	j->deadline = sd_event_source_disable_unref(j->deadline);
}
