/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fake-polkit ADDRESS [allow=UID[:ACTION]|deny=UID[:ACTION]|fail=UID[:ACTION]]...
 *
 * A stand-in for polkitd on a bus without it (a private test bus, or the
 * lab guest's system bus): owns org.freedesktop.PolicyKit1 and answers
 * CheckAuthorization by the uid of the subject's bus name and the action,
 * with the first rule that matches: allow "authorized", deny "not
 * authorized", fail an error reply; a rule without ACTION matches every
 * action. A question no rule matches gets no answer at all, so the caller
 * waits for its own timeout (a slow or stuck polkit).
 *
 * Prints "ready" once it owns the name, then one line "UID ACTION" per
 * query as it arrives. Runs until killed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

enum { HOLD, ALLOW, DENY, FAIL };

static struct {
	unsigned uid;
	const char *action; /* NULL: any */
	int answer;
} rules[32];
static size_t n_rules;

static int answer_for(unsigned uid, const char *action)
{
	for (size_t i = 0; i < n_rules; i++)
		if (rules[i].uid == uid && (!rules[i].action || strcmp(rules[i].action, action) == 0))
			return rules[i].answer;
	return HOLD;
}

/* the bus name of a ("system-bus-name", {"name": <s>}) subject */
static int read_subject(sd_bus_message *m, const char **ret_name)
{
	const char *kind, *key, *name = NULL;
	int r;

	r = sd_bus_message_enter_container(m, 'r', "sa{sv}");
	if (r >= 0)
		r = sd_bus_message_read(m, "s", &kind);
	if (r >= 0)
		r = sd_bus_message_enter_container(m, 'a', "{sv}");
	while (r >= 0) {
		r = sd_bus_message_enter_container(m, 'e', "sv");
		if (r <= 0)
			break;
		r = sd_bus_message_read(m, "s", &key);
		if (r >= 0)
			r = strcmp(key, "name") == 0 ? sd_bus_message_read(m, "v", "s", &name)
						     : sd_bus_message_skip(m, "v");
		if (r >= 0)
			r = sd_bus_message_exit_container(m);
	}
	if (r >= 0)
		r = sd_bus_message_exit_container(m);
	if (r >= 0)
		r = sd_bus_message_exit_container(m);
	if (r < 0)
		return r;
	if (!name)
		return -EBADMSG;
	*ret_name = name;
	return 0;
}

static int method_check(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	sd_bus_message *reply = NULL;
	const char *name, *action;
	uint32_t uid;
	int r;

	r = read_subject(m, &name);
	if (r >= 0)
		r = sd_bus_message_read(m, "s", &action);
	if (r < 0)
		return r;

	r = sd_bus_call_method(sd_bus_message_get_bus(m), "org.freedesktop.DBus",
			       "/org/freedesktop/DBus", "org.freedesktop.DBus",
			       "GetConnectionUnixUser", error, &reply, "s", name);
	if (r >= 0)
		r = sd_bus_message_read(reply, "u", &uid);
	sd_bus_message_unref(reply);
	if (r < 0)
		return r;

	printf("%u %s\n", (unsigned) uid, action);
	fflush(stdout);

	switch (answer_for(uid, action)) {
	case ALLOW:
		return sd_bus_reply_method_return(m, "(bba{ss})", 1, 0, 0);
	case DENY:
		return sd_bus_reply_method_return(m, "(bba{ss})", 0, 0, 0);
	case FAIL:
		return sd_bus_error_set(error, "org.freedesktop.PolicyKit1.Error.Failed",
					"fake-polkit fails this uid");
	default:
		return 1; /* no reply: the caller times out */
	}
}

static const sd_bus_vtable authority_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("CheckAuthorization", "(sa{sv})sa{ss}us", "(bba{ss})", method_check,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END
};

int main(int argc, char *argv[])
{
	sd_bus *bus = NULL;
	int r;

	if (argc < 2) {
		fprintf(stderr, "usage: fake-polkit ADDRESS [allow=UID[:ACTION]|deny=UID[:ACTION]|"
			"fail=UID[:ACTION]]...\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		const char *colon = strchr(argv[i], ':');
		unsigned uid;
		char kind[8];

		if (n_rules == sizeof(rules) / sizeof(rules[0]) ||
		    sscanf(argv[i], "%7[a-z]=%u", kind, &uid) != 2 || (colon && !colon[1])) {
			fprintf(stderr, "fake-polkit: bad rule '%s'\n", argv[i]);
			return 2;
		}
		rules[n_rules].uid = uid;
		rules[n_rules].action = colon ? colon + 1 : NULL;
		rules[n_rules].answer = strcmp(kind, "allow") == 0 ? ALLOW :
					strcmp(kind, "deny") == 0  ? DENY :
					strcmp(kind, "fail") == 0  ? FAIL : -1;
		if (rules[n_rules++].answer < 0) {
			fprintf(stderr, "fake-polkit: bad rule '%s'\n", argv[i]);
			return 2;
		}
	}

	r = sd_bus_new(&bus);
	if (r >= 0)
		r = sd_bus_set_address(bus, argv[1]);
	if (r >= 0)
		r = sd_bus_set_bus_client(bus, 1);
	if (r >= 0)
		r = sd_bus_start(bus);
	if (r >= 0)
		r = sd_bus_add_object_vtable(bus, NULL, "/org/freedesktop/PolicyKit1/Authority",
					     "org.freedesktop.PolicyKit1.Authority", authority_vtable, NULL);
	if (r >= 0)
		r = sd_bus_request_name(bus, "org.freedesktop.PolicyKit1", 0);
	if (r < 0) {
		fprintf(stderr, "fake-polkit: cannot serve on %s: %s\n", argv[1], strerror(-r));
		return 2;
	}
	printf("ready\n");
	fflush(stdout);

	for (;;) {
		r = sd_bus_process(bus, NULL);
		if (r < 0) {
			fprintf(stderr, "fake-polkit: %s\n", strerror(-r));
			return 1;
		}
		if (r > 0)
			continue;
		r = sd_bus_wait(bus, UINT64_MAX);
		if (r < 0 && r != -EINTR) {
			fprintf(stderr, "fake-polkit: %s\n", strerror(-r));
			return 1;
		}
	}
}
