/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vfiod_mm: generic netlink interface of the vfiod mm helper module.
 *
 * The helper keeps a reference on a VMM's mm_struct (mmgrab) so that the
 * mm's locked_vm/pinned_vm counters stay readable after the VMM exited,
 * reports when the address space goes away and when nothing but the
 * helper references the mm any more. See docs/vfiod-mm.md.
 *
 * Shared by the module (kernel/) and its client (lib/mm-client.c).
 * Changing the meaning of anything here requires a new family version.
 */
#ifndef _UAPI_LINUX_VFIOD_MM_H
#define _UAPI_LINUX_VFIOD_MM_H

#define VFIOD_MM_FAMILY_NAME		"vfiod_mm"
#define VFIOD_MM_FAMILY_VERSION		1
#define VFIOD_MM_MCGRP_EVENTS		"events"
#define VFIOD_MM_DEV_NAME_MAX		64	/* DEV_NAME, with its NUL */

/*
 * Commands. Every command needs CAP_SYS_RESOURCE or CAP_SYS_ADMIN, and
 * CAP_NET_ADMIN (GENL_ADMIN_PERM), in the initial user namespace; joining
 * the events group needs CAP_NET_ADMIN, and events reach only sockets
 * opened with CAP_SYS_RESOURCE or CAP_SYS_ADMIN. The family exists in the
 * initial network namespace only.
 *
 * TRACK    do: PID, START_TIME -> the handle record (see GET).
 * GET      do: HANDLE -> the handle record; dump: no attribute -> all
 *          handles (of every socket).
 * UNTRACK  do: HANDLE, owned by the requesting socket -> empty reply.
 * STATS    do: no attribute -> NR_HANDLES, NR_WATCHES.
 * DEVICE_USERS
 *          do: DEV_NAME of a PCI function -> DEV_NAME, DEV_DRIVER, VFIO_DEV,
 *          VFIO_REGISTRATIONS, VFIO_OPEN_COUNT: who still holds the
 *          function's struct vfio_device (see VFIO_REGISTRATIONS).
 *
 * Events (multicast group "events"), one message per handle:
 * EXITED   the tracked address space was torn down (process exit or exec);
 *          carries the counters as they were at that moment.
 * ZERO     after EXITED, locked_vm and pinned_vm both read 0.
 * RELEASED after EXITED, nothing but the helper references the mm_struct
 *          any more (MM_REFS == 0): every object that charged pages to it
 *          (type1 DMA mappings, iommufd pages, ...) is gone. Counters that
 *          still read non-zero are stale: see docs/vfiod-mm.md. It has no
 *          upper time bound (an idle CPU's lazy TLB reference counts):
 *          never wait for it without a deadline.
 */
enum vfiod_mm_cmd {
	VFIOD_MM_CMD_UNSPEC,
	VFIOD_MM_CMD_TRACK,
	VFIOD_MM_CMD_GET,
	VFIOD_MM_CMD_UNTRACK,
	VFIOD_MM_CMD_STATS,
	VFIOD_MM_CMD_EXITED,
	VFIOD_MM_CMD_ZERO,
	VFIOD_MM_CMD_RELEASED,
	VFIOD_MM_CMD_DEVICE_USERS,

	__VFIOD_MM_CMD_MAX,
	VFIOD_MM_CMD_MAX = __VFIOD_MM_CMD_MAX - 1
};

/* Value of VFIOD_MM_A_STATE. */
enum vfiod_mm_state {
	VFIOD_MM_STATE_ALIVE = 1,	/* the address space exists */
	VFIOD_MM_STATE_EXITED,		/* torn down; others still hold the mm */
	VFIOD_MM_STATE_RELEASED,	/* torn down; only the helper holds it */
};

/*
 * Attributes. Sizes are bytes, times CLOCK_BOOTTIME nanoseconds unless
 * said otherwise.
 */
enum vfiod_mm_attr {
	VFIOD_MM_A_UNSPEC,
	VFIOD_MM_A_PAD,
	VFIOD_MM_A_HANDLE,		/* u32, >= 1 */
	/*
	 * u32: process id (thread group id) in the caller's pid namespace;
	 * in replies 0 when the process is not visible there
	 */
	VFIOD_MM_A_PID,
	/*
	 * u64: process start time in clock ticks since boot, as in
	 * /proc/PID/stat field 22 read in the caller's time namespace;
	 * protects TRACK against pid reuse
	 */
	VFIOD_MM_A_START_TIME,
	VFIOD_MM_A_COMM,		/* string, at TRACK time */
	VFIOD_MM_A_STATE,		/* u32, enum vfiod_mm_state */
	VFIOD_MM_A_LOCKED_VM,		/* u64 */
	VFIOD_MM_A_PINNED_VM,		/* u64 */
	VFIOD_MM_A_TOTAL_VM,		/* u64, frozen after exit */
	VFIOD_MM_A_EXIT_TIME,		/* u64, only once exited */
	/*
	 * u64: the process's RLIMIT_MEMLOCK soft limit, only while the
	 * address space is alive and still the process's; ~0 = unlimited
	 */
	VFIOD_MM_A_RLIMIT_MEMLOCK,
	/*
	 * u32: references to the mm_struct held by anything but the helper
	 * (while alive this includes one for the address space itself)
	 */
	VFIOD_MM_A_MM_REFS,
	VFIOD_MM_A_OWNED,		/* flag: handle of the requesting socket */
	VFIOD_MM_A_NR_HANDLES,		/* u32, STATS */
	VFIOD_MM_A_NR_WATCHES,		/* u32, STATS: mm notifiers not yet freed */
	/*
	 * string: a PCI function ("0000:01:00.0"), at most
	 * VFIOD_MM_DEV_NAME_MAX bytes with the terminating NUL
	 */
	VFIOD_MM_A_DEV_NAME,
	VFIOD_MM_A_DEV_DRIVER,		/* string: the function's driver */
	VFIOD_MM_A_VFIO_DEV,		/* string: its vfio-dev device, "vfio3" */
	/*
	 * u32: the registration references of the struct vfio_device: 1 for
	 * the registration itself (dropped when the driver unbinds), plus 1
	 * for every open file of the device (each open of its cdev
	 * /dev/vfio/devices/vfioN, each VFIO_GROUP_GET_DEVICE_FD result),
	 * held until that file is released (its last close), plus 1 for a
	 * moment while the group path looks the device up. Unbinding waits
	 * in vfio_unregister_group_dev() until only the registration's own
	 * reference is left: 1 means an unbind now would not wait.
	 */
	VFIOD_MM_A_VFIO_REGISTRATIONS,
	/*
	 * u32: how often the device is open for use (bound to an iommufd
	 * through a cdev file, or opened through a group): a cdev file that
	 * is open but not bound counts in VFIO_REGISTRATIONS only.
	 */
	VFIOD_MM_A_VFIO_OPEN_COUNT,

	__VFIOD_MM_A_MAX,
	VFIOD_MM_A_MAX = __VFIOD_MM_A_MAX - 1
};

#endif /* _UAPI_LINUX_VFIOD_MM_H */
