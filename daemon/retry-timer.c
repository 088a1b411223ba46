/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See retry-timer.h. */
#include "retry-timer.h"

int retry_timer_arm(RetryTimer *t, sd_event *e, uint64_t first_usec, uint64_t max_usec,
		    sd_event_time_handler_t handler, void *userdata)
{
	uint64_t delay = t->next_usec ? t->next_usec : first_usec;

	t->next_usec = delay * 2 > max_usec ? max_usec : delay * 2;
	if (t->source)
		return 0;
	return sd_event_add_time_relative(e, &t->source, CLOCK_MONOTONIC, delay, 0, handler, userdata);
}

void retry_timer_disarm(RetryTimer *t)
{
	t->source = sd_event_source_disable_unref(t->source);
}

void retry_timer_reset(RetryTimer *t)
{
	t->source = sd_event_source_disable_unref(t->source);
	t->next_usec = 0;
}
