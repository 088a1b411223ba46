/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See libvirt-broker.h. */
#include <errno.h>
#include <stdarg.h>
#include <strings.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libvirt-broker.h"
#include "libvirt-events.h"
#include "log.h"
#include "manager.h"
#include "vfiod/domain-xml.h"
#include "vfiod/libvirt-dl.h"
#include "vfiod/xml-untrusted.h"
#include "vm.h"

/* QEMU maps its ROMs for DMA too: tolerated on top of guest memory, as for the hook's VMs */
#define BROKER_QEMU_EXTRA_CHARGE_BYTES (UINT64_C(4) << 20)
#define BROKER_PIDFILE_MAX 32

typedef enum BrokerStep {
	BROKER_READ,  /* thread: the domain's persistent XML and UUID */
	BROKER_START, /* thread: associate the iommufd, start the domain */
} BrokerStep;

typedef struct BrokerJob {
	Manager *manager;
	LibvirtBrokerDone done;  /* called once, at the end */
	void *userdata;
	const vfd_libvirt *lv;
	virConnectPtr conn;      /* a reference of the job's own */
	BrokerStep step;
	int fds[2];              /* [0] the loop's, [1] the thread's: one byte when done */
	sd_event_source *io;

	char *name;
	/* BROKER_READ's results */
	char *xml;
	char uuid[VIR_UUID_STRING_BUFLEN];
	/* the plan */
	unsigned vm_id;          /* the VM prepared for the domain: the same one at the end, not a namesake */
	char *fdgroup;
	int iommufd;             /* the duplicate handed to libvirt */
	/* the thread's error, "" none */
	char error[512];
} BrokerJob;

static void job_free(BrokerJob *j)
{
	if (!j)
		return;
	sd_event_source_disable_unref(j->io);
	for (int i = 0; i < 2; i++)
		if (j->fds[i] >= 0)
			close(j->fds[i]);
	if (j->iommufd >= 0)
		close(j->iommufd);
	if (j->conn)
		j->lv->virConnectClose(j->conn);
	free(j->name);
	free(j->xml);
	free(j->fdgroup);
	free(j);
}

static void thread_error(BrokerJob *j, const char *what)
{
	const char *msg = j->lv->virGetLastErrorMessage();

	snprintf(j->error, sizeof(j->error), "%s: %s", what, msg && *msg ? msg : "unknown libvirt error");
}

static void thread_read(BrokerJob *j)
{
	virDomainPtr dom;

	dom = j->lv->virDomainLookupByName(j->conn, j->name);
	if (!dom) {
		thread_error(j, "libvirt has no such domain");
		return;
	}
	if (j->lv->virDomainIsActive(dom) != 0)
		snprintf(j->error, sizeof(j->error), "domain %s is running already (or its state is unknown)",
			 j->name);
	else if (j->lv->virDomainGetUUIDString(dom, j->uuid) < 0)
		thread_error(j, "cannot read the domain's UUID");
	else if (!(j->xml = j->lv->virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE)))
		thread_error(j, "cannot read the domain's XML");
	j->lv->virDomainFree(dom);
}

static void thread_start(BrokerJob *j)
{
	virDomainPtr dom;

	/* by UUID: the name may have been given to another domain meanwhile */
	dom = j->lv->virDomainLookupByUUIDString(j->conn, j->uuid);
	if (!dom) {
		thread_error(j, "the domain is gone");
		return;
	}
	/*
	 * libvirt keeps a duplicate, tied to this connection, and hands it to
	 * QEMU when the domain starts on the same connection (libvirt's
	 * virDomainFDAssociate()). Ours is closed by job_free().
	 */
	if (j->lv->virDomainFDAssociate(dom, j->fdgroup, 1, &j->iommufd, 0) < 0)
		thread_error(j, "libvirt refused the iommufd (virDomainFDAssociate)");
	else if (j->lv->virDomainCreate(dom) < 0)
		thread_error(j, "libvirt could not start the domain");
	j->lv->virDomainFree(dom);
}

static void *broker_thread(void *arg)
{
	BrokerJob *j = arg;
	char done = 1;
	int fd = j->fds[1];

	if (j->step == BROKER_READ)
		thread_read(j);
	else
		thread_start(j);
	/* the job belongs to the loop from here on */
	(void) send(fd, &done, 1, MSG_NOSIGNAL);
	return NULL;
}

static int broker_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);

/* runs the job's step on a thread; broker_io() continues on the loop */
static int job_run_step(BrokerJob *j, BrokerStep step)
{
	pthread_attr_t attr;
	pthread_t thread;
	int r;

	j->step = step;
	j->error[0] = '\0';
	if (!j->io) {
		r = sd_event_add_io(j->manager->event, &j->io, j->fds[0], EPOLLIN, broker_io, j);
		if (r < 0)
			return r;
		(void) sd_event_source_set_description(j->io, "libvirt-broker");
	} else {
		r = sd_event_source_set_enabled(j->io, SD_EVENT_ON);
		if (r < 0)
			return r;
	}
	r = -pthread_attr_init(&attr);
	if (r == 0)
		r = -pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (r == 0)
		r = -pthread_create(&thread, &attr, broker_thread, j);
	pthread_attr_destroy(&attr);
	return r;
}

static int job_fail(BrokerJob *j, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* tells the caller r and a sentence, and ends the job */
static int job_fail(BrokerJob *j, int r, const char *fmt, ...)
{
	char text[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_warning("Cannot start libvirt domain %s through vfiod: %s", j->name, text);
	j->done(j->userdata, r, text, NULL);
	job_free(j);
	return 0;
}

/* gives back everything a VM the broker prepared holds */
static void release_prepared(Manager *m, VM *vm)
{
	vfd_op_error e = {};
	int r;

	r = vm_release(vm, NULL, NULL, &e);
	if (r == VM_STATE_RELEASED)
		manager_vm_gone(m, vm);
	else
		log_warning("VM %s: the release after a failed start is %s%s%s", vm_get_name(vm),
			    vm_state_to_string(vm_get_state(vm)), e.message[0] ? ": " : "", e.message);
}

/*
 * The domain's <iommufd enabled='yes' fdgroup='NAME'/>: 1 and NAME, 0 when
 * the domain does not take its iommufd from its client.
 */
static int domain_iommufd_fdgroup(const char *xml, char **ret, char **error_message)
{
	xmlDoc *doc = NULL;
	_cleanup_free_ char *enabled = NULL, *group = NULL;
	int r;

	r = vfd_xml_parse_untrusted(xml, strlen(xml), VFD_DOMAIN_XML_MAX_BYTES, VFD_DOMAIN_XML_MAX_DEPTH,
				    &doc, error_message);
	if (r < 0)
		return r;
	r = 0;
	for (xmlNode *n = vfd_xml_doc_root(doc)->children; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE || strcmp((const char *) n->name, "iommufd") != 0)
			continue;
		if (vfd_xml_get_prop(n, "enabled", &enabled) < 0 || vfd_xml_get_prop(n, "fdgroup", &group) < 0) {
			r = -ENOMEM;
			break;
		}
		if (enabled && strcmp(enabled, "yes") == 0 && group && *group) {
			*ret = TAKE_PTR(group);
			r = 1;
		}
		break;
	}
	vfd_xml_doc_free(doc);
	return r;
}

/* on the loop, with the domain's XML: the plan, the VM, the claims, the descriptor */
static int continue_read(BrokerJob *j)
{
	_cleanup_(vfd_domain_freep) vfd_domain *d = NULL;
	_cleanup_free_ char *message = NULL;
	VMConfig config = {};
	vfd_op_error e = {};
	VM *vm;
	int r;

	if (j->error[0])
		return job_fail(j, -ENOENT, "%s", j->error);
	r = vfd_domain_parse_xml(j->xml, strlen(j->xml), &d, &message);
	if (r < 0)
		return job_fail(j, r, "its XML: %s", message ? message : "cannot parse");
	if (!d->name || strcmp(d->name, j->name) != 0 || !d->uuid || strcasecmp(d->uuid, j->uuid) != 0)
		return job_fail(j, -EBADMSG, "its XML names another domain");
	r = domain_iommufd_fdgroup(j->xml, &j->fdgroup, &message);
	if (r < 0)
		return job_fail(j, r, "its XML: %s", message ? message : "cannot parse");
	if (r == 0)
		return job_fail(j, -EMEDIUMTYPE,
				"it does not take its iommufd from its client: its XML needs "
				"<iommufd enabled='yes' fdgroup='NAME'/> (libvirt >= 12.2)");
	for (size_t i = 0; i < d->n_hostdevs; i++) {
		const vfd_domain_hostdev *h = &d->hostdevs[i];

		if (h->kind != VFD_DOMAIN_HOSTDEV_PCI || !h->vfio)
			return job_fail(j, -EOPNOTSUPP, "the broker takes VFIO PCI host devices only");
		if (h->managed)
			/* libvirt would move it to vfio-pci and back itself, under vfiod's claim */
			return job_fail(j, -EOPNOTSUPP,
					"a managed='yes' PCI host device is libvirt's: give vfiod its devices "
					"with managed='no'");
	}
	if (!vfd_vm_name_is_valid(j->name))
		return job_fail(j, -EINVAL, "vfiod's VM names are 1-64 of [A-Za-z0-9_.-]");
	if (d->memory_kib == 0 || d->memory_kib > UINT64_MAX / 1024)
		return job_fail(j, -ERANGE, "its memory size is out of range");

	config = (VMConfig) {
		.name = j->name,
		.owner_uid = 0, /* only root starts a domain through vfiod (docs/security.md) */
		.uuid = d->uuid,
		.memory_bytes = d->memory_kib * 1024,
		.viommu = d->iommu_model != NULL,
		.backend = VM_BACKEND_IOMMUFD,
		.release_on_exit = true,
		.apply_memlock = true,
		.memlock_policy = VFD_MEMLOCK_POLICY_PRECISE,
		.memlock_cap = VFD_MEMLOCK_UNLIMITED,
		.extra_charge_bytes = BROKER_QEMU_EXTRA_CHARGE_BYTES,
	};
	r = manager_register_vm(j->manager, &config, NULL, &vm);
	if (r == -ENOTUNIQ)
		return job_fail(j, r, "vfiod holds a VM named %s or with UUID %s already", j->name, d->uuid);
	if (r == -EPROTONOSUPPORT)
		return job_fail(j, r, "the iommufd backend is not available on this host (no /dev/iommu)");
	if (r < 0)
		return job_fail(j, r, "cannot prepare its VM: %s", strerror(-r));

	j->vm_id = vm_get_id(vm);
	for (size_t i = 0; i < d->n_hostdevs; i++) {
		char name[VFD_PCI_ADDRESS_STRLEN];

		r = vm_add_pci(vm, &d->hostdevs[i].source, &e);
		if (r < 0 && r != -EISCONN) { /* EISCONN: listed twice, libvirt refuses that itself */
			release_prepared(j->manager, vm);
			return job_fail(j, r, "cannot claim %s: %s",
					vfd_pci_address_format(&d->hostdevs[i].source, name),
					e.message[0] ? e.message : strerror(-r));
		}
	}
	r = vm_dup_iommufd(vm, &j->iommufd);
	if (r < 0) {
		release_prepared(j->manager, vm);
		return job_fail(j, r, "cannot duplicate its iommufd: %s", strerror(-r));
	}
	log_info("VM %s: iommufd with per-process accounting and %zu device(s) claimed; handing the iommufd "
		 "to libvirt as fdgroup '%s' and starting the domain.", j->name, d->n_hostdevs, j->fdgroup);
	r = job_run_step(j, BROKER_START);
	if (r < 0) {
		release_prepared(j->manager, vm);
		return job_fail(j, r, "cannot start a thread: %s", strerror(-r));
	}
	return 0;
}

/* libvirt's pidfile of the domain: QEMU's pid */
static int read_qemu_pid(const char *name, pid_t *ret)
{
	char path[PATH_MAX], buf[BROKER_PIDFILE_MAX], *end;
	ssize_t n;
	long v;
	int fd;

	if ((size_t) snprintf(path, sizeof(path), "%s/%s.pid", LIBVIRT_BROKER_QEMU_STATE_DIR, name) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return negative_errno();
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	errno = 0;
	v = strtol(buf, &end, 10);
	while (*end == '\n' || *end == ' ')
		end++;
	if (errno || end == buf || *end || v <= 1 || v > INT_MAX)
		return -EBADMSG;
	*ret = (pid_t) v;
	return 0;
}

/* on the loop, after libvirt started the domain (or failed to) */
static int continue_start(BrokerJob *j)
{
	VMMProcess vmm = VMM_PROCESS_NULL;
	vfd_op_error e = {};
	pid_t pid;
	VM *vm;
	int r;

	/* libvirt holds its own duplicate now (or none: it failed) */
	close(j->iommufd);
	j->iommufd = -1;

	/*
	 * By the id of the VM prepared for it: one released meanwhile and a
	 * VM registered since with the same name and UUID (by anyone allowed
	 * to register VMs) must not get QEMU as its VMM.
	 */
	vm = manager_find_vm_by_id(j->manager, j->vm_id);
	if (!vm || strcmp(vm_get_name(vm), j->name) != 0 || strcasecmp(vm_get_uuid(vm), j->uuid) != 0)
		return job_fail(j, -ESHUTDOWN, "its VM was released while libvirt started the domain%s%s",
				j->error[0] ? ": " : "", j->error);
	if (j->error[0]) {
		release_prepared(j->manager, vm);
		return job_fail(j, -EIO, "%s; vfiod gave the devices back", j->error);
	}
	r = read_qemu_pid(j->name, &pid);
	if (r >= 0)
		r = vmm_process_from_pid(pid, &vmm);
	if (r >= 0)
		r = manager_attach_vmm(j->manager, vm, &vmm, &e);
	vmm_process_done(&vmm);
	if (r < 0)
		/* QEMU runs with the devices: the VM stays, Release or QEMU's exit gives them back */
		return job_fail(j, r, "the domain runs, but vfiod cannot follow QEMU: %s",
				e.message[0] ? e.message : strerror(-r));

	log_info("VM %s: libvirt started the domain with vfiod's iommufd; QEMU is pid %d.", j->name,
		 (int) pid);
	j->done(j->userdata, 0, NULL, vm);
	job_free(j);
	return 0;
}

static int broker_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	BrokerJob *j = userdata;
	char done;

	if (recv(fd, &done, 1, MSG_DONTWAIT) != 1)
		return 0;
	(void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
	if (j->step == BROKER_READ)
		(void) continue_read(j);
	else
		(void) continue_start(j);
	return 0;
}

int libvirt_broker_start(Manager *m, const char *name, LibvirtBrokerDone done, void *userdata)
{
	virConnectPtr conn = libvirt_events_connection(m->libvirt);
	const vfd_libvirt *lv = libvirt_events_library(m->libvirt);
	BrokerJob *j;
	int r;

	if (!name || !done)
		return -EINVAL;
	if (!conn || !lv)
		return -ENOTCONN;
	if (manager_find_vm(m, name))
		return -ENOTUNIQ;

	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->fds[0] = j->fds[1] = j->iommufd = -1;
	j->manager = m;
	j->lv = lv;
	j->name = strdup(name);
	if (!j->name) {
		job_free(j);
		return -ENOMEM;
	}
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, j->fds) < 0) {
		r = negative_errno();
		job_free(j);
		return r;
	}
	if (lv->virConnectRef(conn) < 0) {
		job_free(j);
		return -EIO;
	}
	j->conn = conn;
	j->done = done;
	j->userdata = userdata;
	r = job_run_step(j, BROKER_READ);
	if (r < 0) {
		job_free(j);
		return r;
	}
	/* from here on, done() hears the end (on the loop, never before this returns) */
	return 0;
}
