/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Client of the vfiod_mm kernel helper (kernel/, docs/vfiod-mm.md).
 *
 * When a VMM exits, its address space is torn down before its files are
 * closed; while vfiod still holds VFIO file references, the guest pages
 * stay pinned and charged to an mm that /proc no longer shows. The helper
 * keeps that mm_struct (not the address space) and reports its counters,
 * its exit, and when nothing but the helper references it any more.
 *
 * The client owns two netlink sockets: one for requests, which owns the
 * handles it creates (they die with it, see vfd_mm_client_free()), and one
 * for events, joined on request. Requests are synchronous kernel round
 * trips (TRACK takes the VMM's mmap_lock briefly); events are read
 * without blocking, from an sd-event io source or by hand.
 *
 * Errors are negative errno values. The kernel's own text for the last
 * failed request is kept (vfd_mm_client_last_error()). Documented errors:
 *   vfd_mm_client_new():
 *     -ENOENT           the vfiod_mm family is not registered: the module
 *                       is not loaded, or this is not the initial network
 *                       namespace (the family exists there only)
 *     -EPROTONOSUPPORT  the module speaks another family version
 *   every request:
 *     -EPERM            the caller (and the opener of the client's socket)
 *                       lacks CAP_SYS_RESOURCE or CAP_SYS_ADMIN, or lacks
 *                       CAP_NET_ADMIN, in the initial user namespace
 *     -ENOENT           no such handle (get, untrack)
 *     -EACCES           untrack of a handle another socket owns
 *     -EINVAL, -ERANGE  a malformed request (the policy's verdict)
 *   vfd_mm_track_pidfd() / vfd_mm_track_pid():
 *     -EBADF            not a pidfd (or a closed descriptor)
 *     -ESRCH            no such process, or it has exited (a zombie counts)
 *     -ESTALE           the start time does not match: the pid was reused
 *     -ENXIO            a kernel thread: no user address space
 *     -EEXIST           this client tracks that mm already
 *     -ENOSPC           the module's max_handles, or this client's
 *                       max_handles_per_socket, is reached
 *   vfd_mm_client_subscribe(): -EPERM as for every request (it asks one
 *                       first: the kernel delivers events only to sockets
 *                       opened with CAP_SYS_RESOURCE or CAP_SYS_ADMIN)
 *   vfd_mm_device_users_get():
 *     -ENODEV           no such PCI function
 *     -EOPNOTSUPP       it has no driver, or its driver is not a VFIO
 *                       driver; also from a module that predates the
 *                       request
 *     -EBUSY            the function is being probed or unbound right
 *                       now (its device lock is held): ask again later
 *     -EINVAL           not a PCI function name (empty, too long)
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

#include "vfiod/util.h"

typedef struct vfd_mm_client vfd_mm_client;

typedef enum vfd_mm_state {
	VFD_MM_STATE_ALIVE = 1,  /* the address space exists */
	VFD_MM_STATE_EXITED,     /* torn down; other kernel objects still hold the mm */
	VFD_MM_STATE_RELEASED,   /* torn down; only the helper holds it: no pin remains */
} vfd_mm_state;

const char *vfd_mm_state_to_string(vfd_mm_state s); /* "alive", "exited", "released" */

#define VFD_MM_COMM_MAX 16

typedef struct vfd_mm_info {
	uint32_t handle;
	pid_t pid;               /* 0 in events, or when not visible in our pid namespace */
	uint64_t start_time;     /* clock ticks since boot; 0 in events */
	char comm[VFD_MM_COMM_MAX];
	vfd_mm_state state;
	/*
	 * The mm's counters in bytes. After exit they are what the kernel
	 * left in the mm_struct: see docs/vfiod-mm.md for which of them can
	 * still go down (and which are stale once the state is RELEASED).
	 */
	uint64_t locked_bytes;   /* mm->locked_vm */
	uint64_t pinned_bytes;   /* mm->pinned_vm */
	uint64_t total_bytes;    /* mm->total_vm, frozen after exit */
	uint64_t exit_time_ns;   /* CLOCK_BOOTTIME of the exit; 0 while alive */
	bool has_rlimit;         /* replies while alive only */
	uint64_t rlimit_memlock; /* bytes, UINT64_MAX = unlimited */
	uint32_t mm_refs;        /* references to the mm by anything but the helper */
	bool owned;              /* a handle of this client */
} vfd_mm_info;

/* Connects and checks the family; see the errors above. */
int vfd_mm_client_new(vfd_mm_client **ret);
/*
 * Closes both sockets: every handle this client tracks goes with them.
 * The sockets are close-on-exec, but a child forked without exec holds
 * copies, and the handles then live until the last copy is closed.
 */
vfd_mm_client *vfd_mm_client_free(vfd_mm_client *c);
VFD_DEFINE_CLEANUP(vfd_mm_client, vfd_mm_client_free)

uint32_t vfd_mm_client_family_version(const vfd_mm_client *c);
/* The kernel's message about the last failed request, or NULL. */
const char *vfd_mm_client_last_error(const vfd_mm_client *c);

/*
 * Tracks the process behind pidfd. Its start time is read from
 * /proc/PID/stat while the pidfd is checked to still name a live process
 * afterwards, so a recycled pid cannot slip in.
 */
int vfd_mm_track_pidfd(vfd_mm_client *c, int pidfd, vfd_mm_info *ret);
/* The raw request: pid in our pid namespace, start time as in /proc/PID/stat. */
int vfd_mm_track_pid(vfd_mm_client *c, pid_t pid, uint64_t start_time, vfd_mm_info *ret);
int vfd_mm_get(vfd_mm_client *c, uint32_t handle, vfd_mm_info *ret);
/* Every handle of every client, sorted by handle; free with free(). */
int vfd_mm_list(vfd_mm_client *c, vfd_mm_info **ret, size_t *ret_n);
int vfd_mm_untrack(vfd_mm_client *c, uint32_t handle);
/* Live handles and mm watches in the module (leak checks). */
int vfd_mm_stats(vfd_mm_client *c, uint32_t *ret_handles, uint32_t *ret_watches);

/*
 * Who holds the struct vfio_device of a PCI function now (DEVICE_USERS,
 * docs/vfiod-mm.md). Unbinding the function from its VFIO driver waits,
 * blocking the caller, until only the registration's own reference is
 * left: registrations == 1 is the proof that it would not wait.
 */
#define VFD_MM_DEV_NAME_MAX 64

typedef struct vfd_mm_device_users {
	char name[VFD_MM_DEV_NAME_MAX];     /* the function, "0000:01:00.0" */
	char driver[VFD_MM_DEV_NAME_MAX];   /* "vfio-pci" or a variant driver */
	char vfio_dev[VFD_MM_DEV_NAME_MAX]; /* "vfio3": /dev/vfio/devices/vfio3 */
	/*
	 * 1 for the registration itself, plus 1 for each open file of the
	 * device (cdev opens, group VFIO_GROUP_GET_DEVICE_FD results) until
	 * its last close
	 */
	uint32_t registrations;
	uint32_t open_count; /* opened for use: bound to an iommufd, or through a group */
} vfd_mm_device_users;

int vfd_mm_device_users_get(vfd_mm_client *c, const char *pci_name, vfd_mm_device_users *ret);
/* the proof: nothing but the registration holds the device */
bool vfd_mm_device_users_none(const vfd_mm_device_users *u);

/* ---- events ---- */

typedef enum vfd_mm_event_type {
	VFD_MM_EVENT_EXITED,   /* counters as they were at the exit */
	VFD_MM_EVENT_ZERO,     /* locked and pinned both read 0 after the exit */
	VFD_MM_EVENT_RELEASED, /* nothing but the helper references the mm */
	/* the event socket overflowed (info is NULL): re-read with vfd_mm_list() */
	VFD_MM_EVENT_LOST,
	_VFD_MM_EVENT_MAX,
} vfd_mm_event_type;

const char *vfd_mm_event_type_to_string(vfd_mm_event_type t);

typedef void (*vfd_mm_event_handler_t)(vfd_mm_client *c, vfd_mm_event_type type,
				       const vfd_mm_info *info, void *userdata);

/*
 * Joins the events group (for every handle of every client: filter on
 * info->handle). Must be called before the events of interest happen.
 */
int vfd_mm_client_subscribe(vfd_mm_client *c, vfd_mm_event_handler_t handler, void *userdata);
/* The event socket (non-blocking), readable when events are pending. */
int vfd_mm_client_event_fd(const vfd_mm_client *c);
/* Reads every pending event and calls the handler; returns how many, 0 if none. */
int vfd_mm_client_process_events(vfd_mm_client *c);
/* Processes events from e's loop; detached again by vfd_mm_client_free(). */
int vfd_mm_client_attach_event(vfd_mm_client *c, sd_event *e, int64_t priority);
