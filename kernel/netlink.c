// SPDX-License-Identifier: GPL-2.0
/*
 * The vfiod_mm generic netlink family: policies, request parsing, replies
 * and events. State lives in handle.c; this file only translates.
 *
 * Who may use it. TRACK keeps another process's mm_struct allocated,
 * registers an mmu notifier on it (mm_take_all_locks() on that process's
 * address space) and reports its exit; GET and the events report its
 * counters after /proc stopped showing them. That is host memory
 * management, not networking: CAP_NET_ADMIN, which network daemons and
 * containers with host networking hold, is not enough. Every command
 * needs CAP_SYS_RESOURCE or CAP_SYS_ADMIN in the initial user namespace,
 * held by the socket's opener and by the sender (vfiod_mm_may_use(), from
 * each op's pre_doit or dump start), on top of the family's
 * GENL_ADMIN_PERM (CAP_NET_ADMIN).
 *
 * The events group: genl_bind() in 6.12 only knows CAP_NET_ADMIN and
 * CAP_SYS_ADMIN (GENL_MCAST_CAP_*) and ignores what a family's ->bind
 * returns, so the join is refused without CAP_NET_ADMIN, and every event
 * is delivered only to sockets whose opener holds CAP_SYS_RESOURCE or
 * CAP_SYS_ADMIN (vfiod_mm_event_filter()): a CAP_NET_ADMIN-only member
 * of the group receives nothing. The client asks a command first
 * (lib/mm-client.c), so such a caller gets EPERM from its subscribe.
 *
 * The family is not netnsok: it exists in the initial network namespace
 * only. Pids are resolved in the caller's pid namespace and handles pin
 * host memory accounting, which is a host-wide concern; a container with
 * its own network namespace sees no vfiod_mm family at all rather than a
 * partial view of the host's.
 */

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/net.h>
#include <linux/netlink.h>
#include <linux/notifier.h>
#include <linux/threads.h>
#include <net/genetlink.h>
#include <net/netlink.h>
#include <net/sock.h>

#include "vfiod_mm_priv.h"

enum vfiod_mm_nlgrp {
	VFIOD_MM_NLGRP_EVENTS,
};

static const struct netlink_range_validation vfiod_mm_pid_range = {
	.min = 1,
	.max = PID_MAX_LIMIT,
};

static const struct nla_policy vfiod_mm_track_policy[VFIOD_MM_A_START_TIME + 1] = {
	[VFIOD_MM_A_PID] = NLA_POLICY_FULL_RANGE(NLA_U32, &vfiod_mm_pid_range),
	[VFIOD_MM_A_START_TIME] = { .type = NLA_U64 },
};

static const struct nla_policy vfiod_mm_handle_policy[VFIOD_MM_A_HANDLE + 1] = {
	[VFIOD_MM_A_HANDLE] = NLA_POLICY_MIN(NLA_U32, 1),
};

static const struct nla_policy vfiod_mm_device_policy[VFIOD_MM_A_DEV_NAME + 1] = {
	[VFIOD_MM_A_DEV_NAME] = { .type = NLA_NUL_STRING,
				  .len = VFIOD_MM_DEV_NAME_MAX - 1 },
};

/*
 * For commands without attributes. Split ops without a policy would have
 * their attributes ignored, not rejected; strict validation refuses every
 * NLA_UNSPEC entry, so this refuses everything.
 */
static const struct nla_policy vfiod_mm_no_attr_policy[VFIOD_MM_A_MAX + 1] = {};

static struct genl_family vfiod_mm_family;

/* The capabilities that stand for "manages host memory", either one. */
static bool vfiod_mm_skb_capable(const struct sk_buff *skb)
{
	return netlink_capable(skb, CAP_SYS_RESOURCE) ||
	       netlink_capable(skb, CAP_SYS_ADMIN);
}

static int vfiod_mm_may_use(const struct sk_buff *skb,
			    struct netlink_ext_ack *extack)
{
	if (vfiod_mm_skb_capable(skb))
		return 0;
	NL_SET_ERR_MSG_MOD(extack,
			   "needs CAP_SYS_RESOURCE or CAP_SYS_ADMIN (CAP_NET_ADMIN is not enough)");
	return -EPERM;
}

static int vfiod_mm_pre_doit(const struct genl_split_ops *ops,
			     struct sk_buff *skb, struct genl_info *info)
{
	return vfiod_mm_may_use(skb, info->extack);
}

/* Runs in the sender's context, like a doit. */
static int vfiod_mm_dump_start(struct netlink_callback *cb)
{
	return vfiod_mm_may_use(cb->skb, cb->extack);
}

/*
 * Multicast filter: non-zero drops the event for @dsk. The socket's
 * opener, as netlink_capable() and do_one_broadcast() judge it: a member
 * of the group is still bound (netlink_release() unbinds before it
 * orphans), so sk_socket and its file are there.
 */
static int vfiod_mm_event_filter(struct sock *dsk, struct sk_buff *skb,
				 void *data)
{
	const struct socket *sock = dsk->sk_socket;

	if (!sock || !sock->file)
		return 1;
	return !file_ns_capable(sock->file, &init_user_ns, CAP_SYS_RESOURCE) &&
	       !file_ns_capable(sock->file, &init_user_ns, CAP_SYS_ADMIN);
}

static size_t vfiod_mm_record_size(void)
{
	/*
	 * HANDLE PID STATE MM_REFS; START_TIME LOCKED_VM PINNED_VM TOTAL_VM
	 * EXIT_TIME RLIMIT_MEMLOCK; COMM; OWNED
	 */
	return nla_total_size(sizeof(u32)) * 4 +
	       nla_total_size_64bit(sizeof(u64)) * 6 +
	       nla_total_size(TASK_COMM_LEN) +
	       nla_total_size(0);
}

static int vfiod_mm_put_u64(struct sk_buff *skb, int type, u64 value)
{
	return nla_put_u64_64bit(skb, type, value, VFIOD_MM_A_PAD);
}

static int vfiod_mm_put_record(struct sk_buff *skb,
			       const struct vfiod_mm_record *r)
{
	if (nla_put_u32(skb, VFIOD_MM_A_HANDLE, r->handle) ||
	    (r->has_pid && nla_put_u32(skb, VFIOD_MM_A_PID, r->pid)) ||
	    (r->has_start_time &&
	     vfiod_mm_put_u64(skb, VFIOD_MM_A_START_TIME, r->start_time)) ||
	    nla_put_string(skb, VFIOD_MM_A_COMM, r->comm) ||
	    nla_put_u32(skb, VFIOD_MM_A_STATE, r->state) ||
	    vfiod_mm_put_u64(skb, VFIOD_MM_A_LOCKED_VM, r->locked_vm) ||
	    vfiod_mm_put_u64(skb, VFIOD_MM_A_PINNED_VM, r->pinned_vm) ||
	    vfiod_mm_put_u64(skb, VFIOD_MM_A_TOTAL_VM, r->total_vm) ||
	    (r->state != VFIOD_MM_STATE_ALIVE &&
	     vfiod_mm_put_u64(skb, VFIOD_MM_A_EXIT_TIME, r->exit_time)) ||
	    (r->has_rlimit &&
	     vfiod_mm_put_u64(skb, VFIOD_MM_A_RLIMIT_MEMLOCK, r->rlimit_memlock)) ||
	    nla_put_u32(skb, VFIOD_MM_A_MM_REFS, r->mm_refs) ||
	    (r->owned && nla_put_flag(skb, VFIOD_MM_A_OWNED)))
		return -EMSGSIZE;
	return 0;
}

static int vfiod_mm_reply_record(struct genl_info *info, u8 cmd,
				 struct sk_buff *msg,
				 const struct vfiod_mm_record *r)
{
	void *hdr;

	hdr = genlmsg_put_reply(msg, info, &vfiod_mm_family, 0, cmd);
	if (!hdr || vfiod_mm_put_record(msg, r)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int vfiod_mm_nl_track(struct sk_buff *skb, struct genl_info *info)
{
	struct vfiod_mm_record r;
	struct sk_buff *msg;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, VFIOD_MM_A_PID) ||
	    GENL_REQ_ATTR_CHECK(info, VFIOD_MM_A_START_TIME))
		return -EINVAL;

	/* Allocated first: once tracked, the handle must be reported. */
	msg = genlmsg_new(vfiod_mm_record_size(), GFP_KERNEL);
	if (!msg)
		return -ENOMEM;

	err = vfiod_mm_track(nla_get_u32(info->attrs[VFIOD_MM_A_PID]),
			     nla_get_u64(info->attrs[VFIOD_MM_A_START_TIME]),
			     NETLINK_CB(skb).sk, info->snd_portid,
			     info->extack, &r);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	/*
	 * A handle nobody learnt about would hold the mm until the socket
	 * closes: if the reply cannot be queued (the receive queue is full),
	 * the handle goes again and the request fails.
	 */
	err = vfiod_mm_reply_record(info, VFIOD_MM_CMD_TRACK, msg, &r);
	if (err)
		vfiod_mm_track_abort(r.handle, NETLINK_CB(skb).sk);
	return err;
}

static int vfiod_mm_nl_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct vfiod_mm_record r;
	struct sk_buff *msg;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, VFIOD_MM_A_HANDLE))
		return -EINVAL;

	err = vfiod_mm_get(nla_get_u32(info->attrs[VFIOD_MM_A_HANDLE]),
			   NETLINK_CB(skb).sk, &r);
	if (err) {
		NL_SET_ERR_MSG_ATTR(info->extack,
				    info->attrs[VFIOD_MM_A_HANDLE],
				    "no such handle");
		return err;
	}

	msg = genlmsg_new(vfiod_mm_record_size(), GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	return vfiod_mm_reply_record(info, VFIOD_MM_CMD_GET, msg, &r);
}

static int vfiod_mm_nl_get_dumpit(struct sk_buff *skb,
				  struct netlink_callback *cb)
{
	const struct sock *reader = NETLINK_CB(cb->skb).sk;
	unsigned long pos = cb->args[0];
	struct vfiod_mm_record r;
	void *hdr;

	while (!vfiod_mm_get_next(&pos, reader, &r)) {
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &vfiod_mm_family,
				  NLM_F_MULTI, VFIOD_MM_CMD_GET);
		if (!hdr)
			break;
		if (vfiod_mm_put_record(skb, &r)) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
		pos++;
	}
	cb->args[0] = pos;
	return skb->len;
}

static int vfiod_mm_nl_untrack(struct sk_buff *skb, struct genl_info *info)
{
	if (GENL_REQ_ATTR_CHECK(info, VFIOD_MM_A_HANDLE))
		return -EINVAL;

	return vfiod_mm_untrack(nla_get_u32(info->attrs[VFIOD_MM_A_HANDLE]),
				NETLINK_CB(skb).sk, info->extack);
}

static int vfiod_mm_nl_stats(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(2 * nla_total_size(sizeof(u32)), GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &vfiod_mm_family, 0,
				VFIOD_MM_CMD_STATS);
	if (!hdr ||
	    nla_put_u32(msg, VFIOD_MM_A_NR_HANDLES, vfiod_mm_nr_handles()) ||
	    nla_put_u32(msg, VFIOD_MM_A_NR_WATCHES, vfiod_mm_nr_watches())) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int vfiod_mm_nl_device_users(struct sk_buff *skb,
				    struct genl_info *info)
{
	struct vfiod_mm_device_users u;
	struct sk_buff *msg;
	void *hdr;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, VFIOD_MM_A_DEV_NAME))
		return -EINVAL;

	err = vfiod_mm_device_users(nla_data(info->attrs[VFIOD_MM_A_DEV_NAME]),
				    info->extack, &u);
	if (err)
		return err;

	msg = genlmsg_new(3 * nla_total_size(VFIOD_MM_DEV_NAME_MAX) +
			  2 * nla_total_size(sizeof(u32)), GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &vfiod_mm_family, 0,
				VFIOD_MM_CMD_DEVICE_USERS);
	if (!hdr ||
	    nla_put_string(msg, VFIOD_MM_A_DEV_NAME, u.name) ||
	    nla_put_string(msg, VFIOD_MM_A_DEV_DRIVER, u.driver) ||
	    nla_put_string(msg, VFIOD_MM_A_VFIO_DEV, u.vfio_dev) ||
	    nla_put_u32(msg, VFIOD_MM_A_VFIO_REGISTRATIONS, u.registrations) ||
	    nla_put_u32(msg, VFIOD_MM_A_VFIO_OPEN_COUNT, u.open_count)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static const struct genl_split_ops vfiod_mm_ops[] = {
	{
		.cmd		= VFIOD_MM_CMD_TRACK,
		.pre_doit	= vfiod_mm_pre_doit,
		.doit		= vfiod_mm_nl_track,
		.policy		= vfiod_mm_track_policy,
		.maxattr	= VFIOD_MM_A_START_TIME,
		.flags		= GENL_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd		= VFIOD_MM_CMD_GET,
		.pre_doit	= vfiod_mm_pre_doit,
		.doit		= vfiod_mm_nl_get_doit,
		.policy		= vfiod_mm_handle_policy,
		.maxattr	= VFIOD_MM_A_HANDLE,
		.flags		= GENL_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd		= VFIOD_MM_CMD_GET,
		.start		= vfiod_mm_dump_start,
		.dumpit		= vfiod_mm_nl_get_dumpit,
		.policy		= vfiod_mm_no_attr_policy,
		.maxattr	= VFIOD_MM_A_MAX,
		.flags		= GENL_ADMIN_PERM | GENL_CMD_CAP_DUMP,
	},
	{
		.cmd		= VFIOD_MM_CMD_UNTRACK,
		.pre_doit	= vfiod_mm_pre_doit,
		.doit		= vfiod_mm_nl_untrack,
		.policy		= vfiod_mm_handle_policy,
		.maxattr	= VFIOD_MM_A_HANDLE,
		.flags		= GENL_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd		= VFIOD_MM_CMD_STATS,
		.pre_doit	= vfiod_mm_pre_doit,
		.doit		= vfiod_mm_nl_stats,
		.policy		= vfiod_mm_no_attr_policy,
		.maxattr	= VFIOD_MM_A_MAX,
		.flags		= GENL_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
	{
		.cmd		= VFIOD_MM_CMD_DEVICE_USERS,
		.pre_doit	= vfiod_mm_pre_doit,
		.doit		= vfiod_mm_nl_device_users,
		.policy		= vfiod_mm_device_policy,
		.maxattr	= VFIOD_MM_A_DEV_NAME,
		.flags		= GENL_ADMIN_PERM | GENL_CMD_CAP_DO,
	},
};

static const struct genl_multicast_group vfiod_mm_mcgrps[] = {
	[VFIOD_MM_NLGRP_EVENTS] = {
		.name	= VFIOD_MM_MCGRP_EVENTS,
		/* The join; delivery: vfiod_mm_event_filter(). */
		.flags	= GENL_MCAST_CAP_NET_ADMIN,
	},
};

static struct genl_family vfiod_mm_family __ro_after_init = {
	.name		= VFIOD_MM_FAMILY_NAME,
	.version	= VFIOD_MM_FAMILY_VERSION,
	.netnsok	= false,
	.parallel_ops	= true,	/* vfiod_mm_lock serialises what must be */
	.module		= THIS_MODULE,
	.split_ops	= vfiod_mm_ops,
	.n_split_ops	= ARRAY_SIZE(vfiod_mm_ops),
	.mcgrps		= vfiod_mm_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(vfiod_mm_mcgrps),
};

int vfiod_mm_notify(u8 cmd, const struct vfiod_mm_record *r)
{
	struct sk_buff *msg;
	void *hdr;

	if (!genl_has_listeners(&vfiod_mm_family, &init_net,
				VFIOD_MM_NLGRP_EVENTS))
		return 0;

	msg = genlmsg_new(vfiod_mm_record_size(), GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put(msg, 0, 0, &vfiod_mm_family, 0, cmd);
	if (!hdr || vfiod_mm_put_record(msg, r)) {
		/* The size is computed for the largest record: a bug. */
		WARN_ON_ONCE(1);
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	/*
	 * A listener whose receive queue is full gets ENOBUFS on its socket
	 * and must resynchronise with a dump: not our retry to make.
	 */
	genlmsg_multicast_netns_filtered(&vfiod_mm_family, &init_net, msg, 0,
					 VFIOD_MM_NLGRP_EVENTS, GFP_KERNEL,
					 vfiod_mm_event_filter, NULL);
	return 0;
}

static int vfiod_mm_netlink_event(struct notifier_block *nb,
				  unsigned long event, void *ptr)
{
	const struct netlink_notify *n = ptr;

	if (event == NETLINK_URELEASE && n->protocol == NETLINK_GENERIC &&
	    net_eq(n->net, &init_net))
		vfiod_mm_socket_released(n->portid);
	return NOTIFY_DONE;
}

static struct notifier_block vfiod_mm_netlink_nb = {
	.notifier_call = vfiod_mm_netlink_event,
};

int vfiod_mm_netlink_init(void)
{
	int err;

	err = netlink_register_notifier(&vfiod_mm_netlink_nb);
	if (err)
		return err;
	err = genl_register_family(&vfiod_mm_family);
	if (err)
		goto err_notifier;
	return 0;

err_notifier:
	netlink_unregister_notifier(&vfiod_mm_netlink_nb);
	return err;
}

void vfiod_mm_netlink_exit(void)
{
	genl_unregister_family(&vfiod_mm_family);
	netlink_unregister_notifier(&vfiod_mm_netlink_nb);
}
