/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The root-relative filesystem layer: every /sys and /dev access of vfiod
 * goes through here, so that tests can point a context at a fixture tree.
 *
 * Paths are resolved by openat2() with RESOLVE_BENEATH below an O_PATH
 * descriptor of the root. The kernel then refuses, with -EXDEV, any path or
 * symlink that would leave the tree: ".." climbing above the root and
 * absolute symlinks alike. Relative symlinks inside the tree resolve, which
 * is all sysfs uses (its links are "../../../devices/...").
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "vfd-internal.h"
#include "vfiod/fault.h"
#include "vfiod/inventory.h"

struct vfd_context {
	int root_fd; /* O_PATH|O_DIRECTORY */
	char *root;  /* as given, for messages and vfd_context_root() */
	vfd_pci_names_db *names_db; /* lib/pci-names.c: the hwdb, opened on first use */

	/* ---- test-only hooks (lib/include/vfiod/fault.h), added by the bind/mdev-ctl work ---- */
	vfd_write_hook_fn write_hook; /* NULL in production */
	void *write_hook_userdata;
	vfd_fault fault;              /* disarmed (all zero) in production */
	/* ---- end of test-only hooks ---- */

	/* writes through this context so far; atomic: the unbind worker writes too */
	unsigned long writes;
};

int vfd_context_new(const char *root, vfd_context **ret)
{
	_cleanup_close_ int fd = -1;
	vfd_context *ctx;

	if (!ret)
		return -EINVAL;
	if (!root)
		root = "/";
	if (root[0] == '\0')
		return -EINVAL;

	fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->root = strdup(root);
	if (!ctx->root) {
		free(ctx);
		return -ENOMEM;
	}
	ctx->root_fd = TAKE_FD(fd);
	*ret = ctx;
	return 0;
}

vfd_context *vfd_context_free(vfd_context *ctx)
{
	if (!ctx)
		return NULL;
	if (ctx->root_fd >= 0)
		close(ctx->root_fd);
	vfd_pci_names_db_free(ctx->names_db);
	free(ctx->root);
	free(ctx);
	return NULL;
}

vfd_pci_names_db **vfd_context_names_db(vfd_context *ctx)
{
	return &ctx->names_db;
}

const char *vfd_context_root(const vfd_context *ctx)
{
	return ctx ? ctx->root : NULL;
}

unsigned long vfd_context_writes(const vfd_context *ctx)
{
	return ctx ? __atomic_load_n(&ctx->writes, __ATOMIC_ACQUIRE) : 0;
}

/* ---- test-only hooks (lib/include/vfiod/fault.h), added by the bind/mdev-ctl work ---- */
void vfd_context_set_write_hook(vfd_context *ctx, vfd_write_hook_fn fn, void *userdata)
{
	if (!ctx)
		return;
	ctx->write_hook = fn;
	ctx->write_hook_userdata = fn ? userdata : NULL;
}

vfd_fault *vfd_context_fault(vfd_context *ctx)
{
	return ctx ? &ctx->fault : NULL;
}
/* ---- end of test-only hooks ---- */

int vfd_pathf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

bool vfd_name_is_component(const char *name)
{
	return name && name[0] != '\0' && !strchr(name, '/') &&
	       strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/*
 * The contract refuses absolute paths and ".." outright, before the kernel
 * sees them: a caller building "sys/bus/pci/devices/%s" from untrusted
 * input must get -EINVAL, not a resolution that happens to stay inside.
 */
static int path_check(const char *path)
{
	const char *p;

	if (!path || path[0] == '\0' || path[0] == '/')
		return -EINVAL;

	for (p = path; *p;) {
		size_t len = strcspn(p, "/");

		if (len == 2 && p[0] == '.' && p[1] == '.')
			return -EINVAL;
		p += len;
		while (*p == '/')
			p++;
	}
	return 0;
}

static int root_openat2(vfd_context *ctx, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		/* sysfs and devfs: no creation through this layer */
		.mode = 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	int r, attempt;

	if (!ctx)
		return -EINVAL;
	r = path_check(path);
	if (r < 0)
		return r;
	/* O_TMPFILE includes O_DIRECTORY's bit: compare the whole mask */
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		return -EINVAL;

	/* RESOLVE_BENEATH may answer EAGAIN when a rename races the walk. */
	for (attempt = 0; attempt < 8; attempt++) {
		long fd = syscall(SYS_openat2, ctx->root_fd, path, &how, sizeof(how));

		if (fd >= 0)
			return (int)fd;
		if (errno != EAGAIN && errno != EINTR)
			return negative_errno();
	}
	return -EAGAIN;
}

int vfd_root_open(vfd_context *ctx, const char *path, int flags)
{
	return root_openat2(ctx, path, flags);
}

/* Reads a whole small file; *ret_size excludes the NUL that is always added. */
static int read_all(int fd, char **ret, size_t *ret_size)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 0, allocated = 0;

	for (;;) {
		ssize_t n;

		if (allocated - size < 2) {
			/* grows 4 KiB, 8 KiB, ... and stops one byte past the cap */
			size_t want = allocated ? allocated * 2 : 4096;
			char *nbuf;

			if (want > VFD_ROOT_READ_MAX + 2)
				want = VFD_ROOT_READ_MAX + 2;
			if (want <= allocated)
				return -EFBIG;
			nbuf = realloc(buf, want);
			if (!nbuf)
				return -ENOMEM;
			buf = nbuf;
			allocated = want;
		}

		n = read(fd, buf + size, allocated - size - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			break;
		size += (size_t)n;
		if (size > VFD_ROOT_READ_MAX)
			return -EFBIG;
	}

	if (!buf) {
		buf = malloc(1);
		if (!buf)
			return -ENOMEM;
	}
	buf[size] = '\0';

	/* results live on in device records: do not keep a page per value */
	if (size + 1 < allocated) {
		char *shrunk = realloc(buf, size + 1);

		if (shrunk)
			buf = shrunk;
	}
	*ret = TAKE_PTR(buf);
	*ret_size = size;
	return 0;
}

/* A text attribute with a NUL in it is not text: refuse, do not truncate. */
static int text_finish(char *buf, size_t size)
{
	if (memchr(buf, '\0', size))
		return -EBADMSG;
	if (size > 0 && buf[size - 1] == '\n')
		buf[size - 1] = '\0';
	return 0;
}

int vfd_root_read_string(vfd_context *ctx, const char *path, char **ret)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t size;
	int r;

	if (!ret)
		return -EINVAL;
	fd = root_openat2(ctx, path, O_RDONLY | O_NOCTTY);
	if (fd < 0)
		return fd;
	r = read_all(fd, &buf, &size);
	if (r < 0)
		return r;
	r = text_finish(buf, size);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(buf);
	return 0;
}

/* up to size bytes at offset, fewer only at the end of the file; the count */
static int pread_full(int fd, void *buf, size_t size, uint64_t offset)
{
	size_t done = 0;

	while (done < size) {
		ssize_t n = pread(fd, (char *)buf + done, size - done, (off_t)(offset + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (int)done;
}

int vfd_root_pread(vfd_context *ctx, const char *path, void *buf, size_t size, uint64_t offset)
{
	_cleanup_close_ int fd = -1;

	if (!buf || size > (size_t)INT_MAX || offset > (uint64_t)INT64_MAX - size)
		return -EINVAL;
	fd = root_openat2(ctx, path, O_RDONLY | O_NOCTTY);
	if (fd < 0)
		return fd;

	return pread_full(fd, buf, size, offset);
}

/* Decimal, or hex with a 0x prefix; nothing else (no sign, no blanks, no octal). */
static int parse_u64(const char *s, uint64_t *ret)
{
	uint64_t v = 0;
	unsigned base = 10;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (*s == '\0')
		return -EINVAL;

	for (; *s; s++) {
		unsigned digit;

		if (*s >= '0' && *s <= '9')
			digit = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			digit = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			digit = (unsigned)(*s - 'A' + 10);
		else
			return -EINVAL;

		if (v > (UINT64_MAX - digit) / base)
			return -ERANGE;
		v = v * base + digit;
	}
	*ret = v;
	return 0;
}

/* as parse_u64, with an optional minus: numa_node reads "-1" on machines without NUMA information */
static int parse_int(const char *s, int *ret)
{
	bool negative = s[0] == '-';
	uint64_t v;
	int r;

	r = parse_u64(s + negative, &v);
	if (r < 0)
		return r;
	if (negative ? v > (uint64_t)INT_MAX + 1 : v > INT_MAX)
		return -ERANGE;
	*ret = negative ? (int)(-(int64_t)v) : (int)v;
	return 0;
}

int vfd_parse_unsigned(const char *s, unsigned *ret)
{
	uint64_t v = 0;
	const char *p;

	/* decimal only: group numbers and the like */
	if (!s || *s == '\0')
		return -EINVAL;
	for (p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return -EINVAL;
	if (parse_u64(s, &v) < 0 || v > UINT_MAX)
		return -ERANGE;
	*ret = (unsigned)v;
	return 0;
}

int vfd_root_read_u64(vfd_context *ctx, const char *path, uint64_t *ret)
{
	_cleanup_free_ char *s = NULL;
	int r;

	if (!ret)
		return -EINVAL;
	r = vfd_root_read_string(ctx, path, &s);
	if (r < 0)
		return r;
	return parse_u64(s, ret); /* *ret written only on success */
}

int vfd_root_read_int(vfd_context *ctx, const char *path, int *ret)
{
	_cleanup_free_ char *s = NULL;
	int r;

	if (!ret)
		return -EINVAL;
	r = vfd_root_read_string(ctx, path, &s);
	if (r < 0)
		return r;

	return parse_int(s, ret);
}

/* the fault step of a sysfs write (lib/include/vfiod/fault.h), by the attribute written */
static const char *write_step(const char *path)
{
	static const struct {
		const char *attr, *step;
	} steps[] = {
		{ "driver_override", "sysfs-driver-override" },
		{ "unbind", "sysfs-unbind" },
		{ "bind", "sysfs-bind" },
		{ "drivers_probe", "sysfs-drivers-probe" },
		{ "create", "sysfs-mdev-create" },
		{ "remove", "sysfs-mdev-remove" },
		{ "sriov_numvfs", "sysfs-sriov-numvfs" },
		{ "sriov_drivers_autoprobe", "sysfs-sriov-autoprobe" },
		{ "current_vgpu_type", "sysfs-vgpu-type" },
	};
	const char *attr = strrchr(path, '/');

	attr = attr ? attr + 1 : path;
	for (size_t i = 0; i < ELEMENTSOF(steps); i++)
		if (strcmp(attr, steps[i].attr) == 0)
			return steps[i].step;
	return "sysfs-write";
}

int vfd_root_write_string(vfd_context *ctx, const char *path, const char *value)
{
	_cleanup_close_ int fd = -1;
	size_t len;
	ssize_t n;
	int r;

	if (!value)
		return -EINVAL;
	r = vfd_fault_step(ctx, write_step(path));
	if (r < 0)
		return r;
	/* counted before the write: a reader that sees the count re-reads after it */
	if (ctx)
		__atomic_add_fetch(&ctx->writes, 1, __ATOMIC_ACQ_REL);
	/*
	 * O_TRUNC as the shell's ">" does: sysfs ignores it, and in a fixture
	 * tree the file then holds the last value written, like an attribute.
	 */
	fd = root_openat2(ctx, path, O_WRONLY | O_TRUNC | O_NOCTTY);
	if (fd < 0)
		return fd;

	/* sysfs takes one write() per value; a split write would be two values */
	len = strlen(value);
	do
		n = write(fd, value, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return negative_errno();
	if ((size_t)n != len)
		return -EIO;
	/* test-only (lib/include/vfiod/fault.h): a fixture imitates the kernel's reaction */
	if (ctx->write_hook)
		return ctx->write_hook(path, value, ctx->write_hook_userdata);
	return 0;
}

int vfd_root_pwrite(vfd_context *ctx, const char *path, const void *buf, size_t size,
		    uint64_t offset)
{
	_cleanup_close_ int fd = -1;
	ssize_t n;

	if (!buf || size == 0 || size > (size_t)INT_MAX || offset > (uint64_t)INT64_MAX - size)
		return -EINVAL;
	fd = root_openat2(ctx, path, O_WRONLY | O_NOCTTY);
	if (fd < 0)
		return fd;
	if (ctx)
		__atomic_add_fetch(&ctx->writes, 1, __ATOMIC_ACQ_REL);
	do
		n = pwrite(fd, buf, size, (off_t)offset);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return negative_errno();
	return (size_t)n == size ? 0 : -EIO;
}

/*
 * Opens the directory holding the last component of path (without
 * following that component) and returns the component in *ret_last.
 */
static int open_parent(vfd_context *ctx, const char *path, const char **ret_last)
{
	char dir[VFD_PATH_MAX];
	const char *slash, *last;
	int r;

	r = path_check(path);
	if (r < 0)
		return r;

	slash = strrchr(path, '/');
	last = slash ? slash + 1 : path;
	if (!vfd_name_is_component(last))
		return -EINVAL;

	if (!slash)
		r = vfd_pathf(dir, sizeof(dir), ".");
	else
		r = vfd_pathf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (r < 0)
		return r;

	r = root_openat2(ctx, dir, O_PATH | O_DIRECTORY);
	if (r < 0)
		return r;
	*ret_last = last;
	return r;
}

int vfd_root_readlink(vfd_context *ctx, const char *path, char **ret)
{
	_cleanup_close_ int dfd = -1;
	char buf[VFD_PATH_MAX];
	const char *last;
	char *s;
	ssize_t n;

	if (!ret)
		return -EINVAL;
	dfd = open_parent(ctx, path, &last);
	if (dfd < 0)
		return dfd;

	n = readlinkat(dfd, last, buf, sizeof(buf));
	if (n < 0)
		return negative_errno();
	if ((size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	buf[n] = '\0';

	s = strdup(buf);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

/* "../../bus/pci/drivers/e1000e/" names e1000e as well; target is changed */
static int link_basename(char *target, char **ret)
{
	char *end, *base, *s;

	end = target + strlen(target);
	while (end > target && end[-1] == '/')
		*--end = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (!vfd_name_is_component(base))
		return -EINVAL;

	s = strdup(base);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

int vfd_root_readlink_basename(vfd_context *ctx, const char *path, char **ret)
{
	_cleanup_free_ char *target = NULL;
	int r;

	if (!ret)
		return -EINVAL;
	r = vfd_root_readlink(ctx, path, &target);
	if (r < 0)
		return r;
	return link_basename(target, ret);
}

int vfd_root_exists(vfd_context *ctx, const char *path)
{
	_cleanup_close_ int fd = -1;

	fd = root_openat2(ctx, path, O_PATH);
	if (fd == -ENOENT || fd == -ENOTDIR)
		return 0;
	if (fd < 0)
		return fd;
	return 1;
}

int vfd_root_stat(vfd_context *ctx, const char *path, struct stat *ret)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (!ret)
		return -EINVAL;
	fd = root_openat2(ctx, path, O_PATH);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return negative_errno();
	*ret = st;
	return 0;
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

int vfd_root_list_dir(vfd_context *ctx, const char *path, char ***ret)
{
	_cleanup_(vfd_strv_freep) char **l = NULL;
	_cleanup_(closedirp) DIR *d = NULL;
	size_t n = 0;
	int fd, r;

	if (!ret)
		return -EINVAL;
	fd = root_openat2(ctx, path, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return fd;
	d = fdopendir(fd);
	if (!d) {
		r = negative_errno();
		close(fd);
		return r;
	}

	/* an empty directory gives an empty list, not NULL */
	l = calloc(1, sizeof(char *));
	if (!l)
		return -ENOMEM;

	for (;;) {
		struct dirent *de;
		char *name;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno != 0)
				return negative_errno();
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;

		name = strdup(de->d_name);
		if (!name)
			return -ENOMEM;
		r = vfd_strv_push(&l, &n, name);
		if (r < 0)
			return r;
	}

	vfd_strv_sort(l);
	*ret = TAKE_PTR(l);
	return 0;
}

int vfd_root_list_dir_or_empty(vfd_context *ctx, const char *path, char ***ret)
{
	char **l;
	int r;

	r = vfd_root_list_dir(ctx, path, ret);
	if (r != -ENOENT)
		return r;

	l = calloc(1, sizeof(char *));
	if (!l)
		return -ENOMEM;
	*ret = l;
	return 0;
}

/* ---- attributes relative to one opened directory (vfd_root_open_dir) ---- */

int vfd_root_open_dir(vfd_context *ctx, const char *path)
{
	return root_openat2(ctx, path, O_PATH | O_DIRECTORY);
}

/*
 * One attribute of the directory dfd: name is a single component, and the
 * resolution stays beneath dfd itself (RESOLVE_BENEATH from the device
 * directory, stricter than from the root), so a symlinked attribute cannot
 * lead out of the device, let alone out of the root.
 */
static int dir_openat2(int dfd, const char *name, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.mode = 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	int attempt;

	if (dfd < 0 || !vfd_name_is_component(name))
		return -EINVAL;
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		return -EINVAL;

	for (attempt = 0; attempt < 8; attempt++) {
		long fd = syscall(SYS_openat2, dfd, name, &how, sizeof(how));

		if (fd >= 0)
			return (int)fd;
		if (errno != EAGAIN && errno != EINTR)
			return negative_errno();
	}
	return -EAGAIN;
}

int vfd_dir_read_string(int dfd, const char *name, char **ret)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	char small[256];
	size_t size;
	ssize_t n;
	int r;

	if (!ret)
		return -EINVAL;
	fd = dir_openat2(dfd, name, O_RDONLY | O_NOCTTY);
	if (fd < 0)
		return fd;

	/*
	 * sysfs hands out a whole attribute in the first read(); a read that
	 * leaves room in the buffer has seen all of it (a regular file of a
	 * fixture too: a short read there means end of file). Only a full
	 * buffer takes the general path.
	 */
	do
		n = read(fd, small, sizeof(small));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return negative_errno();
	if ((size_t)n < sizeof(small)) {
		size = (size_t)n;
		buf = malloc(size + 1);
		if (!buf)
			return -ENOMEM;
		memcpy(buf, small, size);
		buf[size] = '\0';
	} else {
		if (lseek(fd, 0, SEEK_SET) < 0)
			return negative_errno();
		r = read_all(fd, &buf, &size);
		if (r < 0)
			return r;
	}

	r = text_finish(buf, size);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(buf);
	return 0;
}

int vfd_dir_read_u64(int dfd, const char *name, uint64_t *ret)
{
	_cleanup_free_ char *s = NULL;
	int r;

	if (!ret)
		return -EINVAL;
	r = vfd_dir_read_string(dfd, name, &s);
	if (r < 0)
		return r;
	return parse_u64(s, ret); /* *ret written only on success */
}

int vfd_dir_read_int(int dfd, const char *name, int *ret)
{
	_cleanup_free_ char *s = NULL;
	int r;

	if (!ret)
		return -EINVAL;
	r = vfd_dir_read_string(dfd, name, &s);
	if (r < 0)
		return r;
	return parse_int(s, ret);
}

int vfd_dir_pread(int dfd, const char *name, void *buf, size_t size, uint64_t offset)
{
	_cleanup_close_ int fd = -1;

	if (!buf || size > (size_t)INT_MAX || offset > (uint64_t)INT64_MAX - size)
		return -EINVAL;
	fd = dir_openat2(dfd, name, O_RDONLY | O_NOCTTY);
	if (fd < 0)
		return fd;

	return pread_full(fd, buf, size, offset);
}

int vfd_dir_readlink_basename(int dfd, const char *name, char **ret)
{
	char buf[VFD_PATH_MAX];
	ssize_t n;

	if (!ret)
		return -EINVAL;
	if (dfd < 0 || !vfd_name_is_component(name))
		return -EINVAL;

	/* the link itself, never followed: nothing is resolved, nothing can escape */
	n = readlinkat(dfd, name, buf, sizeof(buf));
	if (n < 0)
		return negative_errno();
	if ((size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return link_basename(buf, ret);
}

int vfd_dir_exists(int dfd, const char *name)
{
	_cleanup_close_ int fd = -1;

	fd = dir_openat2(dfd, name, O_PATH);
	if (fd == -ENOENT || fd == -ENOTDIR)
		return 0;
	if (fd < 0)
		return fd;
	return 1;
}
