/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Applying the persistent configuration (lib/include/vfiod/config.h): the
 * bindings and the autostart mdevs, at startup before READY=1 and again on
 * ApplyConfig. Each entry is an item with a state of its own:
 *
 *   applied  bound / created (or found so already)
 *   waiting  not possible yet: the device, its mdev parent or vfio-pci is
 *            missing, or the type has no free instance. Retried with
 *            exponential backoff (1 s doubling to 60 s, CONFIG_MAX_TIMER_ATTEMPTS
 *            timer attempts), and at once whenever udev reports a PCI
 *            device, a module or an mdev parent (MDEV_STATE=registered)
 *            appearing, however many attempts were made.
 *   failed   refused for a reason waiting will not fix (a busy group, a
 *            bridge, a kernel error); retried only on ApplyConfig
 *   manual   an mdev definition without autostart: not created at boot
 *   drift    a binding that was applied, whose device was then found on
 *            another driver (moved by hand): noticed on the device's
 *            bind/unbind uevents and at every status read, logged, left
 *            there (applied again once the device is back on its driver)
 *
 * Items are never undone: a binding dropped from the configuration stays
 * bound until Unbind, like driverctl's unset-override without a reprobe.
 */
#pragma once

#include <stdint.h>

#include "vfiod/config.h"

typedef struct Manager Manager;
typedef struct ConfigApply ConfigApply;

#define CONFIG_MAX_TIMER_ATTEMPTS 10
#define CONFIG_BACKOFF_MAX_USEC (60ULL * 1000 * 1000)

/* watch_udev: follow device events (false with a fixture root, as the inventory monitor) */
int config_apply_new(Manager *m, bool watch_udev, ConfigApply **ret);
ConfigApply *config_apply_free(ConfigApply *ca);
VFD_DEFINE_CLEANUP(ConfigApply, config_apply_free)

/*
 * Loads the configuration and applies every item once, now. On a load
 * failure (-EINVAL: a malformed vfiod.json; error says where) the items
 * in effect stay as they were.
 */
int config_apply_reload(ConfigApply *ca, vfd_op_error *error);

/* Tries the waiting items again now (udev told something appeared). */
void config_apply_retry_waiting(ConfigApply *ca);

/* one record of the status (GetConfigStatus, docs/org.vfiod1.Manager.xml) */
typedef enum ConfigStatusKind {
	CONFIG_STATUS_FILE,    /* a load failure or a skipped import: name, origin, state, message */
	CONFIG_STATUS_BINDING,
	CONFIG_STATUS_MDEV,
} ConfigStatusKind;

typedef struct ConfigStatus {
	ConfigStatusKind kind;
	const char *name;
	const char *source;   /* items: "vfiod.json", "mdevctl", "driverctl" */
	const char *origin;   /* the file (and entry) it came from */
	const char *state;    /* items: applied, waiting, failed, manual; files: failed, ignored */
	unsigned attempts;    /* items */
	const char *message;  /* never NULL */
	bool unbind_host_members;            /* bindings */
	const char *driver;                  /* bindings: configured, NULL: by alias */
	const char *current_driver;          /* bindings: seen last, "" none or unknown */
	const char *parent, *type;           /* mdevs */
	bool autostart;                      /* mdevs */
} ConfigStatus;

typedef int (*ConfigStatusFn)(const ConfigStatus *status, void *userdata);

/*
 * Calls fn once per record: a load failure first, then each config
 * warning, then every item. Stops at fn's first negative return.
 */
int config_apply_foreach_status(ConfigApply *ca, ConfigStatusFn fn, void *userdata);

/*
 * The VFIO driver vfiod.json names for the PCI function name ("driver" of
 * its binding item), NULL when it names none: every claim of the function,
 * a VM's too, binds it to that driver.
 */
const char *config_apply_binding_driver(ConfigApply *ca, const char *name);

/* the mdev definition with that UUID (any case), NULL when there is none */
const vfd_config_mdev *config_apply_find_mdev(ConfigApply *ca, const char *uuid);

/* counts by state, for the log line and tests */
void config_apply_counts(ConfigApply *ca, unsigned *ret_applied, unsigned *ret_waiting,
			 unsigned *ret_failed);
