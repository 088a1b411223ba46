/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Giving devices back off the event loop: the sysfs writes that unbind a
 * device from vfio-pci (and bind its host driver again), and the removal
 * of an mdev, run on a thread of their own, with a deadline on the loop.
 *
 * Why: the kernel makes the writer of an unbind wait until every open
 * file of the device is closed (vfio_unregister_group_dev()), and a host
 * driver's probe can take long. device_prove_free() is asked first, but a
 * proof can miss a holder (a cdev in flight with no helper), and vfiod's
 * loop must answer every other call meanwhile. Past the deadline the
 * caller reports the device stuck; the job's end, whenever it comes,
 * finishes the work. Same hand-off as libvirt-fetch.c: the thread only
 * does the writes, on data it owns; the result comes back to the loop
 * over a socket pair.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "vfiod/op-error.h"
#include "vfiod/inventory.h"

typedef struct UnbindWorker UnbindWorker;
typedef struct UnbindJob UnbindJob;

/* on the thread: the blocking work on data (the job's alone meanwhile) */
typedef int (*UnbindWorkFn)(vfd_context *ctx, void *data, vfd_op_error *error);
/* on the loop: the work ended with r; data is the caller's again */
typedef void (*UnbindDoneFn)(void *userdata, void *data, int r, const vfd_op_error *error);
/* on the loop, once: the deadline passed and the work still runs */
typedef void (*UnbindLateFn)(void *userdata);

/* the deadline of each job, unless VFIOD_UNBIND_DEADLINE_MS says otherwise (tests) */
#define UNBIND_DEADLINE_USEC (10 * UINT64_C(1000000))

int unbind_worker_new(sd_event *e, vfd_context *ctx, UnbindWorker **ret);
/* jobs still under way are abandoned (their threads free their data) */
UnbindWorker *unbind_worker_free(UnbindWorker *w);
/* a job still runs: its thread uses the worker's vfd_context until it ends */
bool unbind_worker_busy(const UnbindWorker *w);

/*
 * Runs work(data) on a new thread. guard_fd (-1: none; taken in every
 * case) is closed by the thread after the work: the group held
 * exclusively since the proof. free_data frees data when nobody takes it
 * back (abandoned job, vfiod exiting). *ret identifies the job until
 * done() runs or it is abandoned.
 */
int unbind_worker_start(UnbindWorker *w, UnbindWorkFn work, void *data, void (*free_data)(void *),
			int guard_fd, UnbindDoneFn done, UnbindLateFn late, void *userdata,
			UnbindJob **ret);
/* done() and late() are never called for j; its data is freed when the work ends */
void unbind_job_abandon(UnbindJob *j);
