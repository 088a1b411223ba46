/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The configuration methods of org.vfiod1.Manager: ApplyConfig and
 * GetConfigStatus (docs/org.vfiod1.Manager.xml). A vtable of its own on
 * the Manager's path and interface; config-apply.c does the work.
 */
#include <errno.h>
#include <stdlib.h>

#include "config-apply.h"
#include "manager-dbus-config.h"
#include "manager-dbus.h"
#include "polkit.h"

static int append_kv_s(sd_bus_message *m, const char *key, const char *value)
{
	return sd_bus_message_append(m, "{sv}", key, "s", value ? value : "");
}

/* one a{sv} record; the keys in the order docs/org.vfiod1.Manager.xml lists them */
static int append_status(const ConfigStatus *st, void *userdata)
{
	sd_bus_message *m = userdata;
	int r;

	r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
	if (r < 0)
		return r;
	switch (st->kind) {
	case CONFIG_STATUS_FILE:
		r = append_kv_s(m, "kind", "file");
		if (r >= 0)
			r = append_kv_s(m, "name", st->name);
		if (r >= 0)
			r = append_kv_s(m, "origin", st->origin);
		if (r >= 0)
			r = append_kv_s(m, "state", st->state);
		if (r >= 0)
			r = append_kv_s(m, "message", st->message);
		if (r < 0)
			return r;
		return sd_bus_message_close_container(m);
	case CONFIG_STATUS_MDEV:
		r = append_kv_s(m, "kind", "mdev");
		if (r >= 0)
			r = append_kv_s(m, "parent", st->parent);
		if (r >= 0)
			r = append_kv_s(m, "type", st->type);
		if (r >= 0)
			r = sd_bus_message_append(m, "{sv}", "autostart", "b", st->autostart);
		break;
	case CONFIG_STATUS_BINDING:
		r = append_kv_s(m, "kind", "binding");
		if (r >= 0)
			r = sd_bus_message_append(m, "{sv}", "unbind_host_members", "b",
						  st->unbind_host_members);
		if (r >= 0)
			r = append_kv_s(m, "driver", st->driver ? st->driver : "");
		if (r >= 0)
			r = append_kv_s(m, "current_driver", st->current_driver ? st->current_driver : "");
		break;
	}
	if (r >= 0)
		r = append_kv_s(m, "name", st->name);
	if (r >= 0)
		r = append_kv_s(m, "source", st->source);
	if (r >= 0)
		r = append_kv_s(m, "origin", st->origin);
	if (r >= 0)
		r = append_kv_s(m, "state", st->state);
	if (r >= 0)
		r = sd_bus_message_append(m, "{sv}", "attempts", "u", st->attempts);
	if (r >= 0)
		r = append_kv_s(m, "message", st->message);
	if (r < 0)
		return r;
	return sd_bus_message_close_container(m);
}

/* the status as aa{sv}: one record per item, config warning and load failure */
static int reply_status(sd_bus_message *message, ConfigApply *ca)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_message_new_method_return(message, &reply);
	if (r < 0)
		return r;
	r = sd_bus_message_open_container(reply, SD_BUS_TYPE_ARRAY, "a{sv}");
	if (r >= 0)
		r = config_apply_foreach_status(ca, append_status, reply);
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r < 0)
		return r;
	return sd_bus_send(NULL, reply, NULL);
}

static int run_apply_config(sd_bus_message *message, void *request, sd_bus_error *error)
{
	Manager *m = request;
	vfd_op_error e = {};
	int r;

	r = config_apply_reload(m->config, &e);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		/* the items in effect stay; the caller sees why nothing changed */
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Configuration not applied: %s: %s", e.subject, e.message);
	return reply_status(message, m->config);
}

static void no_free(void *p)
{
}

static int method_apply_config(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	Manager *m = userdata;

	if (!m->config)
		return sd_bus_error_set(error, SD_BUS_ERROR_FAILED, "Configuration handling is not running");
	/* binding devices and creating mdevs: what Bind and CreateMdev need */
	return polkit_authorize(message, POLKIT_ACTION_APPLY_CONFIG, run_apply_config, m, no_free, error);
}

static int method_get_config_status(sd_bus_message *message, void *userdata, sd_bus_error *error)
{
	Manager *m = userdata;

	if (!m->config)
		return sd_bus_error_set(error, SD_BUS_ERROR_FAILED, "Configuration handling is not running");
	return reply_status(message, m->config);
}

static const sd_bus_vtable manager_config_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD_WITH_ARGS("ApplyConfig",
				SD_BUS_NO_ARGS,
				SD_BUS_RESULT("aa{sv}", items),
				method_apply_config, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetConfigStatus",
				SD_BUS_NO_ARGS,
				SD_BUS_RESULT("aa{sv}", items),
				method_get_config_status, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END
};

int manager_dbus_config_register(sd_bus *bus, Manager *m)
{
	return sd_bus_add_object_vtable(bus, NULL, VFD_BUS_PATH, VFD_BUS_INTERFACE,
					manager_config_vtable, m);
}
