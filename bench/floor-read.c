/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The floor reader (floor-read.h): plain openat/readlinkat relative to the
 * root's sys directory, one small read per attribute, no caching, no
 * allocation per attribute. It reads what the output needs and nothing
 * more, which is what a user writing their own script in C would do.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "floor-read.h"

#define NAME_LEN 256
#define PATH_LEN 1024

int floor_open_sys(const char *root)
{
	char path[PATH_LEN];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/sys", root) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* the first line of an attribute, without its newline; -errno */
static int read_attr(int dir, const char *name, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static unsigned long read_number(int dir, const char *name, bool *ok)
{
	char buf[32];

	if (read_attr(dir, name, buf, sizeof(buf)) < 0) {
		*ok = false;
		return 0;
	}
	return strtoul(buf, NULL, 0);
}

/* the basename of a link's target; "-" when there is no link */
static void read_link_name(int dir, const char *name, char *buf, size_t size)
{
	char target[PATH_LEN];
	const char *slash;
	ssize_t n;

	n = readlinkat(dir, name, target, sizeof(target) - 1);
	if (n < 0) {
		snprintf(buf, size, "-");
		return;
	}
	target[n] = '\0';
	slash = strrchr(target, '/');
	snprintf(buf, size, "%s", slash ? slash + 1 : target);
}

static int cmp_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_number(const void *a, const void *b)
{
	unsigned long x = strtoul(*(char *const *)a, NULL, 10);
	unsigned long y = strtoul(*(char *const *)b, NULL, 10);

	return x < y ? -1 : x > y;
}

/* the entries of DIR (relative to AT) but "." and "..", sorted by CMP */
static int list_dir(int at, const char *dir, int (*cmp)(const void *, const void *),
		    char ***ret, size_t *ret_n)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	DIR *d;
	int fd;

	fd = openat(at, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **grown;

			cap = cap ? 2 * cap : 64;
			grown = realloc(names, cap * sizeof(*names));
			if (!grown)
				goto nomem;
			names = grown;
		}
		names[n] = strdup(e->d_name);
		if (!names[n])
			goto nomem;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp);
	*ret = names;
	*ret_n = n;
	return 0;
nomem:
	closedir(d);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return -ENOMEM;
}

static void free_list(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int open_dir(int at, const char *path)
{
	int fd = openat(at, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static void print_device_line(int dev, const char *name, FILE *out)
{
	char driver[NAME_LEN], group[NAME_LEN];
	unsigned long vendor, device, class;
	bool ok = true;

	vendor = read_number(dev, "vendor", &ok);
	device = read_number(dev, "device", &ok);
	class = read_number(dev, "class", &ok);
	read_link_name(dev, "driver", driver, sizeof(driver));
	read_link_name(dev, "iommu_group", group, sizeof(group));
	if (ok)
		fprintf(out, "%s 0x%04lx 0x%04lx 0x%06lx %s %s\n", name, vendor, device, class,
			driver, group);
}

int floor_devices(int sys, FILE *out)
{
	char **names;
	size_t n;
	int devices, r;

	devices = open_dir(sys, "bus/pci/devices");
	if (devices < 0)
		return devices;
	r = list_dir(devices, ".", cmp_string, &names, &n);
	if (r < 0) {
		close(devices);
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		int dev = open_dir(devices, names[i]);

		if (dev < 0)
			continue; /* gone while we listed */
		print_device_line(dev, names[i], out);
		close(dev);
	}
	free_list(names, n);
	close(devices);
	return 0;
}

/* the member's state as vfiod names it: lib/driver.c's rule, done directly */
static const char *member_state(int sys, const char *bus, const char *driver)
{
	static const char *const vfio[] = { "vfio-pci", "hisi_acc_vfio_pci", "mlx5_vfio_pci",
		"nvgrace_gpu_vfio_pci", "pds_vfio_pci", "qat_vfio_pci", "virtio_vfio_pci" };
	char path[PATH_LEN], module[NAME_LEN];

	if (strcmp(driver, "-") == 0)
		return "unbound";
	if (strcmp(bus, "mdev") == 0)
		return "vfio";
	if (strcmp(driver, "pcieport") == 0 || strcmp(driver, "pci-stub") == 0)
		return "dma-managed";
	for (size_t i = 0; i < sizeof(vfio) / sizeof(vfio[0]); i++)
		if (strcmp(driver, vfio[i]) == 0)
			return "vfio";
	snprintf(path, sizeof(path), "bus/%s/drivers/%s/module", bus, driver);
	read_link_name(sys, path, module, sizeof(module));
	if (strcmp(module, "-") != 0) {
		snprintf(path, sizeof(path), "module/vfio_pci_core/holders/%s", module);
		if (faccessat(sys, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			return "vfio";
	}
	return "host-driver";
}

static void print_member_line(int sys, int members, const char *group, const char *name,
			      FILE *out)
{
	char bus[NAME_LEN], driver[NAME_LEN];
	unsigned char header = 0;
	int dev;

	dev = open_dir(members, name);
	if (dev < 0)
		return;
	read_link_name(dev, "subsystem", bus, sizeof(bus));
	read_link_name(dev, "driver", driver, sizeof(driver));
	if (strcmp(bus, "pci") == 0) {
		/* bridge or not, as vfiod tells: the header type in config */
		int fd = openat(dev, "config", O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			if (pread(fd, &header, 1, 0x0e) != 1)
				header = 0;
			close(fd);
		}
	}
	fprintf(out, "%s %s %s %s %s%s\n", group, name, bus, driver,
		member_state(sys, bus, driver), (header & 0x7f) == 1 ? " bridge" : "");
	close(dev);
}

static int print_group(int sys, const char *group, FILE *out)
{
	char path[PATH_LEN], **names;
	size_t n;
	int members, r;

	snprintf(path, sizeof(path), "kernel/iommu_groups/%s/devices", group);
	members = open_dir(sys, path);
	if (members < 0)
		return members;
	r = list_dir(members, ".", cmp_string, &names, &n);
	if (r < 0) {
		close(members);
		return r;
	}
	for (size_t i = 0; i < n; i++)
		print_member_line(sys, members, group, names[i], out);
	free_list(names, n);
	close(members);
	return 0;
}

int floor_groups(int sys, FILE *out)
{
	char **groups;
	size_t n;
	int r;

	r = list_dir(sys, "kernel/iommu_groups", cmp_number, &groups, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		print_group(sys, groups[i], out);
	free_list(groups, n);
	return 0;
}

int floor_device(int sys, const char *address, FILE *out, char *ret_group, size_t size)
{
	static const char *const numbers[] = { "vendor", "device", "subsystem_vendor",
		"subsystem_device", "class", "numa_node", "sriov_totalvfs", "sriov_numvfs" };
	char path[PATH_LEN], buf[NAME_LEN], **names;
	unsigned char header = 0;
	size_t n;
	int dev, fd;

	snprintf(path, sizeof(path), "bus/pci/devices/%s", address);
	dev = open_dir(sys, path);
	if (dev < 0)
		return dev;

	fprintf(out, "address %s\n", address);
	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
		if (read_attr(dev, numbers[i], buf, sizeof(buf)) == 0)
			fprintf(out, "%s %s\n", numbers[i], buf);
	read_link_name(dev, "driver", buf, sizeof(buf));
	fprintf(out, "driver %s\n", buf);
	if (read_attr(dev, "driver_override", buf, sizeof(buf)) == 0)
		fprintf(out, "driver_override %s\n", buf);
	fd = openat(dev, "config", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (pread(fd, &header, 1, 0x0e) != 1)
			header = 0;
		close(fd);
	}
	fprintf(out, "bridge %s\n", (header & 0x7f) == 1 ? "yes" : "no");
	read_link_name(dev, "physfn", buf, sizeof(buf));
	if (strcmp(buf, "-") != 0)
		fprintf(out, "physfn %s\n", buf);
	/* the VFs of a PF: its virtfnN links */
	if (list_dir(dev, ".", cmp_string, &names, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			if (strncmp(names[i], "virtfn", 6) == 0) {
				read_link_name(dev, names[i], buf, sizeof(buf));
				fprintf(out, "virtfn %s\n", buf);
			}
		free_list(names, n);
	}
	read_link_name(dev, "iommu_group", ret_group, size);
	close(dev);
	fprintf(out, "iommu_group %s\n", ret_group);
	return 0;
}

int floor_show(int sys, const char *address, FILE *out)
{
	char group[NAME_LEN];
	int r;

	r = floor_device(sys, address, out, group, sizeof(group));
	if (r < 0)
		return r;
	if (strcmp(group, "-") != 0)
		return print_group(sys, group, out);
	return 0;
}
