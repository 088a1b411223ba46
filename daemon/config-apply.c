/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Boot-time application of the persistent configuration, see
 * config-apply.h. The retry timer is one sd-event source set to the
 * earliest due item; udev events only ever make items due sooner.
 *
 * udev: mdev parents announce themselves with a "change" uevent carrying
 * MDEV_STATE=registered on their OWN subsystem (pci for a vGPU, the
 * sample drivers' classes for mtty/mbochs), which the inventory monitor's
 * kernel-side subsystem filter (pci, mdev, vfio) never lets through. So
 * this file keeps a second, unfiltered monitor of its own and picks the
 * few events that can unblock a waiting item.
 */
#include <libudev.h>
#include <sys/epoll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config-apply.h"
#include "vfiod/vfio-variant.h"
#include "sriov.h"
#include "log.h"
#include "manager.h"

typedef enum ItemState {
	ITEM_WAITING,
	ITEM_APPLIED,
	ITEM_FAILED,
	ITEM_MANUAL,
	ITEM_DRIFT,
} ItemState;

static const char *const item_state_names[] = {
	[ITEM_WAITING] = "waiting",
	[ITEM_APPLIED] = "applied",
	[ITEM_FAILED] = "failed",
	[ITEM_MANUAL] = "manual",
	[ITEM_DRIFT] = "drift",
};

typedef struct ConfigItem {
	bool is_mdev;
	size_t index; /* into config->bindings or config->mdevs */
	ItemState state;
	unsigned attempts;
	uint64_t due_usec; /* CLOCK_MONOTONIC; waiting items only */
	int error;         /* negative errno of the last attempt, 0 when none */
	char message[sizeof(((vfd_op_error *)0)->subject) + sizeof(((vfd_op_error *)0)->message) + 2];
	char current_driver[VFD_MODULE_NAME_MAX + 1]; /* bindings: the driver seen last, "" none */
} ConfigItem;

struct ConfigApply {
	Manager *manager;
	vfd_config *config;
	ConfigItem *items;
	size_t n_items;
	vfd_op_error load_error; /* the last failed load, kept for the status */
	sd_event_source *timer;

	struct udev *udev;
	struct udev_monitor *monitor;
	sd_event_source *io;
};

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

static const char *item_name(ConfigApply *ca, const ConfigItem *it)
{
	return it->is_mdev ? ca->config->mdevs[it->index].uuid : ca->config->bindings[it->index].name;
}

static void item_set(ConfigItem *it, ItemState state, int error, const vfd_op_error *e,
		     const char *fallback)
{
	it->state = state;
	it->error = error;
	if (e && vfd_op_error_is_set(e))
		snprintf(it->message, sizeof(it->message), "%s%s%s", e->subject,
			 *e->subject ? ": " : "", e->message);
	else
		snprintf(it->message, sizeof(it->message), "%s", fallback ? fallback : "");
}

/* errnos that time or a udev event can cure */
static bool binding_error_is_transient(int r)
{
	return r == -ENODEV || r == -ENOPKG || r == -EAGAIN;
}

static bool mdev_error_is_transient(int r)
{
	/*
	 * -ENXIO: no parent yet; -ENOSPC: no free instance now. Not -EDOM (no
	 * such type): a parent registers all its types with itself.
	 */
	return r == -ENXIO || r == -ENOSPC || r == -EAGAIN;
}

static void check_drift(ConfigApply *ca, ConfigItem *it);

static void apply_binding(ConfigApply *ca, ConfigItem *it)
{
	const vfd_config_binding *b = &ca->config->bindings[it->index];
	Manager *m = ca->manager;
	const vfd_bind_record *rec;
	vfd_op_error e = {};
	int r;

	r = manager_device_owned_elsewhere(m, b->name, NULL);
	if (r > 0) {
		item_set(it, ITEM_APPLIED, 0, NULL, "held by vfiod already");
		/* held, yet moved by hand since: still drift (vfiod's claim stands) */
		check_drift(ca, it);
		return;
	}

	it->attempts++;
	r = manager_bind(m, &b->address, b->unbind_host_members, b->driver, &e, &rec);
	if (r >= 0) {
		const char *vfio = NULL;
		size_t changed = 0;
		char what[96];

		for (size_t i = 0; i < rec->n_members; i++) {
			changed += rec->members[i].changed;
			if (rec->members[i].requested && rec->members[i].changed)
				vfio = rec->members[i].vfio_driver;
		}
		if (changed)
			snprintf(what, sizeof(what), "bound to %s", vfio ? vfio : "vfio-pci");
		else
			snprintf(what, sizeof(what), "on a VFIO driver already");
		item_set(it, ITEM_APPLIED, 0, NULL, what);
		log_info("Config: %s %s (from %s).", b->name, it->message, b->origin);
		/* bound by hand in the meantime (a bind event read before this one) */
		check_drift(ca, it);
		return;
	}

	if (r == -ENODEV && !vfd_op_error_is_set(&e))
		vfd_op_error_set(&e, r, b->name, "no such PCI device (yet)");
	if (r == -ENOPKG && !vfd_op_error_is_set(&e))
		vfd_op_error_set(&e, r, b->name, "the %s driver is not loaded",
				 b->driver ? b->driver : "vfio-pci");
	item_set(it, binding_error_is_transient(r) ? ITEM_WAITING : ITEM_FAILED, r, &e,
		 strerror(-r));
	(void) log_internal(it->state == ITEM_WAITING && it->attempts > 1 ? LOG_DEBUG : LOG_WARNING, 0,
		 "Config: cannot bind %s (from %s) yet: %s%s", b->name, b->origin, it->message,
		 it->state == ITEM_WAITING ? "; will retry" : "");
}

static void apply_mdev(ConfigApply *ca, ConfigItem *it)
{
	const vfd_config_mdev *d = &ca->config->mdevs[it->index];
	Manager *m = ca->manager;
	char path[64 + VFD_UUID_STRLEN], uuid[VFD_UUID_STRLEN];
	vfd_op_error e = {};
	int r;

	if (!d->autostart) {
		item_set(it, ITEM_MANUAL, 0, NULL, "defined without autostart");
		return;
	}

	snprintf(path, sizeof(path), "sys/bus/mdev/devices/%s", d->uuid);
	if (vfd_root_exists(m->ctx, path) > 0) {
		item_set(it, ITEM_APPLIED, 0, NULL, "exists");
		return;
	}

	it->attempts++;
	r = manager_create_mdev(m, d->parent, d->type, d->uuid, d->attrs, d->n_attrs, &e, uuid);
	if (r >= 0) {
		item_set(it, ITEM_APPLIED, 0, NULL, "created");
		log_info("Config: created mdev %s (%s on %s, from %s).", d->uuid, d->type, d->parent,
			 d->origin);
		return;
	}
	if (r == -ENXIO && !vfd_op_error_is_set(&e))
		vfd_op_error_set(&e, r, d->parent, "no such mdev parent (yet)");
	item_set(it, mdev_error_is_transient(r) ? ITEM_WAITING : ITEM_FAILED, r, &e, strerror(-r));
	(void) log_internal(it->state == ITEM_WAITING && it->attempts > 1 ? LOG_DEBUG : LOG_WARNING, 0,
		 "Config: cannot create mdev %s (from %s) yet: %s%s", d->uuid, d->origin, it->message,
		 it->state == ITEM_WAITING ? "; will retry" : "");
}

static void apply_item(ConfigApply *ca, ConfigItem *it)
{
	if (it->is_mdev)
		apply_mdev(ca, it);
	else
		apply_binding(ca, it);

	if (it->state == ITEM_WAITING) {
		/* 1 s, 2 s, 4 s ... 60 s after the attempt just made */
		uint64_t delay = 1000000ULL << (it->attempts > 7 ? 6 : (it->attempts ? it->attempts - 1 : 0));

		if (delay > CONFIG_BACKOFF_MAX_USEC)
			delay = CONFIG_BACKOFF_MAX_USEC;
		it->due_usec = it->attempts >= CONFIG_MAX_TIMER_ATTEMPTS ? UINT64_MAX : now_usec() + delay;
	}
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata);

/* arms the timer for the earliest due waiting item, or disables it */
static void rearm(ConfigApply *ca)
{
	uint64_t next = UINT64_MAX;
	int r;

	for (size_t i = 0; i < ca->n_items; i++)
		if (ca->items[i].state == ITEM_WAITING && ca->items[i].due_usec < next)
			next = ca->items[i].due_usec;

	if (next == UINT64_MAX) {
		if (ca->timer)
			(void) sd_event_source_set_enabled(ca->timer, SD_EVENT_OFF);
		return;
	}
	if (!ca->timer) {
		r = sd_event_add_time(ca->manager->event, &ca->timer, CLOCK_MONOTONIC, next, 0,
				      on_timer, ca);
		if (r < 0)
			log_warning_errno(r, "Config: cannot arm the retry timer: %m");
		return;
	}
	(void) sd_event_source_set_time(ca->timer, next);
	(void) sd_event_source_set_enabled(ca->timer, SD_EVENT_ONESHOT);
}

static void run_due(ConfigApply *ca, bool all_waiting)
{
	uint64_t now = now_usec();

	/* bindings first: an mdev parent may be a device a binding frees */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < ca->n_items; i++) {
			ConfigItem *it = &ca->items[i];

			if (it->is_mdev != (pass == 1) || it->state != ITEM_WAITING)
				continue;
			if (all_waiting || it->due_usec <= now)
				apply_item(ca, it);
		}
	rearm(ca);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	run_due(userdata, false);
	return 0;
}

void config_apply_retry_waiting(ConfigApply *ca)
{
	run_due(ca, true);
}

void config_apply_counts(ConfigApply *ca, unsigned *ret_applied, unsigned *ret_waiting,
			 unsigned *ret_failed)
{
	unsigned a = 0, w = 0, f = 0;

	for (size_t i = 0; i < ca->n_items; i++)
		switch (ca->items[i].state) {
		case ITEM_APPLIED:
			a++;
			break;
		case ITEM_WAITING:
			w++;
			break;
		case ITEM_FAILED:
		case ITEM_DRIFT: /* not in effect any more, until ApplyConfig */
			f++;
			break;
		case ITEM_MANUAL:
			break;
		}
	*ret_applied = a;
	*ret_waiting = w;
	*ret_failed = f;
}

int config_apply_reload(ConfigApply *ca, vfd_op_error *error)
{
	_cleanup_(vfd_config_freep) vfd_config *c = NULL;
	vfd_op_error e = {};
	ConfigItem *items;
	size_t n;
	unsigned a, w, f;
	int r;

	r = vfd_config_load(ca->manager->ctx, &e, &c);
	if (r < 0) {
		ca->load_error = e;
		if (!vfd_op_error_is_set(&ca->load_error))
			vfd_op_error_set(&ca->load_error, r, VFD_CONFIG_FILE, "cannot load: %s", strerror(-r));
		if (error)
			*error = ca->load_error;
		log_error("Config: %s: %s; keeping the configuration in effect.",
			  ca->load_error.subject, ca->load_error.message);
		return r;
	}
	vfd_op_error_clear(&ca->load_error);

	n = c->n_bindings + c->n_mdevs;
	items = calloc(n + 1, sizeof(*items));
	if (!items)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_bindings; i++)
		items[i] = (ConfigItem) { .is_mdev = false, .index = i };
	for (size_t i = 0; i < c->n_mdevs; i++)
		items[c->n_bindings + i] = (ConfigItem) { .is_mdev = true, .index = i };

	for (size_t i = 0; i < c->n_warnings; i++)
		log_warning("Config: %s", c->warnings[i]);

	free(ca->items);
	vfd_config_free(ca->config);
	ca->items = items;
	ca->n_items = n;
	ca->config = TAKE_PTR(c);

	/* VF counts first: the bindings below may name VFs they create (sriov.h) */
	manager_sriov_apply_config(ca->manager, ca->config->sriov, ca->config->n_sriov);

	/* every item once, bindings first (run_due's order) */
	run_due(ca, true);

	config_apply_counts(ca, &a, &w, &f);
	log_info("Config: %zu item(s): %u applied, %u waiting, %u failed.", n, a, w, f);
	return 0;
}

/* ---- drift ---- */

/*
 * A binding in effect whose device an admin (or another tool) moved to
 * another driver after vfiod applied it: "drift". vfiod does not move it
 * back by itself (the manual move may be deliberate: driverctl's
 * unset-override is one); ApplyConfig does. Unbound is not drift: every
 * rebind passes through it, and the next bind event decides.
 */
static void check_drift(ConfigApply *ca, ConfigItem *it)
{
	const vfd_config_binding *b;
	_cleanup_free_ char *driver = NULL;
	char path[64];
	bool drifted;
	int r;

	if (it->is_mdev || (it->state != ITEM_APPLIED && it->state != ITEM_DRIFT))
		return;
	b = &ca->config->bindings[it->index];
	snprintf(path, sizeof(path), "sys/bus/pci/devices/%s/driver", b->name);
	r = vfd_root_readlink_basename(ca->manager->ctx, path, &driver);
	if (r < 0) {
		it->current_driver[0] = '\0';
		return; /* unbound, or gone (a remove event; an add makes it waiting again) */
	}
	snprintf(it->current_driver, sizeof(it->current_driver), "%s", driver);
	if (b->driver) {
		/* the kernel's name of the configured driver: vfio_pci is on vfio-pci */
		_cleanup_free_ char *want = NULL;

		if (vfd_vfio_driver_name(b->driver, &want) < 0)
			return;
		drifted = strcmp(driver, want) != 0;
	} else
		drifted = vfd_driver_is_vfio(ca->manager->ctx, driver) <= 0;

	if (drifted && it->state == ITEM_APPLIED) {
		item_set(it, ITEM_DRIFT, 0, NULL, NULL);
		snprintf(it->message, sizeof(it->message),
			 "drift: configured for %s, found on %s (moved outside vfiod)",
			 b->driver ? b->driver : "a VFIO driver", driver);
		log_warning("Config: %s (from %s) %s.", b->name, b->origin, it->message);
	} else if (!drifted && it->state == ITEM_DRIFT) {
		item_set(it, ITEM_APPLIED, 0, NULL, NULL);
		snprintf(it->message, sizeof(it->message), "back on %s", driver);
		log_info("Config: %s (from %s) is %s.", b->name, b->origin, it->message);
	}
}

static void check_drift_of(ConfigApply *ca, const char *name)
{
	for (size_t i = 0; ca->config && i < ca->n_items; i++) {
		ConfigItem *it = &ca->items[i];

		if (!it->is_mdev && strcmp(ca->config->bindings[it->index].name, name) == 0)
			check_drift(ca, it);
	}
}

/* ---- status ---- */

static int item_status(ConfigApply *ca, const ConfigItem *it, ConfigStatusFn fn, void *userdata)
{
	ConfigStatus st = {
		.name = item_name(ca, it),
		.state = item_state_names[it->state],
		.attempts = it->attempts,
		.message = it->message,
	};

	if (it->is_mdev) {
		const vfd_config_mdev *d = &ca->config->mdevs[it->index];

		st.kind = CONFIG_STATUS_MDEV;
		st.source = vfd_config_source_to_string(d->source);
		st.origin = d->origin;
		st.parent = d->parent;
		st.type = d->type;
		st.autostart = d->autostart;
	} else {
		const vfd_config_binding *b = &ca->config->bindings[it->index];

		st.kind = CONFIG_STATUS_BINDING;
		st.source = vfd_config_source_to_string(b->source);
		st.origin = b->origin;
		st.unbind_host_members = b->unbind_host_members;
		st.driver = b->driver;
		st.current_driver = it->current_driver;
	}
	return fn(&st, userdata);
}

/* a file-level record: a skipped import, or the failed load of vfiod.json ("ORIGIN: why") */
static int file_status(const char *state, const char *message, ConfigStatusFn fn, void *userdata)
{
	const char *colon = strstr(message, ": ");
	_cleanup_free_ char *origin = strndup(message, colon ? (size_t)(colon - message) : 0);

	if (!origin)
		return -ENOMEM;
	return fn(&(ConfigStatus) {
			.kind = CONFIG_STATUS_FILE,
			.name = origin,
			.origin = origin,
			.state = state,
			.message = colon ? colon + 2 : message,
		  }, userdata);
}

int config_apply_foreach_status(ConfigApply *ca, ConfigStatusFn fn, void *userdata)
{
	int r;

	if (vfd_op_error_is_set(&ca->load_error)) {
		_cleanup_free_ char *s = NULL;

		if (asprintf(&s, "%s: %s", ca->load_error.subject, ca->load_error.message) < 0)
			return -ENOMEM;
		r = file_status("failed", s, fn, userdata);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; ca->config && i < ca->config->n_warnings; i++) {
		r = file_status("ignored", ca->config->warnings[i], fn, userdata);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ca->n_items; i++) {
		/* an event may have been lost (monitor overrun): look again */
		check_drift(ca, &ca->items[i]);
		r = item_status(ca, &ca->items[i], fn, userdata);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- udev ---- */

static int on_udev(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	ConfigApply *ca = userdata;
	bool wake = false;

	/* drain: one readiness may hold several events */
	for (;;) {
		struct udev_device *d = udev_monitor_receive_device(ca->monitor);
		const char *subsystem, *action, *state, *sysname;

		if (!d)
			break;
		subsystem = udev_device_get_subsystem(d);
		action = udev_device_get_action(d);
		state = udev_device_get_property_value(d, "MDEV_STATE");
		sysname = udev_device_get_sysname(d);

		/* a configured device moved to (or back from) another driver */
		if (action && (strcmp(action, "bind") == 0 || strcmp(action, "unbind") == 0) &&
		    subsystem && strcmp(subsystem, "pci") == 0 && sysname)
			check_drift_of(ca, sysname);

		if (state && strcmp(state, "registered") == 0)
			wake = true; /* an mdev parent: autostart mdevs may be due */
		else if (action && strcmp(action, "add") == 0 && subsystem &&
			 (strcmp(subsystem, "pci") == 0 || strcmp(subsystem, "module") == 0))
			wake = true; /* a device to bind, or vfio-pci / a parent driver loaded */
		udev_device_unref(d);
	}

	if (wake) {
		bool any = false;

		for (size_t i = 0; i < ca->n_items; i++)
			any |= ca->items[i].state == ITEM_WAITING;
		if (any) {
			log_debug("Config: udev reported a new device; retrying waiting items.");
			config_apply_retry_waiting(ca);
		}
	}
	return 0;
}

static int watch_udev_events(ConfigApply *ca)
{
	int r;

	ca->udev = udev_new();
	if (!ca->udev)
		return -ENOMEM;
	ca->monitor = udev_monitor_new_from_netlink(ca->udev, "udev");
	if (!ca->monitor)
		return -EIO;
	r = udev_monitor_enable_receiving(ca->monitor);
	if (r < 0)
		return r;
	return sd_event_add_io(ca->manager->event, &ca->io, udev_monitor_get_fd(ca->monitor),
			       EPOLLIN, on_udev, ca);
}

int config_apply_new(Manager *m, bool watch_udev, ConfigApply **ret)
{
	_cleanup_(config_apply_freep) ConfigApply *ca = NULL;
	int r;

	ca = calloc(1, sizeof(*ca));
	if (!ca)
		return -ENOMEM;
	ca->manager = m;

	if (watch_udev) {
		r = watch_udev_events(ca);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(ca);
	return 0;
}

ConfigApply *config_apply_free(ConfigApply *ca)
{
	if (!ca)
		return NULL;
	sd_event_source_disable_unref(ca->timer);
	sd_event_source_disable_unref(ca->io);
	udev_monitor_unref(ca->monitor);
	udev_unref(ca->udev);
	vfd_config_free(ca->config);
	free(ca->items);
	free(ca);
	return NULL;
}

const char *config_apply_binding_driver(ConfigApply *ca, const char *name)
{
	const vfd_config_binding *b;

	if (!ca || !ca->config)
		return NULL;
	b = vfd_config_find_binding(ca->config, name);
	return b ? b->driver : NULL;
}

const vfd_config_mdev *config_apply_find_mdev(ConfigApply *ca, const char *uuid)
{
	for (size_t i = 0; ca && ca->config && i < ca->config->n_mdevs; i++)
		if (strcasecmp(ca->config->mdevs[i].uuid, uuid) == 0)
			return &ca->config->mdevs[i];
	return NULL;
}
