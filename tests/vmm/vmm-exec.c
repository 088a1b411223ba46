/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Launching a real VMM with vfiod's descriptors (see vmm-exec.h), the way
 * a management layer hands pre-opened descriptors to QEMU: the process
 * that vfiod registered as the VM's VMM (its pidfd) calls GetFds, which
 * vfiod grants to that pid only, and then becomes QEMU with exec(). The
 * pid stays the same, so vfiod keeps watching the right process and
 * releases the VM when QEMU exits.
 *
 * Only the descriptors the command line names are inherited: they are
 * duplicated without O_CLOEXEC, everything else (the bus connection, the
 * reply's own copies, the VM's other descriptors) closes on exec.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "vfiod/util.h"
#include "vmm-exec.h"
#include "vmm.h"
#include "vfd-bus.h"

#define EXEC_MAX_DEVICES 16
#define IOMMUFD_TAG "@IOMMUFD@"
#define DEVFD_TAG "@DEVFD:"

typedef struct exec_fds {
	int iommu; /* the reply's descriptor, closed with the reply */
	size_t n_devices;
	struct {
		const char *name; /* points into the reply */
		int fd;           /* the reply's descriptor */
		int inherited;    /* our copy without O_CLOEXEC, -1 until named */
	} devices[EXEC_MAX_DEVICES];
	int iommu_inherited;
} exec_fds;

/* a copy that survives exec(); the same copy for every mention */
static int inherit(int fd, int *slot)
{
	int n;

	if (*slot >= 0)
		return *slot;
	n = fcntl(fd, F_DUPFD, 3);
	if (n < 0)
		return negative_errno();
	*slot = n;
	return n;
}

static int read_fds(sd_bus_message *reply, exec_fds *f)
{
	const char *name;
	int32_t group;
	int fd, r;

	r = sd_bus_message_read(reply, "h", &f->iommu);
	if (r < 0)
		return r;
	/* groups: a type1 VMM attaches nothing itself, QEMU cannot take them */
	r = sd_bus_message_skip(reply, "a(uh)");
	if (r < 0)
		return r;
	r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "(sih)");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_read(reply, "(sih)", &name, &group, &fd)) > 0) {
		if (f->n_devices == EXEC_MAX_DEVICES)
			return -E2BIG;
		f->devices[f->n_devices].name = name;
		f->devices[f->n_devices].fd = fd;
		f->devices[f->n_devices].inherited = -1;
		f->n_devices++;
	}
	return r;
}

/* arg with every placeholder replaced; the named descriptors made inheritable */
static int substitute(const char *arg, exec_fds *f, char **ret)
{
	_cleanup_free_ char *out = NULL;
	size_t len = 0;
	FILE *s;
	int r = 0;

	s = open_memstream(&out, &len);
	if (!s)
		return -ENOMEM;
	for (const char *p = arg; *p && r >= 0;) {
		if (strncmp(p, IOMMUFD_TAG, strlen(IOMMUFD_TAG)) == 0) {
			r = inherit(f->iommu, &f->iommu_inherited);
			if (r >= 0)
				fprintf(s, "%d", r);
			p += strlen(IOMMUFD_TAG);
		} else if (strncmp(p, DEVFD_TAG, strlen(DEVFD_TAG)) == 0) {
			const char *name = p + strlen(DEVFD_TAG);
			const char *end = strchr(name, '@');
			size_t i;

			if (!end || end == name) {
				r = -EINVAL;
				break;
			}
			for (i = 0; i < f->n_devices; i++)
				if (strlen(f->devices[i].name) == (size_t)(end - name) &&
				    strncmp(f->devices[i].name, name, end - name) == 0)
					break;
			if (i == f->n_devices) {
				fprintf(stderr, "vfd-vmm: %.*s is not a device of this VM\n",
					(int)(end - name), name);
				r = -ENODEV;
				break;
			}
			r = inherit(f->devices[i].fd, &f->devices[i].inherited);
			if (r >= 0)
				fprintf(s, "%d", r);
			p = end + 1;
		} else {
			fputc(*p++, s);
		}
	}
	if (fclose(s) != 0 && r >= 0)
		r = -ENOMEM;
	if (r < 0)
		return r;
	*ret = TAKE_PTR(out);
	return 0;
}

static void print_exec(const exec_fds *f)
{
	vmm_proc_status st = {};

	/* who is about to become the VMM: the caller checks uid and CapEff */
	(void)vmm_proc_status_read(&st);
	printf("exec ok pid=%d uid=%u CapEff=%016llx", (int)getpid(), (unsigned)st.uid,
	       (unsigned long long)st.cap_eff);
	if (f->iommu_inherited >= 0)
		printf(" iommufd=%d", f->iommu_inherited);
	for (size_t i = 0; i < f->n_devices; i++)
		if (f->devices[i].inherited >= 0)
			printf(" %s=%d", f->devices[i].name, f->devices[i].inherited);
	printf("\n");
	fflush(stdout);
}

int vmm_exec_vfiod(const char *vm, char **argv)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_free_ char *path = NULL;
	exec_fds f = { .iommu = -1, .iommu_inherited = -1 };
	char **args;
	size_t n = 0;
	int r;

	while (argv[n])
		n++;
	args = calloc(n + 1, sizeof(*args));
	if (!args)
		return -ENOMEM;

	r = sd_bus_open_system(&bus);
	if (r < 0) {
		fprintf(stderr, "vfd-vmm: system bus: %s\n", strerror(-r));
		goto out;
	}
	r = vmm_vfiod_vm(bus, vm, &path);
	if (r < 0)
		goto out;
	r = sd_bus_call_method(bus, VFD_BUS_NAME, path, VFD_VM_INTERFACE, "GetFds", &error, &reply, NULL);
	if (r < 0) {
		fprintf(stderr, "vfd-vmm: GetFds: %s (%s)\n", error.message ? error.message : strerror(-r),
			error.name ? error.name : "");
		goto out;
	}
	r = read_fds(reply, &f);
	if (r < 0)
		goto out;

	for (size_t i = 0; i < n && r >= 0; i++)
		r = substitute(argv[i], &f, &args[i]);
	if (r < 0)
		goto out;

	print_exec(&f);
	/* the secret proved the launcher; the program it becomes has no use for it */
	unsetenv("VFIOD_VMM_SECRET");
	execvp(args[0], args);
	r = negative_errno();
	fprintf(stderr, "vfd-vmm: exec %s: %s\n", args[0], strerror(-r));
out:
	/* failed: the copies meant for the VMM go with us */
	if (f.iommu_inherited >= 0)
		close(f.iommu_inherited);
	for (size_t i = 0; i < f.n_devices; i++)
		if (f.devices[i].inherited >= 0)
			close(f.devices[i].inherited);
	for (size_t i = 0; i < n; i++)
		free(args[i]);
	free(args);
	return r;
}
