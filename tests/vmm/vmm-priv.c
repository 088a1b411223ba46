/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Privileges and accounting of the VMM process itself.
 *
 * The kernel's memlock accounting only bites a process without
 * CAP_IPC_LOCK: type1 skips the RLIMIT_MEMLOCK check entirely for a
 * capable mapper, and iommufd does too. A VMM under test therefore has to
 * drop to an ordinary user with no capabilities at all, like QEMU under
 * libvirt, and the tests must see proof of it (CapEff == 0).
 */
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vfiod/util.h"
#include "vmm.h"

int vmm_set_memlock(uint64_t bytes)
{
	struct rlimit rl = { .rlim_cur = bytes, .rlim_max = bytes };

	if (setrlimit(RLIMIT_MEMLOCK, &rl) < 0)
		return negative_errno();
	return 0;
}

static int parse_id(const char *s, unsigned long *ret)
{
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v >= (unsigned long)(uid_t)-1)
		return -EINVAL;
	*ret = v;
	return 0;
}

int vmm_lookup_user(const char *spec, uid_t *ret_uid, gid_t *ret_gid)
{
	_cleanup_free_ char *copy = NULL;
	unsigned long uid, gid;
	struct passwd *pw;
	char *colon;

	if (!spec || !*spec)
		return -EINVAL;

	copy = strdup(spec);
	if (!copy)
		return -ENOMEM;
	colon = strchr(copy, ':');
	if (colon)
		*colon = '\0';

	if (parse_id(copy, &uid) == 0) {
		/* numeric: the group is given, or the user's own, or uid */
		if (colon) {
			if (parse_id(colon + 1, &gid) < 0)
				return -EINVAL;
		} else {
			pw = getpwuid((uid_t)uid);
			gid = pw ? pw->pw_gid : uid;
		}
	} else {
		if (colon)
			return -EINVAL;
		errno = 0;
		pw = getpwnam(copy);
		if (!pw)
			return errno > 0 ? -errno : -ESRCH;
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}

	*ret_uid = (uid_t)uid;
	*ret_gid = (gid_t)gid;
	return 0;
}

static int clear_capabilities(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return negative_errno();
	/* effective, permitted and inheritable all empty */
	if (syscall(SYS_capset, &hdr, data) < 0)
		return negative_errno();
	return 0;
}

int vmm_drop_privileges(uid_t uid, gid_t gid)
{
	vmm_proc_status st;
	int r;

	if (uid == 0)
		return -EINVAL;

	if (setgroups(0, NULL) < 0)
		return negative_errno();
	if (setresgid(gid, gid, gid) < 0)
		return negative_errno();
	/* No SECBIT_KEEP_CAPS: leaving uid 0 already empties the sets. */
	if (setresuid(uid, uid, uid) < 0)
		return negative_errno();
	r = clear_capabilities();
	if (r < 0)
		return r;
	/* A set-uid helper must not be able to hand anything back. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return negative_errno();

	/* Trust, but verify: the kernel's own view of this process. */
	r = vmm_proc_status_read(&st);
	if (r < 0)
		return r;
	if (st.cap_eff != 0 || st.cap_prm != 0 || st.uid != uid)
		return -EPERM;
	return 0;
}

/* "Key:\t  123 kB" -> 123 */
static int status_value(const char *line, const char *key, int base, uint64_t *ret)
{
	size_t len = strlen(key);
	const char *p;
	char *end;
	unsigned long long v;

	if (strncmp(line, key, len) != 0 || line[len] != ':')
		return 0;
	p = line + len + 1;
	errno = 0;
	v = strtoull(p, &end, base);
	if (errno || end == p)
		return -EBADMSG;
	*ret = v;
	return 1;
}

int vmm_proc_status_read(vmm_proc_status *ret)
{
	vmm_proc_status st = {};
	FILE *f;
	char line[256];
	unsigned seen = 0;
	uint64_t uid = 0;
	int r = 0;

	f = fopen("/proc/self/status", "re");
	if (!f)
		return negative_errno();

	while (r >= 0 && fgets(line, sizeof(line), f)) {
		if ((r = status_value(line, "VmLck", 10, &st.vm_lck_kb)) > 0)
			seen |= 1u << 0;
		else if (r == 0 && (r = status_value(line, "VmPin", 10, &st.vm_pin_kb)) > 0)
			seen |= 1u << 1;
		else if (r == 0 && (r = status_value(line, "CapEff", 16, &st.cap_eff)) > 0)
			seen |= 1u << 2;
		else if (r == 0 && (r = status_value(line, "CapPrm", 16, &st.cap_prm)) > 0)
			seen |= 1u << 3;
		else if (r == 0 && (r = status_value(line, "Uid", 10, &uid)) > 0)
			seen |= 1u << 4; /* the real uid comes first */
	}
	fclose(f);
	if (r < 0)
		return r;
	if (seen != 0x1f)
		return -EBADMSG;

	st.uid = (uid_t)uid;
	*ret = st;
	return 0;
}
