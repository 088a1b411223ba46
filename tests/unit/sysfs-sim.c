/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel-reaction simulator for fixture trees, see sysfs-sim.h. */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sysfs-sim.h"
#include "vfd-test.h"

#define SIM_MAX 64

typedef struct sim_probe_failure {
	char *bdf, *driver;
	int err;
} sim_probe_failure;

typedef struct sim_write_failure {
	char *path;
	int err;
} sim_write_failure;

typedef struct sim_native {
	char *bdf, *driver;
} sim_native;

typedef struct sim_mdev_attrs {
	char *type_id;
	char **names;
} sim_mdev_attrs;

struct sim {
	char *root; /* realpath of the tree */
	sim_probe_failure probe_failures[SIM_MAX];
	size_t n_probe_failures;
	sim_write_failure write_failures[SIM_MAX];
	size_t n_write_failures;
	sim_native natives[256];
	size_t n_natives;
	sim_mdev_attrs mdev_attrs[SIM_MAX];
	size_t n_mdev_attrs;
	char **log;
	size_t n_log;
};

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		vfd_test_fail(__FILE__, __LINE__, "out of memory");
	return d;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		vfd_test_fail(__FILE__, __LINE__, "out of memory");
	return s;
}

/* basename of a symlink's target, or NULL when path is no symlink */
static char *link_basename(const char *path)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	char *slash;

	if (n < 0)
		return NULL;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	return xstrdup(slash ? slash + 1 : buf);
}

static char *read_text(const char *path)
{
	char buf[4096];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return xstrdup(buf);
}

static int write_text(const char *path, const char *content)
{
	size_t len = strlen(content);
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, content, len) != (ssize_t)len) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

/* Relative path from directory from_dir to to, both absolute and canonical. */
static char *relative_to(const char *from_dir, const char *to)
{
	const char *f = from_dir, *t = to;
	size_t ups = 0, len;
	char *out;

	/* walk the common leading components, one "/name" at a time */
	while (*f == '/' && *t == '/') {
		size_t lf = strcspn(f + 1, "/"), lt = strcspn(t + 1, "/");

		if (lf != lt || memcmp(f + 1, t + 1, lf) != 0)
			break;
		f += 1 + lf;
		t += 1 + lt;
	}
	for (; *f; f++)
		if (*f == '/')
			ups++;

	len = ups * 3 + strlen(t) + 2;
	out = calloc(1, len);
	if (!out)
		vfd_test_fail(__FILE__, __LINE__, "out of memory");
	while (ups--)
		strcat(out, "../");
	/* t is "" or "/rest" */
	strcat(out, *t ? t + 1 : "");
	len = strlen(out);
	if (len > 0 && out[len - 1] == '/')
		out[len - 1] = '\0';
	if (!*out)
		strcpy(out, ".");
	return out;
}

/* A relative symlink at link_path (absolute) pointing to target (absolute). */
static int make_link(const char *link_path, const char *target)
{
	char *dir = xstrdup(link_path), *slash, *real_dir, *rel;
	int r = 0;

	slash = strrchr(dir, '/');
	*slash = '\0';
	real_dir = realpath(dir, NULL);
	if (!real_dir)
		vfd_test_fail(__FILE__, __LINE__, "realpath(%s): %s", dir, strerror(errno));
	rel = relative_to(real_dir, target);
	if (symlink(rel, link_path) < 0)
		r = -errno;
	free(rel);
	free(real_dir);
	free(dir);
	return r;
}

static void remove_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode))
		vfd_test_rm_rf(path);
	else
		unlink(path);
}

/* ---- the simulator ---- */

static void scan_natives(sim *s)
{
	char *devices = xasprintf("%s/sys/bus/pci/devices", s->root);
	struct dirent *de;
	DIR *d = opendir(devices);

	if (!d) {
		free(devices);
		return;
	}
	while ((de = readdir(d))) {
		char *link;
		char *driver;

		if (de->d_name[0] == '.')
			continue;
		link = xasprintf("%s/%s/driver", devices, de->d_name);
		driver = link_basename(link);
		if (driver)
			sim_set_native(s, de->d_name, driver);
		free(driver);
		free(link);
	}
	closedir(d);
	free(devices);
}

sim *sim_new(const char *root)
{
	sim *s = calloc(1, sizeof(*s));

	if (!s)
		vfd_test_fail(__FILE__, __LINE__, "out of memory");
	s->root = realpath(root, NULL);
	if (!s->root)
		vfd_test_fail(__FILE__, __LINE__, "realpath(%s): %s", root, strerror(errno));
	scan_natives(s);
	return s;
}

void sim_free(sim *s)
{
	size_t i, j;

	if (!s)
		return;
	for (i = 0; i < s->n_probe_failures; i++) {
		free(s->probe_failures[i].bdf);
		free(s->probe_failures[i].driver);
	}
	for (i = 0; i < s->n_write_failures; i++)
		free(s->write_failures[i].path);
	for (i = 0; i < s->n_natives; i++) {
		free(s->natives[i].bdf);
		free(s->natives[i].driver);
	}
	for (i = 0; i < s->n_mdev_attrs; i++) {
		free(s->mdev_attrs[i].type_id);
		for (j = 0; s->mdev_attrs[i].names[j]; j++)
			free(s->mdev_attrs[i].names[j]);
		free(s->mdev_attrs[i].names);
	}
	for (i = 0; i < s->n_log; i++)
		free(s->log[i]);
	free(s->log);
	free(s->root);
	free(s);
}

void sim_fail_probe(sim *s, const char *bdf, const char *driver, int err)
{
	if (s->n_probe_failures == SIM_MAX)
		vfd_test_fail(__FILE__, __LINE__, "too many probe failures");
	s->probe_failures[s->n_probe_failures++] = (sim_probe_failure){
		.bdf = xstrdup(bdf), .driver = xstrdup(driver), .err = err,
	};
}

void sim_fail_write(sim *s, const char *path, int err)
{
	if (s->n_write_failures == SIM_MAX)
		vfd_test_fail(__FILE__, __LINE__, "too many write failures");
	s->write_failures[s->n_write_failures++] = (sim_write_failure){
		.path = xstrdup(path), .err = err,
	};
}

void sim_clear_failures(sim *s)
{
	size_t i;

	for (i = 0; i < s->n_probe_failures; i++) {
		free(s->probe_failures[i].bdf);
		free(s->probe_failures[i].driver);
	}
	for (i = 0; i < s->n_write_failures; i++)
		free(s->write_failures[i].path);
	s->n_probe_failures = 0;
	s->n_write_failures = 0;
}

void sim_set_native(sim *s, const char *bdf, const char *driver)
{
	size_t i;

	for (i = 0; i < s->n_natives; i++)
		if (strcmp(s->natives[i].bdf, bdf) == 0) {
			free(s->natives[i].driver);
			s->natives[i].driver = driver ? xstrdup(driver) : NULL;
			return;
		}
	if (s->n_natives == sizeof(s->natives) / sizeof(s->natives[0]))
		vfd_test_fail(__FILE__, __LINE__, "too many devices");
	s->natives[s->n_natives++] = (sim_native){
		.bdf = xstrdup(bdf), .driver = driver ? xstrdup(driver) : NULL,
	};
}

void sim_set_mdev_attrs(sim *s, const char *type_id, const char *const *names)
{
	sim_mdev_attrs *a;
	size_t n = 0, i;

	if (s->n_mdev_attrs == SIM_MAX)
		vfd_test_fail(__FILE__, __LINE__, "too many mdev types");
	while (names[n])
		n++;
	a = &s->mdev_attrs[s->n_mdev_attrs++];
	a->type_id = xstrdup(type_id);
	a->names = calloc(n + 1, sizeof(char *));
	if (!a->names)
		vfd_test_fail(__FILE__, __LINE__, "out of memory");
	for (i = 0; i < n; i++)
		a->names[i] = xstrdup(names[i]);
}

size_t sim_n_writes(const sim *s)
{
	return s->n_log;
}

const char *sim_write_at(const sim *s, size_t i)
{
	return i < s->n_log ? s->log[i] : NULL;
}

bool sim_wrote_path_suffix(const sim *s, const char *suffix)
{
	size_t i, sl = strlen(suffix);

	for (i = 0; i < s->n_log; i++) {
		const char *eq = strchr(s->log[i], '=');
		size_t pl = eq ? (size_t)(eq - s->log[i]) : strlen(s->log[i]);

		if (pl >= sl && strncmp(s->log[i] + pl - sl, suffix, sl) == 0)
			return true;
	}
	return false;
}

static const char *native_of(const sim *s, const char *bdf)
{
	size_t i;

	for (i = 0; i < s->n_natives; i++)
		if (strcmp(s->natives[i].bdf, bdf) == 0)
			return s->natives[i].driver;
	return NULL;
}

static int probe_failure(const sim *s, const char *bdf, const char *driver)
{
	size_t i;

	for (i = 0; i < s->n_probe_failures; i++)
		if (strcmp(s->probe_failures[i].bdf, bdf) == 0 &&
		    strcmp(s->probe_failures[i].driver, driver) == 0)
			return s->probe_failures[i].err;
	return 0;
}

/* the device directory (canonical) of bdf, NULL when there is none */
static char *pci_device_dir(const sim *s, const char *bdf)
{
	char *p = xasprintf("%s/sys/bus/pci/devices/%s", s->root, bdf);
	char *real = realpath(p, NULL);

	free(p);
	return real;
}

/* the override as the kernel keeps it: NULL when none */
static char *device_override(const char *dev)
{
	char *p = xasprintf("%s/driver_override", dev);
	char *v = read_text(p);

	free(p);
	if (v && (v[0] == '\0' || strcmp(v, "(null)") == 0)) {
		free(v);
		v = NULL;
	}
	return v;
}

static char *device_driver(const char *dev)
{
	char *p = xasprintf("%s/driver", dev);
	char *d = link_basename(p);

	free(p);
	return d;
}

/* vfio_pci_core_register_device() refuses anything but a normal header */
static bool device_is_normal_header(const char *dev)
{
	char *p = xasprintf("%s/config", dev);
	unsigned char h = 0;
	int fd = open(p, O_RDONLY | O_CLOEXEC);

	free(p);
	if (fd < 0)
		return true;
	if (pread(fd, &h, 1, 0x0e) != 1)
		h = 0;
	close(fd);
	return (h & 0x7f) == 0;
}

/* Whether the driver's probe accepts the device: 0, or a positive probe error. */
static int probe_result(const sim *s, const char *bdf, const char *dev, const char *driver)
{
	int err = probe_failure(s, bdf, driver);

	if (err)
		return err;
	if (strcmp(driver, "vfio-pci") == 0 && !device_is_normal_header(dev))
		return EINVAL;
	return 0;
}

static int attach(const sim *s, const char *bdf, const char *dev, const char *driver)
{
	char *drv_dir = xasprintf("%s/sys/bus/pci/drivers/%s", s->root, driver);
	char *l1 = xasprintf("%s/driver", dev);
	char *l2 = xasprintf("%s/%s", drv_dir, bdf);
	int r;

	r = make_link(l1, drv_dir);
	if (r == 0)
		r = make_link(l2, dev);
	free(drv_dir);
	free(l1);
	free(l2);
	return r;
}

static void detach(const sim *s, const char *bdf, const char *dev, const char *driver)
{
	char *l1 = xasprintf("%s/driver", dev);
	char *l2 = xasprintf("%s/sys/bus/pci/drivers/%s/%s", s->root, driver, bdf);

	unlink(l1);
	unlink(l2);
	free(l1);
	free(l2);
}

/* the driver the device would match now: override first, else native */
static const char *matching_driver(const sim *s, const char *bdf, const char *override)
{
	return override ? override : native_of(s, bdf);
}

static int sim_drivers_probe(sim *s, const char *bdf)
{
	char *dev = pci_device_dir(s, bdf), *cur, *override, *drv_dir;
	const char *want;
	struct stat st;
	int r = 0;

	if (!dev)
		return -ENODEV;
	cur = device_driver(dev);
	override = device_override(dev);
	want = matching_driver(s, bdf, override);
	if (!cur && want) {
		drv_dir = xasprintf("%s/sys/bus/pci/drivers/%s", s->root, want);
		/* a failing probe is not the write's failure (really_probe) */
		if (stat(drv_dir, &st) == 0 && probe_result(s, bdf, dev, want) == 0)
			r = attach(s, bdf, dev, want);
		free(drv_dir);
	}
	free(cur);
	free(override);
	free(dev);
	return r;
}

static int sim_driver_bind(sim *s, const char *driver, const char *bdf)
{
	char *dev = pci_device_dir(s, bdf), *cur = NULL, *override = NULL;
	const char *want;
	int r;

	if (!dev)
		return -ENODEV;
	override = device_override(dev);
	want = matching_driver(s, bdf, override);
	cur = device_driver(dev);
	if (!want || strcmp(want, driver) != 0)
		r = -ENODEV;
	else if (cur)
		r = -EBUSY;
	else if ((r = probe_result(s, bdf, dev, driver)) != 0)
		r = -r;
	else
		r = attach(s, bdf, dev, driver);
	free(cur);
	free(override);
	free(dev);
	return r;
}

static int sim_driver_unbind(sim *s, const char *driver, const char *bdf)
{
	char *dev = pci_device_dir(s, bdf), *cur;
	int r = 0;

	if (!dev)
		return -ENODEV;
	cur = device_driver(dev);
	if (!cur || strcmp(cur, driver) != 0)
		r = -ENODEV;
	else
		detach(s, bdf, dev, driver);
	free(cur);
	free(dev);
	return r;
}

static int sim_set_override(const char *file, const char *value)
{
	size_t len = strcspn(value, "\n");
	char *v;
	int r;

	if (len == 0)
		return write_text(file, "(null)\n");
	v = xasprintf("%.*s\n", (int)len, value);
	r = write_text(file, v);
	free(v);
	return r;
}

static bool uuid_like(const char *v)
{
	size_t i;

	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (v[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)v[i])) {
			return false;
		}
	}
	return v[36] == '\0';
}

static unsigned next_group(const sim *s)
{
	char *dir = xasprintf("%s/sys/kernel/iommu_groups", s->root);
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned next = 0;

	while (d && (de = readdir(d))) {
		char *end;
		unsigned long n = strtoul(de->d_name, &end, 10);

		if (*end == '\0' && end != de->d_name && n + 1 > next)
			next = (unsigned)(n + 1);
	}
	if (d)
		closedir(d);
	free(dir);
	return next;
}

static const sim_mdev_attrs *attrs_of(const sim *s, const char *type_id)
{
	size_t i;

	for (i = 0; i < s->n_mdev_attrs; i++)
		if (strcmp(s->mdev_attrs[i].type_id, type_id) == 0)
			return &s->mdev_attrs[i];
	return NULL;
}

static void mkdir_p(const char *path)
{
	char *p = xstrdup(path), *q;

	for (q = p + 1; *q; q++) {
		if (*q != '/')
			continue;
		*q = '\0';
		mkdir(p, 0755);
		*q = '/';
	}
	mkdir(p, 0755);
	free(p);
}

static int sim_mdev_create(sim *s, const char *type_dir, const char *value)
{
	char uuid[37], *p, *parent, *slash, *m, *group_dir, *avail_s;
	const sim_mdev_attrs *attrs;
	unsigned long avail;
	unsigned group;
	size_t i, len = strcspn(value, "\n");

	if (len != 36)
		return -EINVAL;
	for (i = 0; i < 36; i++)
		uuid[i] = (char)tolower((unsigned char)value[i]);
	uuid[36] = '\0';
	if (!uuid_like(uuid))
		return -EINVAL;

	p = xasprintf("%s/sys/bus/mdev/devices/%s", s->root, uuid);
	if (access(p, F_OK) == 0) {
		free(p);
		return -EEXIST;
	}
	free(p);

	p = xasprintf("%s/available_instances", type_dir);
	avail_s = read_text(p);
	avail = avail_s ? strtoul(avail_s, NULL, 10) : 0;
	free(avail_s);
	if (avail == 0) {
		free(p);
		return -EUSERS;
	}
	avail_s = xasprintf("%lu\n", avail - 1);
	write_text(p, avail_s);
	free(avail_s);
	free(p);

	/* the mdev sits below its parent: <parent>/mdev_supported_types/<type> */
	parent = xstrdup(type_dir);
	slash = strrchr(parent, '/');
	*slash = '\0';
	slash = strrchr(parent, '/');
	*slash = '\0';

	m = xasprintf("%s/%s", parent, uuid);
	mkdir(m, 0755);
	p = xasprintf("%s/remove", m);
	write_text(p, "");
	free(p);
	p = xasprintf("%s/mdev_type", m);
	make_link(p, type_dir);
	free(p);
	p = xasprintf("%s/subsystem", m);
	free(parent);
	parent = xasprintf("%s/sys/bus/mdev", s->root);
	make_link(p, parent);
	free(p);
	free(parent);

	group = next_group(s);
	group_dir = xasprintf("%s/sys/kernel/iommu_groups/%u", s->root, group);
	p = xasprintf("%s/devices", group_dir);
	mkdir_p(p);
	free(p);
	p = xasprintf("%s/devices/%s", group_dir, uuid);
	make_link(p, m);
	free(p);
	p = xasprintf("%s/iommu_group", m);
	make_link(p, group_dir);
	free(p);
	free(group_dir);

	p = xasprintf("%s/sys/bus/mdev/devices/%s", s->root, uuid);
	make_link(p, m);
	free(p);
	p = xasprintf("%s/devices/%s", type_dir, uuid);
	make_link(p, m);
	free(p);

	slash = strrchr(type_dir, '/');
	attrs = attrs_of(s, slash + 1);
	for (i = 0; attrs && attrs->names[i]; i++) {
		char *dir;

		p = xasprintf("%s/%s", m, attrs->names[i]);
		dir = xstrdup(p);
		*strrchr(dir, '/') = '\0';
		mkdir_p(dir);
		free(dir);
		write_text(p, "");
		free(p);
	}
	free(m);
	return 0;
}

static int sim_mdev_remove(sim *s, const char *m, const char *value)
{
	char *p, *type_dir, *group_dir, *uuid, *avail_s;
	unsigned long v, avail;
	char *end;

	v = strtoul(value, &end, 0);
	if (end == value || (*end && strcmp(end, "\n") != 0))
		return -EINVAL;
	if (v == 0)
		return 0;

	uuid = xstrdup(strrchr(m, '/') + 1);
	p = xasprintf("%s/mdev_type", m);
	type_dir = realpath(p, NULL);
	free(p);
	p = xasprintf("%s/iommu_group", m);
	group_dir = realpath(p, NULL);
	free(p);

	if (type_dir) {
		p = xasprintf("%s/devices/%s", type_dir, uuid);
		unlink(p);
		free(p);
		p = xasprintf("%s/available_instances", type_dir);
		avail_s = read_text(p);
		avail = avail_s ? strtoul(avail_s, NULL, 10) : 0;
		free(avail_s);
		avail_s = xasprintf("%lu\n", avail + 1);
		write_text(p, avail_s);
		free(avail_s);
		free(p);
	}
	if (group_dir)
		remove_tree(group_dir);
	p = xasprintf("%s/sys/bus/mdev/devices/%s", s->root, uuid);
	unlink(p);
	free(p);
	remove_tree(m);

	free(type_dir);
	free(group_dir);
	free(uuid);
	return 0;
}

/* bind, unbind, drivers_probe, create, remove: nothing to read back */
static void write_only(const char *path)
{
	write_text(path, "");
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int sim_write_hook(const char *path, const char *value, void *userdata)
{
	sim *s = userdata;
	char *abs, *real, *dir, *base, *parent, *line, *bdf;
	size_t i, rootlen = strlen(s->root);
	int r = 0;

	line = xasprintf("%s=%s", path, value);
	s->log = realloc(s->log, (s->n_log + 1) * sizeof(char *));
	if (!s->log)
		vfd_test_fail(__FILE__, __LINE__, "out of memory");
	s->log[s->n_log++] = line;

	abs = xasprintf("%s/%s", s->root, path);
	real = realpath(abs, NULL);
	free(abs);
	if (!real || !has_prefix(real, s->root) || real[rootlen] != '/')
		vfd_test_fail(__FILE__, __LINE__, "write outside the fixture: %s", path);

	for (i = 0; i < s->n_write_failures; i++)
		if (strcmp(s->write_failures[i].path, path) == 0) {
			/* refused: a write-only attribute still reads back empty */
			base = strrchr(real, '/') + 1;
			if (strcmp(base, "bind") == 0 || strcmp(base, "unbind") == 0 ||
			    strcmp(base, "drivers_probe") == 0 || strcmp(base, "create") == 0 ||
			    strcmp(base, "remove") == 0)
				write_only(real);
			free(real);
			return -s->write_failures[i].err;
		}

	/* the kernel's sysfs_streq() ignores one trailing newline in names */
	bdf = xstrdup(value);
	bdf[strcspn(bdf, "\n")] = '\0';

	dir = xstrdup(real);
	base = strrchr(dir, '/');
	*base++ = '\0';
	parent = xstrdup(dir);
	*strrchr(parent, '/') = '\0';

	if (strcmp(real + rootlen, "/sys/bus/pci/drivers_probe") == 0) {
		write_only(real);
		r = sim_drivers_probe(s, bdf);
	} else if (strcmp(base, "driver_override") == 0) {
		r = sim_set_override(real, value);
	} else if ((strcmp(base, "bind") == 0 || strcmp(base, "unbind") == 0) &&
		   strcmp(parent + rootlen, "/sys/bus/pci/drivers") == 0) {
		const char *driver = strrchr(dir, '/') + 1;

		write_only(real);
		r = base[0] == 'b' ? sim_driver_bind(s, driver, bdf) : sim_driver_unbind(s, driver, bdf);
	} else if (strcmp(base, "create") == 0 &&
		   strcmp(strrchr(parent, '/') + 1, "mdev_supported_types") == 0) {
		write_only(real);
		r = sim_mdev_create(s, dir, value);
	} else {
		char *mt = xasprintf("%s/mdev_type", dir);
		struct stat st;

		if (strcmp(base, "remove") == 0 && lstat(mt, &st) == 0) {
			write_only(real);
			r = sim_mdev_remove(s, dir, value);
		} else {
			/* a plain attribute: exactly what was written */
			r = write_text(real, value);
		}
		free(mt);
	}

	free(bdf);
	free(parent);
	free(dir);
	free(real);
	return r;
}

/* ---- fixture tree helpers ---- */

static void copy_tree(const char *src, const char *dst)
{
	struct dirent **list;
	int n, i;

	n = scandir(src, &list, NULL, alphasort);
	if (n < 0)
		vfd_test_fail(__FILE__, __LINE__, "scandir(%s): %s", src, strerror(errno));
	for (i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		char *s, *d;
		struct stat st;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
			free(list[i]);
			continue;
		}
		s = xasprintf("%s/%s", src, name);
		d = xasprintf("%s/%s", dst, name);
		if (lstat(s, &st) < 0)
			vfd_test_fail(__FILE__, __LINE__, "lstat(%s): %s", s, strerror(errno));
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t len = readlink(s, target, sizeof(target) - 1);

			if (len < 0)
				vfd_test_fail(__FILE__, __LINE__, "readlink(%s)", s);
			target[len] = '\0';
			if (symlink(target, d) < 0)
				vfd_test_fail(__FILE__, __LINE__, "symlink(%s): %s", d, strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			if (mkdir(d, 0755) < 0)
				vfd_test_fail(__FILE__, __LINE__, "mkdir(%s): %s", d, strerror(errno));
			copy_tree(s, d);
		} else {
			char buf[65536];
			int in = open(s, O_RDONLY | O_CLOEXEC);
			int out = open(d, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
			ssize_t got;

			if (in < 0 || out < 0)
				vfd_test_fail(__FILE__, __LINE__, "copying %s: %s", s, strerror(errno));
			while ((got = read(in, buf, sizeof(buf))) > 0)
				if (write(out, buf, (size_t)got) != got)
					vfd_test_fail(__FILE__, __LINE__, "writing %s", d);
			close(in);
			close(out);
		}
		free(s);
		free(d);
		free(list[i]);
	}
	free(list);
}

char *tree_copy(const char *src)
{
	char *dst = vfd_test_mkdtemp();

	copy_tree(src, dst);
	return dst;
}

static void append(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);

	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*buf = realloc(*buf, *cap);
		if (!*buf)
			vfd_test_fail(__FILE__, __LINE__, "out of memory");
	}
	memcpy(*buf + *len, s, n + 1);
	*len += n;
}

static void snapshot_dir(const char *root, const char *rel, char **buf, size_t *len, size_t *cap)
{
	char *dir = *rel ? xasprintf("%s/%s", root, rel) : xstrdup(root);
	struct dirent **list;
	int n, i;

	n = scandir(dir, &list, NULL, alphasort);
	if (n < 0)
		vfd_test_fail(__FILE__, __LINE__, "scandir(%s): %s", dir, strerror(errno));
	for (i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		char *path, *r, *line;
		struct stat st;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
			free(list[i]);
			continue;
		}
		r = *rel ? xasprintf("%s/%s", rel, name) : xstrdup(name);
		path = xasprintf("%s/%s", root, r);
		if (lstat(path, &st) < 0)
			vfd_test_fail(__FILE__, __LINE__, "lstat(%s): %s", path, strerror(errno));
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t tl = readlink(path, target, sizeof(target) - 1);

			target[tl < 0 ? 0 : tl] = '\0';
			line = xasprintf("L %s -> %s\n", r, target);
			append(buf, len, cap, line);
			free(line);
		} else if (S_ISDIR(st.st_mode)) {
			line = xasprintf("D %s\n", r);
			append(buf, len, cap, line);
			free(line);
			snapshot_dir(root, r, buf, len, cap);
		} else {
			unsigned char data[512];
			char esc[512 * 4 + 1];
			size_t k, e = 0;
			ssize_t got;
			int fd = open(path, O_RDONLY | O_CLOEXEC);

			got = fd >= 0 ? read(fd, data, sizeof(data)) : -1;
			if (fd >= 0)
				close(fd);
			for (k = 0; got > 0 && k < (size_t)got; k++) {
				if (isprint(data[k]) && data[k] != '\\')
					esc[e++] = (char)data[k];
				else
					e += (size_t)sprintf(esc + e, "\\x%02x", data[k]);
			}
			esc[e] = '\0';
			line = xasprintf("F %s %o: %s\n", r, (unsigned)(st.st_mode & 07777), esc);
			append(buf, len, cap, line);
			free(line);
		}
		free(path);
		free(r);
		free(list[i]);
	}
	free(list);
	free(dir);
}

char *tree_snapshot(const char *root)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;

	append(&buf, &len, &cap, "");
	snapshot_dir(root, "", &buf, &len, &cap);
	return buf;
}

void tree_assert_same(const char *a, const char *b)
{
	const char *pa = a, *pb = b;

	while (*pa && *pb) {
		size_t la = strcspn(pa, "\n"), lb = strcspn(pb, "\n");

		if (la != lb || memcmp(pa, pb, la) != 0)
			vfd_test_fail(__FILE__, __LINE__, "trees differ:\n  before: %.*s\n  after:  %.*s",
				      (int)la, pa, (int)lb, pb);
		pa += la + (pa[la] == '\n');
		pb += lb + (pb[lb] == '\n');
	}
	if (*pa || *pb)
		vfd_test_fail(__FILE__, __LINE__, "trees differ at the end:\n  before: %.*s\n  after:  %.*s",
			      (int)strcspn(pa, "\n"), pa, (int)strcspn(pb, "\n"), pb);
}

char *fixture_pci_driver(const char *root, const char *bdf)
{
	char *p = xasprintf("%s/sys/bus/pci/devices/%s/driver", root, bdf);
	char *d = link_basename(p);

	free(p);
	return d;
}

char *fixture_pci_override(const char *root, const char *bdf)
{
	char *p = xasprintf("%s/sys/bus/pci/devices/%s/driver_override", root, bdf);
	char *v = read_text(p);

	free(p);
	return v;
}

char *fixture_read(const char *root, const char *rel)
{
	char *p = xasprintf("%s/%s", root, rel);
	char *v = read_text(p);

	free(p);
	return v;
}

bool fixture_exists(const char *root, const char *rel)
{
	char *p = xasprintf("%s/%s", root, rel);
	struct stat st;
	bool r = lstat(p, &st) == 0;

	free(p);
	return r;
}
