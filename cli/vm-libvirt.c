/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus-client.h"
#include "bus-errors.h"
#include "vfd-bus.h"
#include "vfiod/domain-xml.h"
#include "vfiod/libvirt-dl.h"
#include "verb-host.h"
#include "vfiod/inventory.h"
#include "vfioctl.h"
#include "vm-libvirt.h"

#define DEFAULT_URI "qemu:///system"

/* libvirt's client, loaded by the --libvirt verbs alone (load_libvirt()) */
static const vfd_libvirt *lv;

/* prints the failure: nothing was changed yet */
static int load_libvirt(void)
{
	_cleanup_free_ char *msg = NULL;
	int r;

	r = vfd_libvirt_load(&lv, &msg);
	if (r < 0)
		return runtime_error("--libvirt needs libvirt's client library: %s", msg ? msg : strerror(-r));
	return 0;
}

static void ignore_libvirt_error(void *userdata, virErrorPtr error)
{
	/* libvirt would print its own lines; vfioctl prints one, with libvirt's message in it */
}

static const char *libvirt_error(void)
{
	const char *msg = lv->virGetLastErrorMessage();

	return msg && *msg ? msg : "unknown libvirt error";
}

static void conn_closep(virConnectPtr *c)
{
	if (*c)
		lv->virConnectClose(*c);
}

static void domain_freep(virDomainPtr *d)
{
	if (*d)
		lv->virDomainFree(*d);
}

/* connects and finds the domain; prints the failure (nothing was changed yet) */
static int open_domain(const VmLibvirtOptions *o, const char *vm, virConnectPtr *ret_conn,
		       virDomainPtr *ret_dom)
{
	const char *uri = o->uri ? o->uri : DEFAULT_URI;
	virConnectPtr conn;
	virDomainPtr dom;

	lv->virSetErrorFunc(NULL, ignore_libvirt_error);
	conn = lv->virConnectOpen(uri);
	if (!conn)
		return runtime_error("cannot connect to libvirt at %s: %s", uri, libvirt_error());
	dom = lv->virDomainLookupByName(conn, vm);
	if (!dom) {
		runtime_error("libvirt at %s has no domain %s: %s", uri, vm, libvirt_error());
		lv->virConnectClose(conn);
		return VFIOCTL_EXIT_FAILURE;
	}
	*ret_conn = conn;
	*ret_dom = dom;
	return 0;
}

/*
 * The <hostdev> for device. managed='no': vfiod, not libvirt, moves the
 * group to vfio-pci and back. A user alias (ua-) names the device in
 * libvirt's events and in vfiod's log.
 */
static int hostdev_xml(const char *device, char **ret)
{
	vfd_pci_address a;
	char alias[64];
	int n = 0;

	snprintf(alias, sizeof(alias), "ua-vfiod-%s", device);
	for (char *p = alias; *p; p++)
		if (*p == ':' || *p == '.')
			*p = '-';

	if (vfd_pci_address_parse(device, &a) >= 0)
		n = asprintf(ret,
			     "<hostdev mode='subsystem' type='pci' managed='no'>"
			     "<driver name='vfio'/>"
			     "<source><address domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/></source>"
			     "<alias name='%s'/>"
			     "</hostdev>",
			     a.domain, a.bus, a.slot, a.function, alias);
	else
		n = asprintf(ret,
			     "<hostdev mode='subsystem' type='mdev' model='vfio-pci'>"
			     "<source><address uuid='%s'/></source>"
			     "<alias name='%s'/>"
			     "</hostdev>",
			     device, alias);
	return n < 0 ? -ENOMEM : 0;
}

int vm_libvirt_add_device(sd_bus *bus, const char *path, const char *vm, const char *device,
			  const VmLibvirtOptions *o)
{
	_cleanup_(conn_closep) virConnectPtr conn = NULL;
	_cleanup_(domain_freep) virDomainPtr dom = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_free_ char *xml = NULL, *why = NULL;
	int r;

	r = load_libvirt();
	if (r != 0)
		return r;
	r = open_domain(o, vm, &conn, &dom);
	if (r != 0)
		return r;
	if (hostdev_xml(device, &xml) < 0)
		return runtime_error("out of memory");

	/* 1. vfiod: claimed, and the VMM's limit raised, before QEMU can pin for it */
	r = bus_client_call_object(bus, path, VFD_VM_INTERFACE, "AddDevice", &error, NULL, "s", device);
	if (r < 0)
		return host_report_error("cannot add the device", &error, r);

	/* 2. libvirt: QEMU opens the group and maps guest memory through it */
	if (lv->virDomainAttachDeviceFlags(dom, xml, VIR_DOMAIN_AFFECT_LIVE) == 0)
		return 0;

	/* 3. undo 1: drivers and limit as before; one error, libvirt's reason first */
	why = strdup(libvirt_error());
	r = bus_client_call_object(bus, path, VFD_VM_INTERFACE, "RemoveDevice", &error, NULL, "s", device);
	if (r < 0)
		return runtime_error("libvirt could not attach %s to domain %s: %s; giving the device back "
				     "failed too: %s (%s)", device, vm, why ? why : "?",
				     error.message ? error.message : strerror(-r),
				     error.name ? error.name : "no error name");
	return runtime_error("libvirt could not attach %s to domain %s: %s; vfiod gave the device back",
			     device, vm, why ? why : "?");
}

/* ---- remove: waiting for libvirt's DEVICE_REMOVED ---- */

typedef struct DetachWait {
	const char *alias;
	int result;     /* 0 waiting, 1 removed, -1 removal failed */
	bool timed_out;
} DetachWait;

static void on_device_removed(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque)
{
	DetachWait *w = opaque;

	if (strcmp(alias, w->alias) == 0)
		w->result = 1;
}

static void on_removal_failed(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque)
{
	DetachWait *w = opaque;

	if (strcmp(alias, w->alias) == 0)
		w->result = -1;
}

static void on_detach_timeout(int timer, void *opaque)
{
	((DetachWait *) opaque)->timed_out = true;
}

/* the alias of device in the domain's live XML: 1 found, 0 not there, <0 error (printed) */
static int find_alias(virDomainPtr dom, const char *vm, const char *device, char **ret)
{
	_cleanup_free_ char *xml = NULL, *msg = NULL;
	vfd_domain_alias *aliases = NULL;
	vfd_pci_address want;
	bool is_pci = vfd_pci_address_parse(device, &want) >= 0;
	size_t n = 0;
	int r, found = 0;

	xml = lv->virDomainGetXMLDesc(dom, 0);
	if (!xml)
		return -runtime_error("cannot read the live XML of domain %s: %s", vm, libvirt_error());
	r = vfd_domain_hostdev_aliases(xml, strlen(xml), &aliases, &n, &msg);
	if (r < 0)
		return -runtime_error("cannot read the devices of domain %s: %s", vm, msg ? msg : strerror(-r));

	for (size_t i = 0; i < n && !found; i++) {
		const vfd_domain_alias *a = &aliases[i];

		if (is_pci ? a->kind == VFD_DOMAIN_HOSTDEV_PCI && vfd_pci_address_compare(&a->pci, &want) == 0 :
			     a->kind == VFD_DOMAIN_HOSTDEV_MDEV && strcasecmp(a->mdev_uuid, device) == 0) {
			*ret = strdup(a->alias);
			found = *ret ? 1 : -runtime_error("out of memory");
		}
	}
	vfd_domain_aliases_free(aliases, n);
	return found;
}

static int detach_and_wait(virConnectPtr conn, virDomainPtr dom, const char *vm, const char *device,
			   const char *alias, unsigned timeout_sec)
{
	DetachWait w = { .alias = alias };
	int ids[2] = { -1, -1 }, timer = -1, r = 0;
	_cleanup_free_ char *still = NULL;

	/* registered before the detach: the event may come before the call returns */
	ids[0] = lv->virConnectDomainEventRegisterAny(conn, dom, VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
						  VIR_DOMAIN_EVENT_CALLBACK(on_device_removed), &w, NULL);
	ids[1] = lv->virConnectDomainEventRegisterAny(conn, dom, VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED,
						  VIR_DOMAIN_EVENT_CALLBACK(on_removal_failed), &w, NULL);
	timer = lv->virEventAddTimeout((int) (timeout_sec * 1000), on_detach_timeout, &w, NULL);
	if (ids[0] < 0 || ids[1] < 0 || timer < 0) {
		r = runtime_error("cannot follow libvirt's events for domain %s: %s", vm, libvirt_error());
		goto out;
	}

	if (lv->virDomainDetachDeviceAlias(dom, alias, VIR_DOMAIN_AFFECT_LIVE) < 0) {
		r = runtime_error("libvirt could not detach %s (alias %s) from domain %s: %s; the device "
				  "stays with the VM", device, alias, vm, libvirt_error());
		goto out;
	}
	while (w.result == 0 && !w.timed_out)
		if (lv->virEventRunDefaultImpl() < 0) {
			r = runtime_error("waiting for libvirt failed: %s", libvirt_error());
			goto out;
		}

	if (w.result < 0)
		r = runtime_error("the guest refused to release %s (libvirt: device removal failed); the "
				  "device stays with VM %s", device, vm);
	else if (w.result == 0 && find_alias(dom, vm, device, &still) != 0)
		r = runtime_error("libvirt did not finish detaching %s within %u s (the guest must release it); "
				  "the device stays with VM %s", device, timeout_sec, vm);
out:
	if (timer >= 0)
		lv->virEventRemoveTimeout(timer);
	for (size_t i = 0; i < ELEMENTSOF(ids); i++)
		if (ids[i] >= 0)
			lv->virConnectDomainEventDeregisterAny(conn, ids[i]);
	return r;
}

int vm_libvirt_remove_device(sd_bus *bus, const char *path, const char *vm, const char *device,
			     const VmLibvirtOptions *o)
{
	_cleanup_(conn_closep) virConnectPtr conn = NULL;
	_cleanup_(domain_freep) virDomainPtr dom = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_free_ char *alias = NULL;
	int r;

	/*
	 * libvirt's own loop, run only by this thread while it waits below:
	 * a command line tool has no other loop to share.
	 */
	r = load_libvirt();
	if (r != 0)
		return r;
	if (lv->virEventRegisterDefaultImpl() < 0)
		return runtime_error("cannot set up libvirt's event loop: %s", libvirt_error());
	r = open_domain(o, vm, &conn, &dom);
	if (r != 0)
		return r;

	/* 1. libvirt: QEMU lets go of the device (not in the domain: nothing to detach) */
	r = find_alias(dom, vm, device, &alias);
	if (r < 0)
		return VFIOCTL_EXIT_FAILURE;
	if (r > 0) {
		r = detach_and_wait(conn, dom, vm, device, alias,
				    o->timeout_sec ? o->timeout_sec : VM_LIBVIRT_DEFAULT_TIMEOUT_SEC);
		if (r != 0)
			return r;
	}

	/*
	 * 2. vfiod: back to the host, then the limit lowered. vfiod may have
	 * followed libvirt's DEVICE_REMOVED event first: then the device is
	 * gone from the VM (NoSuchDevice), or its give-back still runs
	 * (DeviceBusy): asked again until it is gone, within the timeout.
	 */
	for (unsigned waited_ms = 0;; waited_ms += 100) {
		sd_bus_error_free(&error);
		r = bus_client_call_object(bus, path, VFD_VM_INTERFACE, "RemoveDevice", &error, NULL, "s",
					   device);
		if (r >= 0)
			return 0;
		if (alias && sd_bus_error_has_name(&error, VFD_ERROR_NO_SUCH_DEVICE))
			return 0; /* vfiod followed libvirt's DEVICE_REMOVED event first */
		if (!alias || !sd_bus_error_has_name(&error, VFD_ERROR_DEVICE_BUSY) ||
		    waited_ms >= (o->timeout_sec ? o->timeout_sec : VM_LIBVIRT_DEFAULT_TIMEOUT_SEC) * 1000)
			return host_report_error("cannot remove the device", &error, r);
		(void) usleep(100 * 1000);
	}
}
