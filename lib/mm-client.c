/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Client of the vfiod_mm generic netlink family (lib/include/vfiod/mm.h).
 *
 * libnl builds and sends the messages; the replies are read with libnl's
 * callbacks, but errors are taken from the kernel's NLMSG_ERROR verbatim
 * (libnl's own error codes would lose the errno, and the errno is the
 * contract), together with the extended ACK message. Events are read with
 * plain recvfrom() so that an overflow (ENOBUFS) and the sender's address
 * can be seen: only the kernel (port 0) may send them.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/vfiod_mm.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "vfiod/mm.h"
#include "vfiod/process.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* Events are small; a burst for many handles fits with room to spare. */
#define EVENT_SOCKET_RCVBUF (1024 * 1024)
#define EVENT_RECV_BUFFER 16384

struct vfd_mm_client {
	struct nl_sock *req;
	struct nl_sock *ev;
	int family;
	uint32_t version;
	uint32_t events_group;
	char *last_error;
	vfd_mm_event_handler_t handler;
	void *userdata;
	sd_event_source *ev_source;
};

static struct nla_policy mm_policy[VFIOD_MM_A_MAX + 1] = {
	[VFIOD_MM_A_HANDLE] = { .type = NLA_U32 },
	[VFIOD_MM_A_PID] = { .type = NLA_U32 },
	[VFIOD_MM_A_START_TIME] = { .type = NLA_U64 },
	[VFIOD_MM_A_COMM] = { .type = NLA_STRING, .maxlen = VFD_MM_COMM_MAX },
	[VFIOD_MM_A_STATE] = { .type = NLA_U32 },
	[VFIOD_MM_A_LOCKED_VM] = { .type = NLA_U64 },
	[VFIOD_MM_A_PINNED_VM] = { .type = NLA_U64 },
	[VFIOD_MM_A_TOTAL_VM] = { .type = NLA_U64 },
	[VFIOD_MM_A_EXIT_TIME] = { .type = NLA_U64 },
	[VFIOD_MM_A_RLIMIT_MEMLOCK] = { .type = NLA_U64 },
	[VFIOD_MM_A_MM_REFS] = { .type = NLA_U32 },
	[VFIOD_MM_A_OWNED] = { .type = NLA_FLAG },
	[VFIOD_MM_A_NR_HANDLES] = { .type = NLA_U32 },
	[VFIOD_MM_A_NR_WATCHES] = { .type = NLA_U32 },
	[VFIOD_MM_A_DEV_NAME] = { .type = NLA_STRING, .maxlen = VFD_MM_DEV_NAME_MAX },
	[VFIOD_MM_A_DEV_DRIVER] = { .type = NLA_STRING, .maxlen = VFD_MM_DEV_NAME_MAX },
	[VFIOD_MM_A_VFIO_DEV] = { .type = NLA_STRING, .maxlen = VFD_MM_DEV_NAME_MAX },
	[VFIOD_MM_A_VFIO_REGISTRATIONS] = { .type = NLA_U32 },
	[VFIOD_MM_A_VFIO_OPEN_COUNT] = { .type = NLA_U32 },
};

_Static_assert(VFD_MM_DEV_NAME_MAX == VFIOD_MM_DEV_NAME_MAX, "the uAPI's device name size");

static int nlerr_to_errno(int e)
{
	switch (e < 0 ? -e : e) {
	case NLE_SUCCESS:
		return 0;
	case NLE_INTR:
		return -EINTR;
	case NLE_BAD_SOCK:
		return -EBADF;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_EXIST:
		return -EEXIST;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_RANGE:
		return -ERANGE;
	case NLE_MSGSIZE:
		return -EMSGSIZE;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:
		return -EAFNOSUPPORT;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_PERM:
		return -EPERM;
	case NLE_BUSY:
		return -EBUSY;
	case NLE_NOACCESS:
		return -EACCES;
	case NLE_PROTO_MISMATCH:
		return -EPROTONOSUPPORT;
	case NLE_SEQ_MISMATCH:
	case NLE_MSG_TRUNC:
	case NLE_MSG_TOOSHORT:
	case NLE_MSG_OVERFLOW:
	case NLE_PARSE_ERR:
		return -EBADMSG;
	default:
		return -EIO;
	}
}

/* ---- one request, its replies and its ACK ---- */

typedef int (*reply_parser)(struct nlmsghdr *nlh, void *userdata);

typedef struct request {
	vfd_mm_client *client;
	reply_parser parse;
	void *userdata;
	int error;       /* the kernel's, negative errno */
	int parse_error; /* the first parser failure */
	bool done;
} request;

static void set_last_error(vfd_mm_client *c, const char *msg, size_t len)
{
	free(c->last_error);
	c->last_error = msg ? strndup(msg, len) : NULL;
}

/* The extended ACK's text: TLVs after the (capped) nlmsgerr. */
static void take_extack_message(vfd_mm_client *c, const struct nlmsgerr *e)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)((const char *)e - NLMSG_HDRLEN);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t off;

	set_last_error(c, NULL, 0);
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	off = NLMSG_HDRLEN + sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*e) + e->msg.nlmsg_len - NLMSG_HDRLEN);
	if (off >= nlh->nlmsg_len)
		return;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)nlh + off),
		      (int)(nlh->nlmsg_len - off), NULL) < 0)
		return;
	if (tb[NLMSGERR_ATTR_MSG] && nla_len(tb[NLMSGERR_ATTR_MSG]) > 0)
		set_last_error(c, nla_data(tb[NLMSGERR_ATTR_MSG]),
			       strnlen(nla_data(tb[NLMSGERR_ATTR_MSG]),
				       (size_t)nla_len(tb[NLMSGERR_ATTR_MSG])));
}

static int on_error(struct sockaddr_nl *from, struct nlmsgerr *e, void *arg)
{
	request *rq = arg;

	if (from->nl_pid != 0)
		return NL_SKIP; /* not from the kernel */
	rq->error = e->error < 0 ? e->error : -EIO;
	take_extack_message(rq->client, e);
	rq->done = true;
	return NL_STOP;
}

static int on_done(struct nl_msg *msg, void *arg)
{
	request *rq = arg;

	rq->done = true;
	return NL_STOP;
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	request *rq = arg;
	int r;

	if (nlmsg_get_src(msg)->nl_pid != 0)
		return NL_SKIP;
	if (!rq->parse)
		return NL_OK;
	r = rq->parse(nlmsg_hdr(msg), rq->userdata);
	if (r < 0 && !rq->parse_error)
		rq->parse_error = r;
	return NL_OK;
}

/* Sends msg (consumed) and reads until the ACK, the dump's end or an error. */
static int run_request(vfd_mm_client *c, struct nl_msg *msg, reply_parser parse, void *userdata)
{
	request rq = { .client = c, .parse = parse, .userdata = userdata };
	struct nl_cb *base, *cb;
	int r;

	base = nl_socket_get_cb(c->req);
	cb = nl_cb_clone(base);
	nl_cb_put(base);
	if (!cb) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, &rq);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_done, &rq);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_done, &rq);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, &rq);

	set_last_error(c, NULL, 0);
	r = nl_send_auto(c->req, msg);
	nlmsg_free(msg);
	if (r < 0) {
		nl_cb_put(cb);
		return nlerr_to_errno(r);
	}
	while (!rq.done) {
		r = nl_recvmsgs(c->req, cb);
		if (rq.error)
			break;
		if (r < 0) {
			nl_cb_put(cb);
			return nlerr_to_errno(r);
		}
	}
	nl_cb_put(cb);
	if (rq.error)
		return rq.error;
	return rq.parse_error;
}

static int new_message(vfd_mm_client *c, int family, uint8_t cmd, int flags, uint8_t version,
		       struct nl_msg **ret)
{
	struct nl_msg *msg;

	msg = nlmsg_alloc();
	if (!msg)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags, cmd, version)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	*ret = msg;
	return 0;
}

/* ---- the family ---- */

typedef struct family_info {
	int id;
	uint32_t version;
	int32_t group; /* -1 until found */
} family_info;

static int parse_family(struct nlmsghdr *nlh, void *userdata)
{
	static struct nla_policy grp_policy[CTRL_ATTR_MCAST_GRP_MAX + 1] = {
		[CTRL_ATTR_MCAST_GRP_NAME] = { .type = NLA_STRING },
		[CTRL_ATTR_MCAST_GRP_ID] = { .type = NLA_U32 },
	};
	struct nlattr *tb[CTRL_ATTR_MAX + 1], *grp;
	family_info *fi = userdata;
	int r, rem;

	r = genlmsg_parse(nlh, 0, tb, CTRL_ATTR_MAX, NULL);
	if (r < 0)
		return nlerr_to_errno(r);
	if (!tb[CTRL_ATTR_FAMILY_ID] || !tb[CTRL_ATTR_VERSION])
		return -EBADMSG;
	fi->id = nla_get_u16(tb[CTRL_ATTR_FAMILY_ID]);
	fi->version = nla_get_u32(tb[CTRL_ATTR_VERSION]);
	if (!tb[CTRL_ATTR_MCAST_GROUPS])
		return 0;
	nla_for_each_nested(grp, tb[CTRL_ATTR_MCAST_GROUPS], rem) {
		struct nlattr *g[CTRL_ATTR_MCAST_GRP_MAX + 1];

		if (nla_parse_nested(g, CTRL_ATTR_MCAST_GRP_MAX, grp, grp_policy) < 0)
			return -EBADMSG;
		if (g[CTRL_ATTR_MCAST_GRP_NAME] && g[CTRL_ATTR_MCAST_GRP_ID] &&
		    strcmp(nla_get_string(g[CTRL_ATTR_MCAST_GRP_NAME]), VFIOD_MM_MCGRP_EVENTS) == 0)
			fi->group = (int32_t)nla_get_u32(g[CTRL_ATTR_MCAST_GRP_ID]);
	}
	return 0;
}

static int resolve_family(vfd_mm_client *c)
{
	family_info fi = { .id = -1, .group = -1 };
	struct nl_msg *msg;
	int r;

	r = new_message(c, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0, 1, &msg);
	if (r < 0)
		return r;
	if (nla_put_string(msg, CTRL_ATTR_FAMILY_NAME, VFIOD_MM_FAMILY_NAME) < 0) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	/* The kernel answers ENOENT for an unknown family (after trying to load its module). */
	r = run_request(c, msg, parse_family, &fi);
	if (r < 0)
		return r;
	if (fi.id < 0)
		return -EBADMSG;
	c->family = fi.id;
	c->version = fi.version;
	if (fi.version != VFIOD_MM_FAMILY_VERSION)
		return -EPROTONOSUPPORT;
	if (fi.group < 0)
		return -EBADMSG;
	c->events_group = (uint32_t)fi.group;
	return 0;
}

static int enable_extack(struct nl_sock *sk)
{
	int one = 1, fd = nl_socket_get_fd(sk);

	/* Best effort: without them errors still come, just without text. */
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	return 0;
}

int vfd_mm_client_new(vfd_mm_client **ret)
{
	_cleanup_(vfd_mm_client_freep) vfd_mm_client *c = NULL;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->family = -1;
	c->req = nl_socket_alloc();
	if (!c->req)
		return -ENOMEM;
	r = genl_connect(c->req);
	if (r < 0)
		return nlerr_to_errno(r);
	enable_extack(c->req);

	r = resolve_family(c);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

vfd_mm_client *vfd_mm_client_free(vfd_mm_client *c)
{
	if (!c)
		return NULL;
	sd_event_source_disable_unref(c->ev_source);
	if (c->ev)
		nl_socket_free(c->ev);
	if (c->req)
		nl_socket_free(c->req);
	free(c->last_error);
	free(c);
	return NULL;
}

uint32_t vfd_mm_client_family_version(const vfd_mm_client *c)
{
	return c->version;
}

const char *vfd_mm_client_last_error(const vfd_mm_client *c)
{
	return c->last_error;
}

const char *vfd_mm_state_to_string(vfd_mm_state s)
{
	switch (s) {
	case VFD_MM_STATE_ALIVE:
		return "alive";
	case VFD_MM_STATE_EXITED:
		return "exited";
	case VFD_MM_STATE_RELEASED:
		return "released";
	}
	return NULL;
}

const char *vfd_mm_event_type_to_string(vfd_mm_event_type t)
{
	static const char *const names[_VFD_MM_EVENT_MAX] = {
		[VFD_MM_EVENT_EXITED] = "exited",
		[VFD_MM_EVENT_ZERO] = "zero",
		[VFD_MM_EVENT_RELEASED] = "released",
		[VFD_MM_EVENT_LOST] = "lost",
	};

	return (unsigned)t < _VFD_MM_EVENT_MAX ? names[t] : NULL;
}

/* ---- handle records ---- */

static uint64_t get_u64_or(struct nlattr *a, uint64_t def)
{
	return a ? nla_get_u64(a) : def;
}

static int info_from_attrs(struct nlattr **tb, vfd_mm_info *ret)
{
	vfd_mm_info info;
	uint32_t state;

	if (!tb[VFIOD_MM_A_HANDLE] || !tb[VFIOD_MM_A_STATE] || !tb[VFIOD_MM_A_LOCKED_VM] ||
	    !tb[VFIOD_MM_A_PINNED_VM] || !tb[VFIOD_MM_A_TOTAL_VM])
		return -EBADMSG;
	state = nla_get_u32(tb[VFIOD_MM_A_STATE]);
	if (state < VFD_MM_STATE_ALIVE || state > VFD_MM_STATE_RELEASED)
		return -EBADMSG;

	memset(&info, 0, sizeof(info));
	info.handle = nla_get_u32(tb[VFIOD_MM_A_HANDLE]);
	info.state = (vfd_mm_state)state;
	info.pid = tb[VFIOD_MM_A_PID] ? (pid_t)nla_get_u32(tb[VFIOD_MM_A_PID]) : 0;
	info.start_time = get_u64_or(tb[VFIOD_MM_A_START_TIME], 0);
	if (tb[VFIOD_MM_A_COMM])
		snprintf(info.comm, sizeof(info.comm), "%s", nla_get_string(tb[VFIOD_MM_A_COMM]));
	info.locked_bytes = nla_get_u64(tb[VFIOD_MM_A_LOCKED_VM]);
	info.pinned_bytes = nla_get_u64(tb[VFIOD_MM_A_PINNED_VM]);
	info.total_bytes = nla_get_u64(tb[VFIOD_MM_A_TOTAL_VM]);
	info.exit_time_ns = get_u64_or(tb[VFIOD_MM_A_EXIT_TIME], 0);
	info.has_rlimit = tb[VFIOD_MM_A_RLIMIT_MEMLOCK] != NULL;
	info.rlimit_memlock = get_u64_or(tb[VFIOD_MM_A_RLIMIT_MEMLOCK], 0);
	info.mm_refs = tb[VFIOD_MM_A_MM_REFS] ? nla_get_u32(tb[VFIOD_MM_A_MM_REFS]) : 0;
	info.owned = tb[VFIOD_MM_A_OWNED] != NULL;
	*ret = info;
	return 0;
}

static int parse_info(struct nlmsghdr *nlh, void *userdata)
{
	struct nlattr *tb[VFIOD_MM_A_MAX + 1];
	int r;

	r = genlmsg_parse(nlh, 0, tb, VFIOD_MM_A_MAX, mm_policy);
	if (r < 0)
		return nlerr_to_errno(r);
	return info_from_attrs(tb, userdata);
}

int vfd_mm_track_pid(vfd_mm_client *c, pid_t pid, uint64_t start_time, vfd_mm_info *ret)
{
	struct nl_msg *msg;
	vfd_mm_info info;
	int r;

	if (pid <= 0)
		return -ESRCH;
	r = new_message(c, c->family, VFIOD_MM_CMD_TRACK, 0, VFIOD_MM_FAMILY_VERSION, &msg);
	if (r < 0)
		return r;
	if (nla_put_u32(msg, VFIOD_MM_A_PID, (uint32_t)pid) < 0 ||
	    nla_put_u64(msg, VFIOD_MM_A_START_TIME, start_time) < 0) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	r = run_request(c, msg, parse_info, &info);
	if (r < 0)
		return r;
	if (ret)
		*ret = info;
	return 0;
}

int vfd_mm_track_pidfd(vfd_mm_client *c, int pidfd, vfd_mm_info *ret)
{
	uint64_t start_time;
	pid_t pid;
	int r;

	r = vfd_pidfd_get_pid(pidfd, &pid);
	if (r < 0)
		return r;
	r = vfd_process_start_time(pid, &start_time);
	if (r < 0)
		return r;
	/*
	 * Still running after the read: then that pid was this process when
	 * /proc was read. A later reuse is the kernel's to catch (-ESTALE).
	 */
	r = vfd_pidfd_exited(pidfd);
	if (r < 0)
		return r;
	if (r > 0)
		return -ESRCH;
	return vfd_mm_track_pid(c, pid, start_time, ret);
}

static int handle_request(vfd_mm_client *c, uint8_t cmd, uint32_t handle, reply_parser parse,
			  void *userdata)
{
	struct nl_msg *msg;
	int r;

	r = new_message(c, c->family, cmd, 0, VFIOD_MM_FAMILY_VERSION, &msg);
	if (r < 0)
		return r;
	if (nla_put_u32(msg, VFIOD_MM_A_HANDLE, handle) < 0) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return run_request(c, msg, parse, userdata);
}

int vfd_mm_get(vfd_mm_client *c, uint32_t handle, vfd_mm_info *ret)
{
	vfd_mm_info info;
	int r;

	r = handle_request(c, VFIOD_MM_CMD_GET, handle, parse_info, &info);
	if (r < 0)
		return r;
	*ret = info;
	return 0;
}

int vfd_mm_untrack(vfd_mm_client *c, uint32_t handle)
{
	return handle_request(c, VFIOD_MM_CMD_UNTRACK, handle, NULL, NULL);
}

typedef struct info_list {
	vfd_mm_info *items;
	size_t n;
	size_t allocated;
} info_list;

static int parse_list_item(struct nlmsghdr *nlh, void *userdata)
{
	info_list *l = userdata;
	vfd_mm_info info;
	int r;

	r = parse_info(nlh, &info);
	if (r < 0)
		return r;
	if (l->n == l->allocated) {
		size_t m = l->allocated ? l->allocated * 2 : 16;
		vfd_mm_info *p = reallocarray(l->items, m, sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->items = p;
		l->allocated = m;
	}
	l->items[l->n++] = info;
	return 0;
}

int vfd_mm_list(vfd_mm_client *c, vfd_mm_info **ret, size_t *ret_n)
{
	info_list l = { .n = 0 };
	struct nl_msg *msg;
	int r;

	r = new_message(c, c->family, VFIOD_MM_CMD_GET, NLM_F_DUMP, VFIOD_MM_FAMILY_VERSION, &msg);
	if (r < 0)
		return r;
	r = run_request(c, msg, parse_list_item, &l);
	if (r < 0) {
		free(l.items);
		return r;
	}
	/* The kernel dumps in handle order already. */
	*ret = l.items;
	*ret_n = l.n;
	return 0;
}

typedef struct stats {
	uint32_t handles;
	uint32_t watches;
	bool valid;
} stats;

static int parse_stats(struct nlmsghdr *nlh, void *userdata)
{
	struct nlattr *tb[VFIOD_MM_A_MAX + 1];
	stats *s = userdata;
	int r;

	r = genlmsg_parse(nlh, 0, tb, VFIOD_MM_A_MAX, mm_policy);
	if (r < 0)
		return nlerr_to_errno(r);
	if (!tb[VFIOD_MM_A_NR_HANDLES] || !tb[VFIOD_MM_A_NR_WATCHES])
		return -EBADMSG;
	s->handles = nla_get_u32(tb[VFIOD_MM_A_NR_HANDLES]);
	s->watches = nla_get_u32(tb[VFIOD_MM_A_NR_WATCHES]);
	s->valid = true;
	return 0;
}

int vfd_mm_stats(vfd_mm_client *c, uint32_t *ret_handles, uint32_t *ret_watches)
{
	stats s = { .valid = false };
	struct nl_msg *msg;
	int r;

	r = new_message(c, c->family, VFIOD_MM_CMD_STATS, 0, VFIOD_MM_FAMILY_VERSION, &msg);
	if (r < 0)
		return r;
	r = run_request(c, msg, parse_stats, &s);
	if (r < 0)
		return r;
	if (!s.valid)
		return -EBADMSG;
	*ret_handles = s.handles;
	*ret_watches = s.watches;
	return 0;
}

/* ---- VFIO device users ---- */

typedef struct device_users_reply {
	vfd_mm_device_users users;
	bool valid;
} device_users_reply;

static void copy_string(char *dst, size_t size, struct nlattr *a)
{
	snprintf(dst, size, "%s", a ? nla_get_string(a) : "");
}

static int parse_device_users(struct nlmsghdr *nlh, void *userdata)
{
	struct nlattr *tb[VFIOD_MM_A_MAX + 1];
	device_users_reply *d = userdata;
	int r;

	r = genlmsg_parse(nlh, 0, tb, VFIOD_MM_A_MAX, mm_policy);
	if (r < 0)
		return nlerr_to_errno(r);
	if (!tb[VFIOD_MM_A_VFIO_REGISTRATIONS] || !tb[VFIOD_MM_A_VFIO_OPEN_COUNT])
		return -EBADMSG;
	memset(&d->users, 0, sizeof(d->users));
	copy_string(d->users.name, sizeof(d->users.name), tb[VFIOD_MM_A_DEV_NAME]);
	copy_string(d->users.driver, sizeof(d->users.driver), tb[VFIOD_MM_A_DEV_DRIVER]);
	copy_string(d->users.vfio_dev, sizeof(d->users.vfio_dev), tb[VFIOD_MM_A_VFIO_DEV]);
	d->users.registrations = nla_get_u32(tb[VFIOD_MM_A_VFIO_REGISTRATIONS]);
	d->users.open_count = nla_get_u32(tb[VFIOD_MM_A_VFIO_OPEN_COUNT]);
	/* a registered device has its own reference: 0 would be a broken reply */
	if (d->users.registrations == 0)
		return -EBADMSG;
	d->valid = true;
	return 0;
}

int vfd_mm_device_users_get(vfd_mm_client *c, const char *pci_name, vfd_mm_device_users *ret)
{
	device_users_reply d = { .valid = false };
	struct nl_msg *msg;
	size_t len;
	int r;

	if (!c || !pci_name || !ret)
		return -EINVAL;
	len = strlen(pci_name);
	if (len == 0 || len >= VFD_MM_DEV_NAME_MAX)
		return -EINVAL;
	r = new_message(c, c->family, VFIOD_MM_CMD_DEVICE_USERS, 0, VFIOD_MM_FAMILY_VERSION, &msg);
	if (r < 0)
		return r;
	if (nla_put_string(msg, VFIOD_MM_A_DEV_NAME, pci_name) < 0) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	r = run_request(c, msg, parse_device_users, &d);
	if (r < 0)
		return r;
	if (!d.valid)
		return -EBADMSG;
	*ret = d.users;
	return 0;
}

bool vfd_mm_device_users_none(const vfd_mm_device_users *u)
{
	return u->registrations == 1;
}

/* ---- events ---- */

int vfd_mm_client_subscribe(vfd_mm_client *c, vfd_mm_event_handler_t handler, void *userdata)
{
	uint32_t handles, watches;
	struct nl_sock *ev;
	int r, fd, group;

	if (c->ev)
		return -EALREADY;
	/*
	 * The kernel refuses the join only without CAP_NET_ADMIN; without
	 * CAP_SYS_RESOURCE or CAP_SYS_ADMIN a member would silently receive
	 * nothing (docs/vfiod-mm.md). A command needs the same capabilities
	 * and says so: ask one first, so that subscribing answers -EPERM.
	 */
	r = vfd_mm_stats(c, &handles, &watches);
	if (r < 0)
		return r;
	ev = nl_socket_alloc();
	if (!ev)
		return -ENOMEM;
	r = nl_connect(ev, NETLINK_GENERIC);
	if (r < 0)
		goto fail_nl;
	r = nl_socket_set_nonblocking(ev);
	if (r < 0)
		goto fail_nl;
	r = nl_socket_set_buffer_size(ev, EVENT_SOCKET_RCVBUF, 0);
	if (r < 0)
		goto fail_nl;

	/* setsockopt directly: its errno (EPERM without CAP_NET_ADMIN) is the answer. */
	fd = nl_socket_get_fd(ev);
	group = (int)c->events_group;
	if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
		r = negative_errno();
		nl_socket_free(ev);
		return r;
	}
	c->ev = ev;
	c->handler = handler;
	c->userdata = userdata;
	return 0;

fail_nl:
	nl_socket_free(ev);
	return nlerr_to_errno(r);
}

int vfd_mm_client_event_fd(const vfd_mm_client *c)
{
	return c->ev ? nl_socket_get_fd(c->ev) : -EBADF;
}

static int event_type_of(uint8_t cmd, vfd_mm_event_type *ret)
{
	switch (cmd) {
	case VFIOD_MM_CMD_EXITED:
		*ret = VFD_MM_EVENT_EXITED;
		return 0;
	case VFIOD_MM_CMD_ZERO:
		*ret = VFD_MM_EVENT_ZERO;
		return 0;
	case VFIOD_MM_CMD_RELEASED:
		*ret = VFD_MM_EVENT_RELEASED;
		return 0;
	default:
		return -EBADMSG;
	}
}

static void dispatch(vfd_mm_client *c, vfd_mm_event_type type, const vfd_mm_info *info)
{
	if (c->handler)
		c->handler(c, type, info, c->userdata);
}

/* One datagram: any number of event messages. Malformed ones are skipped. */
static int dispatch_datagram(vfd_mm_client *c, void *buf, int len)
{
	int count = 0;

	for (struct nlmsghdr *nlh = buf; nlmsg_ok(nlh, len); nlh = nlmsg_next(nlh, &len)) {
		struct nlattr *tb[VFIOD_MM_A_MAX + 1];
		vfd_mm_event_type type;
		vfd_mm_info info;

		if (nlh->nlmsg_type != (uint16_t)c->family ||
		    nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
			continue;
		if (event_type_of(((struct genlmsghdr *)NLMSG_DATA(nlh))->cmd, &type) < 0)
			continue;
		if (genlmsg_parse(nlh, 0, tb, VFIOD_MM_A_MAX, mm_policy) < 0 ||
		    info_from_attrs(tb, &info) < 0)
			continue;
		dispatch(c, type, &info);
		count++;
	}
	return count;
}

int vfd_mm_client_process_events(vfd_mm_client *c)
{
	union {
		struct nlmsghdr align;
		char bytes[EVENT_RECV_BUFFER];
	} buf;
	int count = 0;

	if (!c->ev)
		return -ENOTCONN;
	for (;;) {
		struct sockaddr_nl from = { .nl_family = 0 };
		socklen_t fromlen = sizeof(from);
		ssize_t n;

		n = recvfrom(nl_socket_get_fd(c->ev), buf.bytes, sizeof(buf.bytes), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return count;
			if (errno == ENOBUFS) {
				dispatch(c, VFD_MM_EVENT_LOST, NULL);
				count++;
				continue;
			}
			return negative_errno();
		}
		/* Only the kernel sends events; anyone could unicast to this socket. */
		if (from.nl_family != AF_NETLINK || from.nl_pid != 0)
			continue;
		count += dispatch_datagram(c, buf.bytes, (int)n);
	}
}

static int on_event_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	vfd_mm_client *c = userdata;
	int r;

	r = vfd_mm_client_process_events(c);
	return r < 0 ? r : 0;
}

int vfd_mm_client_attach_event(vfd_mm_client *c, sd_event *e, int64_t priority)
{
	sd_event_source *s = NULL;
	int r;

	if (!c->ev)
		return -ENOTCONN;
	if (c->ev_source)
		return -EALREADY;
	r = sd_event_add_io(e, &s, nl_socket_get_fd(c->ev), EPOLLIN, on_event_io, c);
	if (r < 0)
		return r;
	r = sd_event_source_set_priority(s, priority);
	if (r < 0) {
		sd_event_source_unref(s);
		return r;
	}
	(void)sd_event_source_set_description(s, "vfiod-mm-events");
	c->ev_source = s;
	return 0;
}
