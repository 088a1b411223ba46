/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "vfiod/domain-xml.h"
#include "vfiod/libvirt-dl.h"
#include "libvirt-devices.h"
#include "libvirt-events.h"
#include "libvirt-fetch.h"
#include "libvirt-later.h"
#include "libvirt-loop.h"
#include "log.h"
#include "manager.h"
#include "vm-memlock.h"
#include "vm.h"

#define USEC_PER_SEC UINT64_C(1000000)
#define RETRY_FIRST_SEC 1u
#define RETRY_MAX_SEC 60u
/* a libvirtd that stops answering is given up after interval * count seconds */
#define KEEPALIVE_INTERVAL_SEC 5
#define KEEPALIVE_COUNT 3u
/*
 * The catch-up after a (re)connect waits this long, for libvirtd's
 * "reconnect" hooks to be done. The calls that read a domain run on a
 * thread of their own (libvirt-fetch.h): libvirtd runs its hooks with the
 * domain locked and the hooks call vfiod, so vfiod's loop must not wait
 * for a domain.
 */
#define CATCH_UP_DELAY_SEC 5u

/* the domain events vfiod follows, and the slot of each registration */
enum {
	EVENT_DEVICE_ADDED,
	EVENT_DEVICE_REMOVED,
	EVENT_DEVICE_REMOVAL_FAILED,
	EVENT_LIFECYCLE,
	_EVENT_MAX,
};

struct LibvirtEvents {
	Manager *manager;
	const vfd_libvirt *lv; /* libvirt's client library, loaded by libvirt_events_new() */
	char *uri;
	virConnectPtr conn;
	int callback_ids[_EVENT_MAX];
	bool close_registered;
	sd_event_source *retry;      /* the next connection attempt */
	sd_event_source *disconnect; /* tearing down a closed connection, outside libvirt's callback */
	sd_event_source *catch_up;   /* reconcile_known_domains(), CATCH_UP_DELAY_SEC after a connect */
	unsigned retry_sec;
	bool logged_unreachable;
	LibvirtDevices *devices;
	LibvirtFetch *fetch; /* domain XML, read off the loop */
	LibvirtLater *later; /* events put off: a VM's change under way, a device's last close */
};

static const char *libvirt_error(const LibvirtEvents *l)
{
	const char *msg = l->lv->virGetLastErrorMessage();

	return msg && *msg ? msg : "unknown libvirt error";
}

/* ---- what the events do to a VM ---- */

static void device_attached(VM *vm, const LibvirtDevice *dev, const char *alias,
			    const LibvirtLaterEvent *prior);
static void device_detached(VM *vm, const char *name, const char *alias, const LibvirtLaterEvent *prior);

/* a device change of the VM runs: a give-back, or a move of its charge */
static bool vm_changing(VM *vm)
{
	return vm_is_giving_back(vm) || vm_change_process_target(vm) != 0;
}

/* an event put off (libvirt-later.h) has its turn */
static void on_later(void *userdata, const LibvirtLaterEvent *ev)
{
	LibvirtEvents *l = userdata;
	VM *vm = manager_find_vm_by_id(l->manager, ev->vm_id);

	if (!vm)
		return;
	if (ev->attach)
		device_attached(vm, &ev->dev, ev->alias, ev);
	else
		device_detached(vm, ev->dev.name, ev->alias, ev);
}

/* the event to put off: what prior carried (its tries, its wait for a last close), and the rest */
static LibvirtLaterEvent later_event(VM *vm, bool attach, const LibvirtDevice *dev, const char *name,
				     const char *alias, const LibvirtLaterEvent *prior)
{
	LibvirtLaterEvent ev = prior ? *prior : (LibvirtLaterEvent) {};

	ev.vm_id = vm_get_id(vm);
	ev.attach = attach;
	if (dev)
		ev.dev = *dev;
	else {
		memset(&ev.dev, 0, sizeof(ev.dev));
		snprintf(ev.dev.name, sizeof(ev.dev.name), "%s", name);
	}
	snprintf(ev.alias, sizeof(ev.alias), "%s", alias);
	if (!attach && ev.device_serial == 0) {
		const VMDevice *d = vm_lookup_device(vm, name);

		ev.device_serial = d ? d->serial : 0;
	}
	return ev;
}

/*
 * 1 when the event is put off until the VM's give-back or move ended. 0:
 * handle it now: no change runs, or it cannot wait (LIBVIRT_LATER_CHANGE_MAX
 * times already, too many events waiting: logged); handled during the
 * change it meets the refusal of a VM that changes a device already.
 */
static int event_later(VM *vm, bool attach, const LibvirtDevice *dev, const char *name,
		       const char *alias, const LibvirtLaterEvent *prior)
{
	LibvirtEvents *l = vm_get_manager(vm)->libvirt;
	LibvirtLaterEvent ev;
	int r;

	if (!vm_changing(vm) || !l)
		return 0;
	ev = later_event(vm, attach, dev, name, alias, prior);
	r = libvirt_later_add(l->later, &ev, LIBVIRT_LATER_CHANGE);
	if (r == -ETIME) {
		log_warning("VM %s: libvirt's event about %s (alias %s) waited %u times for the device "
			    "change under way; handled now.", vm_get_name(vm), name, alias, ev.tries);
		return 0;
	}
	if (r == -ENOSPC) {
		log_warning("VM %s: libvirt's event about %s (alias %s) cannot wait for the device change "
			    "under way: %zu events wait already; handled now.", vm_get_name(vm), name, alias,
			    libvirt_later_count(l->later));
		return 0;
	}
	if (r < 0) {
		log_warning_errno(r, "VM %s: libvirt's event about %s (alias %s) cannot wait for the device "
				  "change under way (%m); handled now.", vm_get_name(vm), name, alias);
		return 0;
	}
	if (!prior)
		log_info("VM %s: libvirt's event about %s (alias %s) waits for the device change under way.",
			 vm_get_name(vm), name, alias);
	return 1;
}

/*
 * libvirt detached device name of the VM, which is still open: QEMU's
 * last close of it may still be running in the kernel (vfio-pci resets
 * the function on close). The give-back is tried again, with a backoff,
 * until LIBVIRT_LATER_LAST_CLOSE_USEC after the first refusal. 1: tried
 * again later; 0: no more waiting (the caller says the give-back failed).
 */
static int wait_for_last_close(VM *vm, const char *name, const char *alias, const LibvirtLaterEvent *prior,
			       const char *why)
{
	LibvirtEvents *l = vm_get_manager(vm)->libvirt;
	LibvirtLaterEvent ev;
	int r;

	if (!l)
		return 0;
	ev = later_event(vm, false, NULL, name, alias, prior);
	if (ev.last_close_since_usec == 0) {
		r = sd_event_now(vm_get_manager(vm)->event, CLOCK_MONOTONIC, &ev.last_close_since_usec);
		if (r < 0) {
			log_error_errno(r, "VM %s: cannot wait for the last close of %s: %m", vm_get_name(vm), name);
			return 0;
		}
		ev.tries = 0;
	}
	r = libvirt_later_add(l->later, &ev, LIBVIRT_LATER_LAST_CLOSE);
	if (r == -ETIME) {
		log_warning("VM %s: libvirt detached %s (alias %s), which was still in use %" PRIu64 " s "
			    "later; vfiod stops waiting for its last close.", vm_get_name(vm), name, alias,
			    LIBVIRT_LATER_LAST_CLOSE_USEC / USEC_PER_SEC);
		return 0;
	}
	if (r < 0) {
		log_error_errno(r, "VM %s: cannot wait for the last close of %s: %m", vm_get_name(vm), name);
		return 0;
	}
	if (ev.tries == 0)
		log_notice("VM %s: libvirt detached %s (alias %s), which vfiod cannot give back yet: %s. It "
			   "waits for the device's last close (QEMU's may still be running in the kernel) and "
			   "tries again for up to %" PRIu64 " s.", vm_get_name(vm), name, alias, why,
			   LIBVIRT_LATER_LAST_CLOSE_USEC / USEC_PER_SEC);
	else
		log_debug("VM %s: %s cannot be given back yet (%s); trying again.", vm_get_name(vm), name, why);
	return 1;
}

LibvirtClaimVerdict libvirt_claim_verdict(int r, bool vm_changing)
{
	switch (r) {
	case -EBUSY:
		/*
		 * A member of the group is the host's, or the VM is in the middle
		 * of a change (a give-back, a move of its charge to another
		 * process: vm_memlock_before_add() says -EBUSY then): only the
		 * first refuses the device. The second passes; the event waits.
		 */
		return vm_changing ? LIBVIRT_CLAIM_LATER : LIBVIRT_CLAIM_REFUSED;
	case -EADDRINUSE: /* owned by another VM, or by an ad-hoc Bind */
	case -EALREADY:   /* an mdev another VM holds */
	case -ENOTSUP:    /* not assignable (a bridge) */
	case -EDQUOT:     /* above the VM's memlock cap */
	case -EPERM:
	case -EACCES:
	case -ENOTBLK:    /* no IOMMU group */
	case -ENODEV:
		return LIBVIRT_CLAIM_REFUSED;
	default:
		return LIBVIRT_CLAIM_FAILED;
	}
}

static void fetch_domain(LibvirtEvents *l, const LibvirtFetchRequest *req);

/*
 * libvirt attached a device vfiod refused to this VM: QEMU must not keep
 * a device that is another VM's or outside the VM's accounting, so libvirt
 * is asked to detach it again (off the loop; the answer is logged by
 * on_fetched()). Its DEVICE_REMOVED then names no device of the VM, and
 * gives nothing back: the device stays where it was.
 */
static void detach_refused(VM *vm, const LibvirtDevice *dev, const char *alias)
{
	LibvirtEvents *l = vm_get_manager(vm)->libvirt;

	log_warning("VM %s: asking libvirt to detach %s (alias %s) from domain %s again: vfiod refused "
		    "it to this VM.", vm_get_name(vm), dev->name, alias, vm_get_uuid(vm));
	if (l)
		fetch_domain(l, &(LibvirtFetchRequest) { .uuid = vm_get_uuid(vm), .why = LIBVIRT_FETCH_DETACH,
							  .alias = alias, .device = dev->name });
}

static void device_attached(VM *vm, const LibvirtDevice *dev, const char *alias,
			    const LibvirtLaterEvent *prior)
{
	LibvirtEvents *l = vm_get_manager(vm)->libvirt;
	LibvirtLaterEvent waiting;
	vfd_op_error error;
	int r;

	/* the newest event about the device counts: a give-back waiting for its last close ends */
	if (l && libvirt_later_cancel(l->later, vm_get_id(vm), dev->name, &waiting) > 0 && !waiting.attach)
		log_notice("VM %s: libvirt attached %s (alias %s) again while its give-back waited; the "
			   "device stays with the VM.", vm_get_name(vm), dev->name, alias);
	if (event_later(vm, true, dev, dev->name, alias, prior) != 0)
		return;
	vfd_op_error_clear(&error);
	if (!vm_lookup_device(vm, dev->name) && dev->libvirt_managed) {
		VM *owner = manager_device_vm_owner(vm_get_manager(vm), dev->name, vm);

		/*
		 * libvirt checks only its own domains: a device vfiod gave another
		 * VM is refused as an unmanaged one is. That VM had it first: a
		 * user's claim proves that nobody outside vfiod uses the function
		 * (manager_prove_unused()), and root's claim is root's choice.
		 * libvirt leaves a device that was on vfio-pci before its attach
		 * there at the detach (it unbinds only what it bound itself). An
		 * ad-hoc Bind (driverctl's "keep it on vfio-pci") is no owner
		 * here: managed hostdevs on such devices are the usual set-up.
		 */
		if (owner) {
			log_error("VM %s: libvirt attached %s (alias %s) with managed='yes', but vfiod gave it "
				  "to VM %s: refused to this VM.", vm_get_name(vm), dev->name, alias,
				  vm_get_name(owner));
			detach_refused(vm, dev, alias);
			return;
		}
		/*
		 * libvirt moved it to vfio-pci and moves it back after the detach:
		 * a claim by vfiod would put it on vfio-pci again at release
		 */
		log_info("VM %s: libvirt attached %s (alias %s) with managed='yes'; libvirt handles "
			 "its drivers, vfiod leaves it alone (the memlock plan does not count it).",
			 vm_get_name(vm), dev->name, alias);
		return;
	}
	if (!vm_lookup_device(vm, dev->name)) {
		vfd_pci_address addr;

		/* the unsafe order: the limit and the accounting can only follow */
		log_notice("VM %s: libvirt attached %s (alias %s), which vfiod did not add first; QEMU "
			   "uses it already, so vfiod claims and accounts it after the fact (use "
			   "'vfioctl vm add-device --libvirt' to raise the limit before the attach).",
			   vm_get_name(vm), dev->name, alias);
		if (dev->is_mdev)
			r = vm_add_mdev(vm, dev->name, &error);
		else {
			r = vfd_pci_address_parse(dev->name, &addr);
			if (r >= 0)
				/* QEMU has it already: no proof that nobody uses it (vm.h) */
				r = vm_add_pci(vm, &addr, &error);
		}
		if (r < 0) {
			log_error("VM %s: cannot take %s, attached by libvirt, into account: %s%s%s", vm_get_name(vm),
				  dev->name, error.subject, *error.subject ? ": " : "",
				  error.error ? error.message : strerror(-r));
			switch (libvirt_claim_verdict(r, vm_changing(vm))) {
			case LIBVIRT_CLAIM_REFUSED:
				detach_refused(vm, dev, alias);
				break;
			case LIBVIRT_CLAIM_LATER:
				/* never a detach for a passing state: the claim is tried again */
				if (event_later(vm, true, dev, dev->name, alias, prior) > 0)
					break;
				/* it cannot wait any longer: QEMU must not keep a device outside the accounting */
				log_error("VM %s: %s, attached by libvirt, could not be taken into account while "
					  "the VM's device change ran.", vm_get_name(vm), dev->name);
				detach_refused(vm, dev, alias);
				break;
			case LIBVIRT_CLAIM_FAILED:
				break;
			}
			return;
		}
	} else
		log_info("VM %s: libvirt attached %s (alias %s), added through vfiod before: now in use.",
			 vm_get_name(vm), dev->name, alias);

	vfd_op_error_clear(&error);
	r = vm_confirm_attached(vm, dev->name, &error);
	if (r < 0)
		log_warning("VM %s: cannot mark %s attached: %s", vm_get_name(vm), dev->name,
			    error.error ? error.message : strerror(-r));
	vm_memlock_resync(vm, "attach");
	vm_memlock_after_change(vm, "libvirt attach");
}

/* the end of the give-back of a device libvirt detached; userdata: "NAME (alias ALIAS)" */
static void on_detached_given_back(VM *vm, int r, const vfd_op_error *error, void *userdata)
{
	_cleanup_free_ char *what = userdata;

	if (r < 0)
		log_error("VM %s: libvirt detached %s but giving it back failed: %s", vm_get_name(vm),
			  what ? what : "a device", error && error->error ? error->message : strerror(-r));
	else
		log_info("VM %s: libvirt detached %s: given back.", vm_get_name(vm), what ? what : "a device");
}

static void device_detached(VM *vm, const char *name, const char *alias, const LibvirtLaterEvent *prior)
{
	char *what = NULL;
	vfd_op_error error;
	const VMDevice *d;
	int r;

	d = vm_lookup_device(vm, name);
	if (d && prior && prior->device_serial != 0 && prior->device_serial != d->serial) {
		/* vfioctl remove-device and add-device ran meanwhile: the wait was for the old add */
		log_info("VM %s: %s was given back and added to the VM again since libvirt detached it "
			 "(alias %s); that detach changes nothing now.", vm_get_name(vm), name, alias);
		return;
	}
	if (!d) {
		log_debug("VM %s: libvirt detached %s (alias %s), not a device of the VM.", vm_get_name(vm),
			  name, alias);
		/*
		 * Given back already (vfioctl remove-device --libvirt, or this
		 * event put off until that give-back ended): libvirt set its own
		 * limit on the detach all the same, after vfiod's last one.
		 */
		vm_memlock_resync(vm, "detach");
		vm_memlock_after_change(vm, "libvirt detach");
		return;
	}
	if (event_later(vm, false, NULL, name, alias, prior) != 0)
		return;
	if (vm_vmm_let_go(vm, name) == 0) {
		char why[64];

		snprintf(why, sizeof(why), "group %d is open", d->iommu_group);
		if (!vm_device_shares_group(vm, name) && wait_for_last_close(vm, name, alias, prior, why) > 0)
			return;
		log_warning("VM %s: libvirt detached %s (alias %s) but group %d is still open (by the VMM, "
			    "or for another device of the group); vfiod keeps the device: "
			    "'vfioctl vm remove-device' gives it back once the group is closed.",
			    vm_get_name(vm), name, alias, d->iommu_group);
		return;
	}

	vm_memlock_resync(vm, "detach");
	vfd_op_error_clear(&error);
	if (asprintf(&what, "%s (alias %s)", name, alias) < 0)
		what = NULL;
	r = vm_remove_device(vm, name, on_detached_given_back, what, &error);
	if (r < 0) {
		free(what);
		/*
		 * Open: by QEMU's close still under way, most likely. Not the
		 * refusals that stay (a device of its group stays in the VM, no
		 * vfiod_mm helper to prove a close): those are final.
		 */
		if (r == -EBUSY && error.held && wait_for_last_close(vm, name, alias, prior, error.message) > 0)
			return;
		if (r == -ESHUTDOWN && vm_get_state(vm) == VM_STATE_RELEASING) {
			log_info("VM %s: libvirt detached %s (alias %s); the VM's release under way gives it "
				 "back.", vm_get_name(vm), name, alias);
			return;
		}
		log_error("VM %s: libvirt detached %s (alias %s) but giving it back failed: %s", vm_get_name(vm),
			  name, alias, error.error ? error.message : strerror(-r));
		return;
	}
	/* on_detached_given_back() says how it ended */
}

/* ---- libvirt's callbacks ---- */

/*
 * Who is who. A domain is a VM's when its UUID is the VM's: the hook
 * registers a domain under its UUID (PrepareVM), every other VM has a UUID
 * of its own (vfioctl makes one up). A name proves nothing: a VM
 * registered outside libvirt may bear a domain's name, and libvirt lets a
 * client name its domains as it likes. Nor does a UUID alone prove a
 * user's VM: VM UUIDs are public (ListVMs), and a client allowed to define
 * domains chooses their UUIDs. The hook runs as root, so libvirt's VMs are
 * root's: events act on VMs that root registered or prepared, never on a
 * user's (docs/security.md).
 */
static VM *vm_of_uuid(Manager *m, const char *uuid)
{
	for (size_t i = 0; i < m->n_vms; i++)
		if (strcasecmp(vm_get_uuid(m->vms[i]), uuid) == 0)
			return vm_get_owner_uid(m->vms[i]) == 0 ? m->vms[i] : NULL;
	return NULL;
}

/* the VM of the event's domain, or NULL; uuid gets the domain's UUID */
static VM *event_vm(LibvirtEvents *l, virDomainPtr dom, const char *what,
		    char uuid[static VIR_UUID_STRING_BUFLEN])
{
	const char *name = l->lv->virDomainGetName(dom);
	VM *vm, *namesake;

	if (l->lv->virDomainGetUUIDString(dom, uuid) < 0) {
		log_debug("libvirt: %s in domain %s without a UUID: ignored.", what, name ? name : "?");
		return NULL;
	}
	vm = vm_of_uuid(l->manager, uuid);
	if (vm)
		return vm;
	namesake = name ? manager_find_vm(l->manager, name) : NULL;
	if (namesake)
		log_notice("libvirt: %s in domain %s (UUID %s): vfiod's VM %s has UUID %s, so it is not "
			   "that domain's VM and the event changes nothing.", what, name, uuid,
			   vm_get_name(namesake), vm_get_uuid(namesake));
	else
		log_debug("libvirt: %s in domain %s (UUID %s), not a VM of vfiod.", what,
			  name ? name : "?", uuid);
	return NULL;
}

/* reads the domain's live XML off the loop; on_fetched() goes on */
static void fetch_domain(LibvirtEvents *l, const LibvirtFetchRequest *req)
{
	int r;

	if (!l->conn)
		return;
	r = libvirt_fetch_xml(l->fetch, l->conn, req);
	if (r < 0)
		log_warning_errno(r, "libvirt: cannot read the live XML of domain %s: %m", req->uuid);
}

static void on_device_added(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	LibvirtEvents *l = opaque;

	/* whatever the alias says, the device is what the live XML shows under it */
	if (event_vm(l, dom, "device added", uuid))
		fetch_domain(l, &(LibvirtFetchRequest) { .uuid = uuid, .why = LIBVIRT_FETCH_ADDED, .alias = alias });
}

/* DEVICE_ADDED, with the XML: only a VFIO host device under that alias counts */
static void added_fetched(LibvirtEvents *l, VM *vm, const LibvirtFetchRequest *req, const char *xml)
{
	_cleanup_free_ char *msg = NULL;
	LibvirtDevice dev, named;
	int r;

	r = libvirt_devices_learn(l->devices, vm_get_uuid(vm), xml, strlen(xml), req->alias, &dev, &msg);
	if (r == -ENOENT && libvirt_device_from_vfiod_alias(req->alias, &named) >= 0)
		log_notice("VM %s: libvirt added %s, which names %s but is no VFIO host device in the "
			   "domain's live XML (a disk, a NIC, ...): vfiod changes nothing.",
			   vm_get_name(vm), req->alias, named.name);
	else if (r == -ENOENT)
		log_debug("VM %s: libvirt added %s, not a VFIO host device.", vm_get_name(vm), req->alias);
	else if (r < 0)
		log_warning_errno(r, "VM %s: cannot read the devices of libvirt's domain: %s", vm_get_name(vm),
				  msg ? msg : "%m");
	if (r < 0)
		return;
	if (libvirt_device_from_vfiod_alias(req->alias, &named) >= 0 && strcmp(named.name, dev.name) != 0)
		log_warning("VM %s: libvirt's host device %s carries the alias %s, which names %s; vfiod "
			    "goes by the device, not by its alias.", vm_get_name(vm), dev.name, req->alias,
			    named.name);
	device_attached(vm, &dev, req->alias, NULL);
}

/* DEVICE_REMOVED, with the XML: believed only when the device is gone from it */
static void removed_fetched(VM *vm, const LibvirtFetchRequest *req, const char *xml, const char *error)
{
	_cleanup_free_ char *msg = NULL;
	int r;

	if (!xml) {
		log_warning("VM %s: libvirt removed %s (alias %s) but its live XML cannot be read (%s); "
			    "vfiod keeps the device: 'vfioctl vm remove-device' gives it back.", vm_get_name(vm),
			    req->device, req->alias, error);
		return;
	}
	r = libvirt_devices_xml_has(xml, strlen(xml), req->device, &msg);
	if (r < 0) {
		log_warning_errno(r, "VM %s: cannot read the devices of libvirt's domain (%s); vfiod keeps "
				  "%s.", vm_get_name(vm), msg ? msg : "%m", req->device);
		return;
	}
	if (r > 0) {
		log_warning("VM %s: libvirt removed %s, but its live XML still has %s: vfiod keeps it.",
			    vm_get_name(vm), req->alias, req->device);
		return;
	}
	device_detached(vm, req->device, req->alias, NULL);
}

static void reconcile_domain(LibvirtEvents *l, VM *vm, const char *xml);

/* on the loop, once fetch_domain()'s thread has the XML */
static void on_fetched(void *userdata, const LibvirtFetchRequest *req, char *fetched, const char *error)
{
	_cleanup_free_ char *xml = fetched;
	LibvirtEvents *l = userdata;
	VM *vm;

	/* the VM may have gone while the thread waited */
	vm = vm_of_uuid(l->manager, req->uuid);
	if (!vm)
		return;
	switch (req->why) {
	case LIBVIRT_FETCH_REMOVED:
		removed_fetched(vm, req, xml, error);
		return;
	case LIBVIRT_FETCH_ADDED:
		if (xml)
			added_fetched(l, vm, req, xml);
		else
			log_warning("VM %s: cannot read libvirt's live XML for %s: %s", vm_get_name(vm), req->alias,
				    error);
		return;
	case LIBVIRT_FETCH_DETACH:
		if (error)
			log_error("VM %s: libvirt did not detach %s (alias %s), which vfiod refused to the "
				  "VM: %s; detach it by hand (virsh detach-device-alias).", vm_get_name(vm),
				  req->device, req->alias, error);
		else
			log_notice("VM %s: libvirt detached %s (alias %s), which vfiod refused to the VM.",
				   vm_get_name(vm), req->device, req->alias);
		return;
	case LIBVIRT_FETCH_RECONCILE:
		if (xml)
			reconcile_domain(l, vm, xml);
		else
			log_debug("VM %s: no live XML from libvirt: %s", vm_get_name(vm), error);
		return;
	}
}

static void on_device_removed(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	LibvirtEvents *l = opaque;
	LibvirtDevice dev;
	VM *vm;

	vm = event_vm(l, dom, "device removed", uuid);
	if (!vm)
		return;
	/* the device is gone from the XML: the table says what the XML showed under alias */
	if (libvirt_devices_get(l->devices, uuid, alias, &dev) < 0) {
		log_info("VM %s: libvirt removed %s, which was no VFIO host device in the domain's live "
			 "XML: vfiod changes nothing.", vm_get_name(vm), alias);
		return;
	}
	libvirt_devices_forget(l->devices, uuid, alias);
	fetch_domain(l, &(LibvirtFetchRequest) {
		.uuid = uuid, .why = LIBVIRT_FETCH_REMOVED, .alias = alias, .device = dev.name });
}

static void on_device_removal_failed(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	LibvirtEvents *l = opaque;
	VM *vm = event_vm(l, dom, "device removal failed", uuid);

	if (vm)
		log_warning("VM %s: libvirt could not detach %s (the guest refused or did not answer); "
			    "the device stays with the VM.", vm_get_name(vm), alias);
}

static void on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	LibvirtEvents *l = opaque;

	switch (event) {
	case VIR_DOMAIN_EVENT_STOPPED:
	case VIR_DOMAIN_EVENT_CRASHED:
		/* the VM goes with its VMM's pidfd exit (vm.c), not with this event */
		if (l->lv->virDomainGetUUIDString(dom, uuid) < 0)
			return;
		libvirt_devices_forget_domain(l->devices, uuid);
		log_debug("libvirt: domain %s stopped or crashed (%d/%d).", uuid, event, detail);
		break;
	case VIR_DOMAIN_EVENT_STARTED:
	case VIR_DOMAIN_EVENT_RESUMED: {
		VM *vm = event_vm(l, dom, "start", uuid);

		/*
		 * Not while the VM waits for its VMM: libvirt emits RESUMED before
		 * it runs the "started" hook (which calls AttachVMM) with the
		 * domain locked, and reading the XML now would wait for that lock
		 * while the hook waits for vfiod. STARTED comes after the hook.
		 */
		if (vm && vm_has_vmm(vm))
			fetch_domain(l, &(LibvirtFetchRequest) { .uuid = vm_get_uuid(vm), .why = LIBVIRT_FETCH_RECONCILE });
		break;
	}
	default:
		break;
	}
}

/* ---- the connection ---- */

static int schedule_retry(LibvirtEvents *l);
static void log_unreachable(LibvirtEvents *l);
static void on_connection_closed(virConnectPtr conn, int reason, void *opaque);

static void disconnect(LibvirtEvents *l)
{
	if (!l->conn)
		return;
	for (size_t i = 0; i < _EVENT_MAX; i++)
		if (l->callback_ids[i] >= 0) {
			(void) l->lv->virConnectDomainEventDeregisterAny(l->conn, l->callback_ids[i]);
			l->callback_ids[i] = -1;
		}
	if (l->close_registered)
		(void) l->lv->virConnectUnregisterCloseCallback(l->conn, on_connection_closed);
	l->close_registered = false;
	(void) l->lv->virConnectClose(l->conn);
	l->conn = NULL;
}

static int on_disconnect(sd_event_source *s, void *userdata)
{
	LibvirtEvents *l = userdata;

	l->disconnect = sd_event_source_disable_unref(l->disconnect);
	disconnect(l);
	/* libvirtd restarting: it is usually back within seconds */
	l->retry_sec = RETRY_FIRST_SEC;
	(void) schedule_retry(l);
	return 0;
}

static void on_connection_closed(virConnectPtr conn, int reason, void *opaque)
{
	static const char *const reasons[] = {
		[VIR_CONNECT_CLOSE_REASON_ERROR] = "I/O error",
		[VIR_CONNECT_CLOSE_REASON_EOF] = "libvirtd went away",
		[VIR_CONNECT_CLOSE_REASON_KEEPALIVE] = "libvirtd stopped answering",
		[VIR_CONNECT_CLOSE_REASON_CLIENT] = "closed",
	};
	LibvirtEvents *l = opaque;
	int r;

	log_warning("Lost the connection to libvirt at %s (%s); reconnecting.", l->uri,
		    reason >= 0 && (size_t) reason < ELEMENTSOF(reasons) ? reasons[reason] : "unknown reason");
	if (l->disconnect)
		return;
	/* closing the connection from inside its own close callback is not allowed: next iteration */
	r = sd_event_add_defer(l->manager->event, &l->disconnect, on_disconnect, l);
	if (r < 0)
		log_error_errno(r, "Cannot schedule the reconnection to libvirt: %m");
}

/*
 * After a (re)connect. libvirt may have attached or detached devices while
 * vfiod was not listening (libvirtd or vfiod restarting). A VFIO host
 * device in the live XML that the VM lacks is in QEMU: taken into account
 * after the fact, as on DEVICE_ADDED. A device of the VM that the XML
 * lacks is only reported: it may be on its way in (vfioctl's AddDevice
 * comes before libvirt's attach), and giving back a device QEMU might use
 * is not a guess vfiod makes.
 */
/* a device in the domain's live XML: a detach of it that waits is over (it was attached again) */
static void end_wait_for_detach(LibvirtEvents *l, VM *vm, const LibvirtDevice *dev, const char *alias)
{
	LibvirtLaterEvent waiting;

	if (libvirt_later_get(l->later, vm_get_id(vm), dev->name, &waiting) <= 0 || waiting.attach)
		return;
	(void) libvirt_later_cancel(l->later, vm_get_id(vm), dev->name, NULL);
	log_notice("VM %s: %s is in libvirt's domain again (alias %s): the detach that waited changes "
		   "nothing.", vm_get_name(vm), dev->name, alias);
}

static void reconcile_domain(LibvirtEvents *l, VM *vm, const char *xml)
{
	_cleanup_free_ char *msg = NULL;
	vfd_domain_alias *aliases = NULL;
	size_t n = 0;
	int r;

	r = vfd_domain_hostdev_aliases(xml, strlen(xml), &aliases, &n, &msg);
	if (r < 0) {
		log_warning_errno(r, "VM %s: cannot read the devices of libvirt's domain: %s", vm_get_name(vm),
				  msg ? msg : "%m");
		return;
	}

	/* aliases the XML no longer has (their DEVICE_REMOVED was lost) are forgotten */
	if (libvirt_devices_replace(l->devices, vm_get_uuid(vm), aliases, n) < 0)
		log_oom();
	for (size_t i = 0; i < n; i++) {
		LibvirtDevice dev;

		libvirt_device_from_alias(&aliases[i], &dev);
		end_wait_for_detach(l, vm, &dev, aliases[i].alias);
		if (vm_lookup_device(vm, dev.name))
			continue;
		if (dev.libvirt_managed) {
			VM *owner = manager_device_vm_owner(l->manager, dev.name, vm);

			/* who had it first is not known here: said, not undone */
			if (owner)
				log_error("VM %s: libvirt's domain has %s (alias %s, managed='yes'), which vfiod "
					  "gave to VM %s, attached while vfiod was not following libvirt; detach "
					  "it from one of them.", vm_get_name(vm), dev.name, aliases[i].alias,
					  vm_get_name(owner));
			continue;
		}
		log_notice("VM %s: libvirt's domain has %s (alias %s), attached while vfiod was not "
			   "following libvirt.", vm_get_name(vm), dev.name, aliases[i].alias);
		device_attached(vm, &dev, aliases[i].alias, NULL);
	}

	for (size_t i = 0; i < vm_get_n_devices(vm); i++) {
		bool in_xml = false;

		for (size_t j = 0; j < n && !in_xml; j++) {
			LibvirtDevice dev;

			libvirt_device_from_alias(&aliases[j], &dev);
			in_xml = strcmp(dev.name, vm_get_device(vm, i)->name) == 0;
		}
		if (!in_xml)
			log_notice("VM %s: %s is not in libvirt's domain: detached while vfiod was not "
				   "following libvirt, or not attached yet; 'vfioctl vm remove-device' gives "
				   "it back.", vm_get_name(vm), vm_get_device(vm, i)->name);
	}
	/* from here on a DEVICE_REMOVED of these aliases is known (after a restart of vfiod too) */
	log_info("VM %s: caught up with libvirt's domain: %zu host device(s) in its live XML.",
		 vm_get_name(vm), n);
	vfd_domain_aliases_free(aliases, n);
}

static void reconcile_known_domains(LibvirtEvents *l)
{
	Manager *m = l->manager;

	/* a prepared VM's domain is in libvirt's start hooks: it comes with AttachVMM */
	for (size_t i = 0; i < m->n_vms; i++)
		if (vm_has_vmm(m->vms[i]))
			fetch_domain(l, &(LibvirtFetchRequest) { .uuid = vm_get_uuid(m->vms[i]),
								  .why = LIBVIRT_FETCH_RECONCILE });
}

static int on_catch_up(sd_event_source *s, uint64_t usec, void *userdata)
{
	LibvirtEvents *l = userdata;

	l->catch_up = sd_event_source_disable_unref(l->catch_up);
	if (l->conn)
		reconcile_known_domains(l);
	return 0;
}

static void schedule_catch_up(LibvirtEvents *l)
{
	int r;

	if (l->catch_up)
		return; /* one pending catch-up covers every VM */
	r = sd_event_add_time_relative(l->manager->event, &l->catch_up, CLOCK_MONOTONIC,
				       (uint64_t) CATCH_UP_DELAY_SEC * USEC_PER_SEC, USEC_PER_SEC / 10,
				       on_catch_up, l);
	if (r < 0)
		log_warning_errno(r, "Cannot schedule the catch-up with libvirt: %m");
	else
		(void) sd_event_source_set_description(l->catch_up, "libvirt-catch-up");
}

void libvirt_events_vm_ready(LibvirtEvents *l, VM *vm)
{
	/* called from a bus call that libvirt's "started" hook may be waiting for: later */
	if (l && l->conn && vm_has_vmm(vm))
		schedule_catch_up(l);
}

static int connect_now(LibvirtEvents *l)
{
	static const struct {
		int id;
		virConnectDomainEventGenericCallback cb;
	} events[_EVENT_MAX] = {
		[EVENT_DEVICE_ADDED] = { VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
					 VIR_DOMAIN_EVENT_CALLBACK(on_device_added) },
		[EVENT_DEVICE_REMOVED] = { VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
					   VIR_DOMAIN_EVENT_CALLBACK(on_device_removed) },
		[EVENT_DEVICE_REMOVAL_FAILED] = { VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED,
						  VIR_DOMAIN_EVENT_CALLBACK(on_device_removal_failed) },
		[EVENT_LIFECYCLE] = { VIR_DOMAIN_EVENT_ID_LIFECYCLE,
				      VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle) },
	};

	/*
	 * Blocking, but on a local socket: a libvirtd that is not there fails
	 * at once (ENOENT, ECONNREFUSED). vfiod runs as root: a full connection.
	 */
	l->conn = l->lv->virConnectOpen(l->uri);
	if (!l->conn)
		return -ECONNREFUSED;

	if (l->lv->virConnectRegisterCloseCallback(l->conn, on_connection_closed, l, NULL) < 0)
		goto fail;
	l->close_registered = true;
	/* only with an event loop registered: a hung libvirtd is noticed, not waited for */
	if (l->lv->virConnectSetKeepAlive(l->conn, KEEPALIVE_INTERVAL_SEC, KEEPALIVE_COUNT) < 0)
		log_debug("libvirt: no keepalive: %s", libvirt_error(l));

	for (size_t i = 0; i < _EVENT_MAX; i++) {
		l->callback_ids[i] = l->lv->virConnectDomainEventRegisterAny(l->conn, NULL, events[i].id,
								      events[i].cb, l, NULL);
		if (l->callback_ids[i] < 0)
			goto fail;
	}

	log_info("Connected to libvirt at %s; following device and lifecycle events.", l->uri);
	l->logged_unreachable = false;
	l->retry_sec = RETRY_FIRST_SEC;
	schedule_catch_up(l);
	return 0;
fail:
	log_warning("libvirt at %s: cannot follow its events: %s", l->uri, libvirt_error(l));
	disconnect(l);
	return -EIO;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	LibvirtEvents *l = userdata;

	l->retry = sd_event_source_disable_unref(l->retry);
	if (connect_now(l) < 0) {
		log_unreachable(l);
		(void) schedule_retry(l);
	}
	return 0;
}

/* after a failed attempt: said once per outage at info level, then at debug level */
static void log_unreachable(LibvirtEvents *l)
{
	if (!l->logged_unreachable)
		log_info("libvirt at %s is not reachable (%s); retrying in %u s, then with a backoff up to %u s.",
			 l->uri, libvirt_error(l), l->retry_sec, RETRY_MAX_SEC);
	else
		log_debug("libvirt at %s is not reachable (%s); retrying in %u s.", l->uri, libvirt_error(l),
			  l->retry_sec);
	l->logged_unreachable = true;
}

static int schedule_retry(LibvirtEvents *l)
{
	unsigned sec = l->retry_sec;
	int r;

	l->retry_sec = sec * 2 > RETRY_MAX_SEC ? RETRY_MAX_SEC : sec * 2;
	r = sd_event_add_time_relative(l->manager->event, &l->retry, CLOCK_MONOTONIC,
				       (uint64_t) sec * USEC_PER_SEC, USEC_PER_SEC / 10, on_retry, l);
	if (r < 0)
		return log_error_errno(r, "Cannot schedule the connection to libvirt: %m");
	(void) sd_event_source_set_description(l->retry, "libvirt-retry");
	return 0;
}

LibvirtEvents *libvirt_events_free(LibvirtEvents *l)
{
	if (!l)
		return NULL;
	disconnect(l);
	sd_event_source_disable_unref(l->retry);
	sd_event_source_disable_unref(l->disconnect);
	sd_event_source_disable_unref(l->catch_up);
	libvirt_fetch_free(l->fetch);
	libvirt_later_free(l->later);
	libvirt_devices_free(l->devices);
	free(l->uri);
	free(l);
	/* libvirt's remaining watches and their data go with the loop */
	libvirt_loop_set_event(NULL);
	return NULL;
}

int libvirt_events_new(Manager *m, const char *uri, LibvirtEvents **ret)
{
	_cleanup_free_ char *msg = NULL;
	const vfd_libvirt *lv;
	LibvirtEvents *l;
	int r;

	/*
	 * The library is loaded here, by the one client that uses it, not at
	 * every start. Without libvirt0 there is no libvirtd on the default URI
	 * either: a host without libvirt is told at info level, a URI asked for
	 * with a warning.
	 */
	r = vfd_libvirt_load(&lv, &msg);
	if (r == -ENOPKG || r == -ENOSYS) {
		(void) log_internal(strcmp(uri, LIBVIRT_EVENTS_DEFAULT_URI) == 0 ? LOG_INFO : LOG_WARNING, 0,
				    "Not following libvirt's events at %s: %s", uri, msg ? msg : strerror(-r));
		return r;
	}
	if (r < 0)
		return r;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->manager = m;
	l->lv = lv;
	l->retry_sec = RETRY_FIRST_SEC;
	for (size_t i = 0; i < _EVENT_MAX; i++)
		l->callback_ids[i] = -1;
	l->uri = strdup(uri);
	r = l->uri ? libvirt_devices_new(&l->devices) : -ENOMEM;
	/* libvirt is used from more than one thread (libvirt-fetch.c) */
	if (r >= 0 && l->lv->virInitialize() < 0)
		r = -EIO;
	if (r >= 0)
		r = libvirt_later_new(m->event, on_later, l, &l->later);
	if (r >= 0)
		r = libvirt_fetch_new(m->event, l->lv, on_fetched, l, &l->fetch);
	if (r >= 0)
		r = libvirt_loop_install(m->event, l->lv);
	if (r < 0) {
		libvirt_fetch_free(l->fetch);
		libvirt_later_free(l->later);
		libvirt_devices_free(l->devices);
		free(l->uri);
		free(l);
		return r;
	}

	if (connect_now(l) < 0) {
		log_unreachable(l);
		r = schedule_retry(l);
		if (r < 0) {
			libvirt_events_free(l);
			return r;
		}
	}
	*ret = l;
	return 0;
}

virConnectPtr libvirt_events_connection(LibvirtEvents *l)
{
	return l ? l->conn : NULL;
}

const vfd_libvirt *libvirt_events_library(LibvirtEvents *l)
{
	return l ? l->lv : NULL;
}
