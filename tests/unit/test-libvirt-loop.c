/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * daemon/libvirt/libvirt-loop.c: libvirt's event implementation on sd-event,
 * driven the way libvirt's client drives it (handles on a socket, a
 * keepalive timer, a 0 ms timer for event dispatch, removal from inside
 * a callback), with pipes standing in for libvirtd. No libvirt
 * connection is made.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "libvirt/libvirt-loop.h"
#include "vfd-test.h"

typedef struct Calls {
	int n;
	int last_watch;
	int last_fd;
	int last_events;
	int freed;
	int remove_self;  /* the callback removes its own watch */
	int stop_self;    /* the timer callback disables itself */
} Calls;

static sd_event *loop_new(void)
{
	sd_event *e = NULL;

	ASSERT_OK(sd_event_new(&e));
	libvirt_loop_set_event(e);
	return e;
}

static void loop_done(sd_event *e)
{
	libvirt_loop_set_event(NULL);
	sd_event_unref(e);
}

/* one loop iteration, waiting at most timeout_ms; 1 when something was dispatched */
static int run_once(sd_event *e, int timeout_ms)
{
	int r = sd_event_run(e, (uint64_t) timeout_ms * 1000);

	ASSERT_OK(r);
	return r;
}

static void on_handle(int watch, int fd, int events, void *opaque)
{
	Calls *c = opaque;
	char buf[16];

	c->n++;
	c->last_watch = watch;
	c->last_fd = fd;
	c->last_events = events;
	if (events & VIR_EVENT_HANDLE_READABLE)
		(void) !read(fd, buf, sizeof(buf));
	if (c->remove_self)
		ASSERT_EQ(libvirt_loop_remove_handle(watch), 0);
}

static void on_timer(int timer, void *opaque)
{
	Calls *c = opaque;

	c->n++;
	c->last_watch = timer;
	if (c->stop_self)
		libvirt_loop_update_timeout(timer, -1);
	if (c->remove_self)
		ASSERT_EQ(libvirt_loop_remove_timeout(timer), 0);
}

static void count_free(void *opaque)
{
	((Calls *) opaque)->freed++;
}

static void make_pipe(int p[2])
{
	ASSERT_OK(pipe2(p, O_CLOEXEC | O_NONBLOCK));
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void test_handle_reports_readable(void)
{
	sd_event *e = loop_new();
	Calls c = { 0 };
	int p[2], w;

	make_pipe(p);
	w = libvirt_loop_add_handle(p[0], VIR_EVENT_HANDLE_READABLE, on_handle, &c, NULL);
	ASSERT_TRUE(w > 0);
	ASSERT_EQ(run_once(e, 20), 0);
	ASSERT_EQ(c.n, 0);

	ASSERT_EQ(write(p[1], "x", 1), 1);
	ASSERT_EQ(run_once(e, 1000), 1);
	ASSERT_EQ(c.n, 1);
	ASSERT_EQ(c.last_watch, w);
	ASSERT_EQ(c.last_fd, p[0]);
	ASSERT_EQ(c.last_events, VIR_EVENT_HANDLE_READABLE);
	loop_done(e);
}

static void test_handle_update_to_no_events_silences(void)
{
	sd_event *e = loop_new();
	Calls c = { 0 };
	int p[2], w;

	make_pipe(p);
	w = libvirt_loop_add_handle(p[0], VIR_EVENT_HANDLE_READABLE, on_handle, &c, NULL);
	libvirt_loop_update_handle(w, 0);
	ASSERT_EQ(write(p[1], "x", 1), 1);
	ASSERT_EQ(run_once(e, 50), 0);
	ASSERT_EQ(c.n, 0);

	libvirt_loop_update_handle(w, VIR_EVENT_HANDLE_READABLE);
	ASSERT_EQ(run_once(e, 1000), 1);
	ASSERT_EQ(c.n, 1);

	/* writable: a pipe's write end is writable at once */
	Calls cw = { 0 };
	int ww = libvirt_loop_add_handle(p[1], 0, on_handle, &cw, NULL);
	ASSERT_TRUE(ww > 0);
	ASSERT_EQ(run_once(e, 20), 0);
	libvirt_loop_update_handle(ww, VIR_EVENT_HANDLE_WRITABLE);
	ASSERT_EQ(run_once(e, 1000), 1);
	ASSERT_EQ(cw.last_events, VIR_EVENT_HANDLE_WRITABLE);
	loop_done(e);
}

static void test_handle_reports_hangup(void)
{
	sd_event *e = loop_new();
	Calls c = { 0 };
	int p[2];

	make_pipe(p);
	ASSERT_TRUE(libvirt_loop_add_handle(p[0], VIR_EVENT_HANDLE_READABLE, on_handle, &c, NULL) > 0);
	close(p[1]); /* libvirtd went away */
	ASSERT_EQ(run_once(e, 1000), 1);
	ASSERT_TRUE(c.last_events & VIR_EVENT_HANDLE_HANGUP);
	loop_done(e);
}

static void test_same_fd_twice(void)
{
	sd_event *e = loop_new();
	Calls r = { 0 }, w = { 0 };
	int p[2], wr, ww;

	/* a socket pair: one end both readable and writable, watched by two handles */
	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, p));
	wr = libvirt_loop_add_handle(p[0], VIR_EVENT_HANDLE_READABLE, on_handle, &r, NULL);
	ww = libvirt_loop_add_handle(p[0], VIR_EVENT_HANDLE_WRITABLE, on_handle, &w, NULL);
	ASSERT_TRUE(wr > 0);
	ASSERT_TRUE(ww > 0);
	ASSERT_TRUE(wr != ww);
	ASSERT_EQ(write(p[1], "x", 1), 1);
	for (int i = 0; i < 4 && (r.n == 0 || w.n == 0); i++)
		run_once(e, 1000);
	ASSERT_TRUE(r.n > 0);
	ASSERT_TRUE(w.n > 0);
	/* the callback names the fd libvirt gave, not the duplicate watched */
	ASSERT_EQ(r.last_fd, p[0]);
	ASSERT_EQ(w.last_fd, p[0]);
	ASSERT_EQ(libvirt_loop_remove_handle(ww), 0);
	ASSERT_EQ(libvirt_loop_remove_handle(wr), 0);
	loop_done(e);
}

static void test_remove_runs_free_later(void)
{
	sd_event *e = loop_new();
	Calls c = { 0 };
	int p[2], w;

	make_pipe(p);
	w = libvirt_loop_add_handle(p[0], VIR_EVENT_HANDLE_READABLE, on_handle, &c, count_free);
	ASSERT_EQ(libvirt_loop_remove_handle(w), 0);
	/* never from inside the remove call: libvirt holds its locks there */
	ASSERT_EQ(c.freed, 0);
	ASSERT_EQ(libvirt_loop_remove_handle(w), -1);
	ASSERT_EQ(run_once(e, 1000), 1);
	ASSERT_EQ(c.freed, 1);

	ASSERT_EQ(write(p[1], "x", 1), 1);
	ASSERT_EQ(run_once(e, 50), 0);
	ASSERT_EQ(c.n, 0);
	loop_done(e);
	ASSERT_EQ(c.freed, 1);
}

static void test_remove_from_own_callback(void)
{
	sd_event *e = loop_new();
	Calls c = { .remove_self = 1 };
	int p[2];

	make_pipe(p);
	ASSERT_TRUE(libvirt_loop_add_handle(p[0], VIR_EVENT_HANDLE_READABLE, on_handle, &c, count_free) > 0);
	ASSERT_EQ(write(p[1], "xy", 2), 2);
	ASSERT_EQ(run_once(e, 1000), 1);
	ASSERT_EQ(c.n, 1);
	ASSERT_EQ(c.freed, 0);
	run_once(e, 100);
	ASSERT_EQ(c.freed, 1);
	ASSERT_EQ(write(p[1], "z", 1), 1);
	ASSERT_EQ(run_once(e, 50), 0);
	ASSERT_EQ(c.n, 1);
	loop_done(e);
}

static void test_timer_is_periodic(void)
{
	sd_event *e = loop_new();
	Calls c = { 0 };
	uint64_t start = now_ms();
	int t;

	t = libvirt_loop_add_timeout(20, on_timer, &c, NULL);
	ASSERT_TRUE(t > 0);
	while (c.n < 3 && now_ms() - start < 2000)
		run_once(e, 1000);
	ASSERT_EQ(c.n, 3);
	ASSERT_EQ(c.last_watch, t);
	/* three periods of 20 ms */
	ASSERT_TRUE(now_ms() - start >= 59);

	libvirt_loop_update_timeout(t, -1);
	ASSERT_EQ(run_once(e, 80), 0);
	ASSERT_EQ(c.n, 3);

	libvirt_loop_update_timeout(t, 10);
	ASSERT_EQ(run_once(e, 1000), 1);
	ASSERT_EQ(c.n, 4);
	ASSERT_EQ(libvirt_loop_remove_timeout(t), 0);
	ASSERT_EQ(libvirt_loop_remove_timeout(t), -1);
	loop_done(e);
}

static void test_timer_zero_fires_every_iteration(void)
{
	sd_event *e = loop_new();
	Calls c = { 0 };
	int t;

	t = libvirt_loop_add_timeout(0, on_timer, &c, NULL);
	ASSERT_TRUE(t > 0);
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(run_once(e, 0), 1);
	ASSERT_EQ(c.n, 3);

	/* libvirt's event dispatch: fire once, then switch itself off */
	c.stop_self = 1;
	ASSERT_EQ(run_once(e, 0), 1);
	ASSERT_EQ(c.n, 4);
	ASSERT_EQ(run_once(e, 30), 0);
	ASSERT_EQ(c.n, 4);
	loop_done(e);
}

static void test_timer_disabled_at_start_and_removed_in_callback(void)
{
	sd_event *e = loop_new();
	Calls c = { .remove_self = 1 };
	int t;

	t = libvirt_loop_add_timeout(-1, on_timer, &c, count_free);
	ASSERT_TRUE(t > 0);
	ASSERT_EQ(run_once(e, 30), 0);
	ASSERT_EQ(c.n, 0);
	libvirt_loop_update_timeout(t, 5);
	ASSERT_EQ(run_once(e, 1000), 1);
	ASSERT_EQ(c.n, 1);
	run_once(e, 50);
	ASSERT_EQ(c.freed, 1);
	ASSERT_EQ(run_once(e, 30), 0);
	ASSERT_EQ(c.n, 1);
	loop_done(e);
}

static void test_unknown_ids_and_no_loop(void)
{
	Calls c = { 0 };
	sd_event *e;

	/* no loop yet: libvirt is told the registration failed */
	ASSERT_EQ(libvirt_loop_add_timeout(10, on_timer, &c, NULL), -1);
	ASSERT_EQ(libvirt_loop_add_handle(0, VIR_EVENT_HANDLE_READABLE, on_handle, &c, NULL), -1);

	e = loop_new();
	ASSERT_EQ(libvirt_loop_remove_handle(12345), -1);
	ASSERT_EQ(libvirt_loop_remove_timeout(12345), -1);
	libvirt_loop_update_handle(12345, VIR_EVENT_HANDLE_READABLE);
	libvirt_loop_update_timeout(12345, 10);
	/* a handle id is no timer id */
	int t = libvirt_loop_add_timeout(-1, on_timer, &c, NULL);
	ASSERT_EQ(libvirt_loop_remove_handle(t), -1);
	ASSERT_EQ(libvirt_loop_remove_timeout(t), 0);
	loop_done(e);
}

/* libvirt's calls from another thread (the fetch thread's RPCs): queued, applied by the loop */
typedef struct ThreadArgs {
	int fd;
	Calls *c;
	int watch;
	int result;
	atomic_bool done;
} ThreadArgs;

static void *thread_add(void *p)
{
	ThreadArgs *a = p;

	a->watch = libvirt_loop_add_handle(a->fd, VIR_EVENT_HANDLE_READABLE, on_handle, a->c, count_free);
	return NULL;
}

static void *thread_remove(void *p)
{
	ThreadArgs *a = p;

	a->result = libvirt_loop_remove_handle(a->watch);
	return NULL;
}

static void *thread_toggle(void *p)
{
	ThreadArgs *a = p;

	for (int i = 0; i < 20000; i++)
		libvirt_loop_update_handle(a->watch, i % 2 ? VIR_EVENT_HANDLE_READABLE : 0);
	atomic_store(&a->done, true);
	return NULL;
}

static void test_calls_from_another_thread_are_queued(void)
{
	sd_event *e = loop_new();
	Calls c = { 0 };
	ThreadArgs a = { .c = &c };
	pthread_t t;
	int p[2];

	make_pipe(p);
	a.fd = p[0];
	ASSERT_EQ(pthread_create(&t, NULL, thread_add, &a), 0);
	ASSERT_EQ(pthread_join(t, NULL), 0);
	ASSERT_TRUE(a.watch > 0);
	ASSERT_EQ(write(p[1], "x", 1), 1);
	/* one iteration applies the queued add, a later one reports the pipe */
	for (int i = 0; i < 5 && c.n == 0; i++)
		(void) run_once(e, 1000);
	ASSERT_EQ(c.n, 1);
	ASSERT_EQ(c.last_watch, a.watch);

	ASSERT_EQ(pthread_create(&t, NULL, thread_remove, &a), 0);
	ASSERT_EQ(pthread_join(t, NULL), 0);
	ASSERT_EQ(a.result, 0);
	for (int i = 0; i < 5 && c.freed == 0; i++)
		(void) run_once(e, 1000);
	ASSERT_EQ(c.freed, 1);
	ASSERT_EQ(write(p[1], "x", 1), 1);
	(void) run_once(e, 50);
	ASSERT_EQ(c.n, 1);
	/* a call on the loop's own thread sees what other threads did before it */
	ASSERT_EQ(libvirt_loop_remove_handle(a.watch), -1);
	/* a queued add, then a remove on the loop's thread before any iteration: applied in order */
	ASSERT_EQ(pthread_create(&t, NULL, thread_add, &a), 0);
	ASSERT_EQ(pthread_join(t, NULL), 0);
	ASSERT_EQ(libvirt_loop_remove_handle(a.watch), 0);
	for (int i = 0; i < 5 && c.freed < 2; i++)
		(void) run_once(e, 100);
	ASSERT_EQ(c.freed, 2);
	loop_done(e);
	close(p[0]);
	close(p[1]);
}

/* the loop dispatching while another thread switches the same watch on and off */
static void test_concurrent_updates_keep_the_loop_sound(void)
{
	sd_event *e = loop_new();
	Calls c = { 0 };
	ThreadArgs a = { .c = &c };
	pthread_t t;
	int p[2], n;

	make_pipe(p);
	a.watch = libvirt_loop_add_handle(p[0], VIR_EVENT_HANDLE_READABLE, on_handle, &c, NULL);
	ASSERT_TRUE(a.watch > 0);
	ASSERT_EQ(pthread_create(&t, NULL, thread_toggle, &a), 0);
	while (!atomic_load(&a.done)) {
		(void) !write(p[1], "x", 1);
		(void) run_once(e, 1);
	}
	ASSERT_EQ(pthread_join(t, NULL), 0);
	/* whatever the last queued state, the loop's own update decides */
	libvirt_loop_update_handle(a.watch, VIR_EVENT_HANDLE_READABLE);
	n = c.n;
	ASSERT_EQ(write(p[1], "x", 1), 1);
	for (int i = 0; i < 5 && c.n == n; i++)
		(void) run_once(e, 1000);
	ASSERT_TRUE(c.n > n);
	loop_done(e);
	close(p[0]);
	close(p[1]);
}

static void test_teardown_frees_everything(void)
{
	sd_event *e = loop_new();
	Calls h = { 0 }, t = { 0 }, before = { 0 }, after = { 0 };
	int p[2], w1, w2;

	make_pipe(p);
	ASSERT_TRUE(libvirt_loop_add_handle(p[0], VIR_EVENT_HANDLE_READABLE, on_handle, &h, count_free) > 0);
	ASSERT_TRUE(libvirt_loop_add_timeout(1000, on_timer, &t, count_free) > 0);
	w1 = libvirt_loop_add_timeout(-1, on_timer, &before, count_free);
	w2 = libvirt_loop_add_timeout(-1, on_timer, &after, count_free);
	ASSERT_EQ(libvirt_loop_remove_timeout(w1), 0);
	/* the loop finishes (vfiod exiting) before the deferred free ran */
	ASSERT_OK(sd_event_exit(e, 0));
	ASSERT_OK(sd_event_loop(e));
	ASSERT_EQ(before.freed, 0);
	/* a finished loop takes no new source: the free waits for the teardown */
	ASSERT_EQ(libvirt_loop_remove_timeout(w2), 0);
	ASSERT_EQ(after.freed, 0);

	loop_done(e);
	ASSERT_EQ(h.freed, 1);
	ASSERT_EQ(t.freed, 1);
	ASSERT_EQ(before.freed, 1);
	ASSERT_EQ(after.freed, 1);
}

VFD_TEST_MAIN(
	VFD_TEST(test_handle_reports_readable),
	VFD_TEST(test_handle_update_to_no_events_silences),
	VFD_TEST(test_handle_reports_hangup),
	VFD_TEST(test_same_fd_twice),
	VFD_TEST(test_remove_runs_free_later),
	VFD_TEST(test_remove_from_own_callback),
	VFD_TEST(test_timer_is_periodic),
	VFD_TEST(test_timer_zero_fires_every_iteration),
	VFD_TEST(test_timer_disabled_at_start_and_removed_in_callback),
	VFD_TEST(test_unknown_ids_and_no_loop),
	VFD_TEST(test_teardown_frees_everything),
	VFD_TEST(test_calls_from_another_thread_are_queued),
	VFD_TEST(test_concurrent_updates_keep_the_loop_sound),
)
