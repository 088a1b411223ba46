/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A step to try again later, with a backoff: the first arming waits
 * first_usec, each later one twice as long as the one before, up to
 * max_usec, until retry_timer_reset(). The VM's release (a held device
 * proven again), its journal (a write that failed), its limit (a lower
 * that did not take) and the ad-hoc Unbinds waiting for a holder use it.
 */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

typedef struct RetryTimer {
	sd_event_source *source; /* armed, NULL: not */
	uint64_t next_usec;      /* the backoff's next delay; 0: none taken since the reset */
} RetryTimer;

/*
 * The backoff goes one step on; the timer is armed with the delay unless
 * it is armed already. 0, or a negative errno when it cannot be armed.
 */
int retry_timer_arm(RetryTimer *t, sd_event *e, uint64_t first_usec, uint64_t max_usec,
		    sd_event_time_handler_t handler, void *userdata);
/* not armed any more (the handler's first call, or the step goes on otherwise); the backoff stays */
void retry_timer_disarm(RetryTimer *t);
/* the step succeeded (or the owner goes away): disarmed, the backoff starts over */
void retry_timer_reset(RetryTimer *t);
