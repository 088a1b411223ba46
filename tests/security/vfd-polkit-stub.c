/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfd-polkit-stub: a stand-in polkit authority for tests on a bus without
 * polkitd. It owns org.freedesktop.PolicyKit1 and answers
 * CheckAuthorization from its command line:
 *
 *   vfd-polkit-stub ACTION=UID[,UID...] ...
 *
 * A subject (a system-bus-name, whose uid it asks the bus for) is
 * authorized for ACTION when its uid is listed; every other question is
 * answered "not authorized". Each answer is printed as
 * "ACTION uid=UID yes|no", so a test can tell which action vfiod asked.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

static char **rules; /* "ACTION=UID,UID" */
static int n_rules;

static int allowed(const char *action, uid_t uid)
{
	size_t len = strlen(action);

	for (int i = 0; i < n_rules; i++) {
		const char *list;
		char *copy, *tok, *save = NULL;
		int yes = 0;

		if (strncmp(rules[i], action, len) != 0 || rules[i][len] != '=')
			continue;
		list = rules[i] + len + 1;
		copy = strdup(list);
		if (!copy)
			return 0;
		for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			if ((uid_t) strtoul(tok, NULL, 10) == uid)
				yes = 1;
		free(copy);
		if (yes)
			return 1;
	}
	return 0;
}

/* the system-bus-name of a subject (sa{sv}); NULL for any other kind */
static int read_subject(sd_bus_message *m, char **ret_name)
{
	const char *kind, *key, *name;
	int r;

	*ret_name = NULL;
	r = sd_bus_message_enter_container(m, SD_BUS_TYPE_STRUCT, "sa{sv}");
	if (r < 0)
		return r;
	r = sd_bus_message_read(m, "s", &kind);
	if (r < 0)
		return r;
	r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
		r = sd_bus_message_read(m, "s", &key);
		if (r < 0)
			return r;
		if (strcmp(kind, "system-bus-name") == 0 && strcmp(key, "name") == 0) {
			r = sd_bus_message_read(m, "v", "s", &name);
			if (r < 0)
				return r;
			free(*ret_name);
			*ret_name = strdup(name);
		} else {
			r = sd_bus_message_skip(m, "v");
			if (r < 0)
				return r;
		}
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	r = sd_bus_message_exit_container(m);
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static int method_check(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	sd_bus_creds *creds = NULL;
	char *name = NULL;
	const char *action;
	uid_t uid = (uid_t) -1;
	int r, yes = 0;

	r = read_subject(m, &name);
	if (r >= 0)
		r = sd_bus_message_read(m, "s", &action);
	if (r < 0) {
		free(name);
		return r;
	}
	if (!name)
		fprintf(stderr, "vfd-polkit-stub: a subject that is no system-bus-name\n");
	else if ((r = sd_bus_get_name_creds(sd_bus_message_get_bus(m), name, SD_BUS_CREDS_UID | SD_BUS_CREDS_EUID, &creds)) < 0 ||
		 ((r = sd_bus_creds_get_euid(creds, &uid)) < 0 && (r = sd_bus_creds_get_uid(creds, &uid)) < 0))
		fprintf(stderr, "vfd-polkit-stub: no uid of %s: %s\n", name, strerror(-r));
	else
		yes = allowed(action, uid);
	sd_bus_creds_unref(creds);
	free(name);
	printf("%s uid=%d %s\n", action, (int) uid, yes ? "yes" : "no");
	fflush(stdout);
	return sd_bus_reply_method_return(m, "(bba{ss})", yes, 0, 0);
}

static const sd_bus_vtable authority_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("CheckAuthorization", "(sa{sv})sa{ss}us", "(bba{ss})", method_check,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END
};

int main(int argc, char *argv[])
{
	sd_event *e = NULL;
	sd_bus *bus = NULL;
	int r;

	rules = argv + 1;
	n_rules = argc - 1;

	r = sd_event_default(&e);
	if (r >= 0)
		r = sd_bus_open_system(&bus);
	if (r >= 0)
		r = sd_bus_add_object_vtable(bus, NULL, "/org/freedesktop/PolicyKit1/Authority",
					     "org.freedesktop.PolicyKit1.Authority", authority_vtable, NULL);
	if (r >= 0)
		r = sd_bus_request_name(bus, "org.freedesktop.PolicyKit1", 0);
	if (r >= 0)
		r = sd_bus_attach_event(bus, e, 0);
	if (r < 0) {
		fprintf(stderr, "vfd-polkit-stub: %s\n", strerror(-r));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	r = sd_event_loop(e);
	sd_bus_unref(bus);
	sd_event_unref(e);
	return r < 0 ? 1 : 0;
}
