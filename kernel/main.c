// SPDX-License-Identifier: GPL-2.0
/*
 * vfiod_mm - keeps the accounting of a VMM's address space visible after
 * the VMM exited.
 *
 * do_exit() runs exit_mm() before exit_files(): when a VMM exits while
 * vfiod still holds references to its VFIO files, the guest pages stay
 * pinned and charged to an mm that has no /proc entry any more. This
 * module caches such an mm (mmgrab(), as the spapr TCE container and
 * iommufd do) for a generic netlink client, reports the mm's locked and
 * pinned counters for as long as they matter, and tells the client when
 * the address space went away and when every charge on it is gone.
 * The interface is include/uapi/linux/vfiod_mm.h; the design and its
 * limits are in docs/vfiod-mm.md of the vfiod source tree.
 */

#include <linux/module.h>
#include <net/genetlink.h>

#include "vfiod_mm_priv.h"

static int __init vfiod_mm_init(void)
{
	int err;

	err = vfiod_mm_handles_init();
	if (err)
		return err;
	err = vfiod_mm_watches_init();
	if (err)
		goto err_handles;
	err = vfiod_mm_netlink_init();
	if (err)
		goto err_watches;
	return 0;

err_watches:
	vfiod_mm_watches_exit();
err_handles:
	vfiod_mm_handles_exit();
	return err;
}

static void __exit vfiod_mm_exit(void)
{
	vfiod_mm_stop_events();
	vfiod_mm_netlink_exit();
	vfiod_mm_untrack_all();
	vfiod_mm_watches_exit();
	vfiod_mm_handles_exit();
}

module_init(vfiod_mm_init);
module_exit(vfiod_mm_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vfiod helper: VMM mm accounting after exit, over generic netlink");
MODULE_ALIAS_GENL_FAMILY(VFIOD_MM_FAMILY_NAME);
