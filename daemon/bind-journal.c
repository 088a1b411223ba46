/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The binding journal and its recovery at startup; see bind-journal.h. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "bind-journal.h"
#include "journal-file.h"
#include "log.h"

#define BIND_JOURNAL_VERSION 1

/* the one function the claim was asked for: it names the file */
static const char *record_device(const vfd_bind_record *rec)
{
	for (size_t i = 0; i < rec->n_members; i++)
		if (rec->members[i].requested)
			return rec->members[i].name;
	return NULL;
}

static int record_to_json(const vfd_bind_record *rec, const char *state, json_object **ret)
{
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();
	json_object *claim = NULL, *v;
	const char *device = record_device(rec);
	int r;

	if (!o)
		return -ENOMEM;
	if (!device)
		return -EINVAL;
	r = vfd_bind_record_to_json(rec, &claim);
	if (r < 0)
		return r;
	if (json_object_object_add(o, "claim", claim) < 0) {
		json_object_put(claim);
		return -ENOMEM;
	}
	v = json_object_new_int(BIND_JOURNAL_VERSION);
	if (!v || json_object_object_add(o, "version", v) < 0)
		goto oom;
	v = json_object_new_string(device);
	if (!v || json_object_object_add(o, "device", v) < 0)
		goto oom;
	v = json_object_new_string(state);
	if (!v || json_object_object_add(o, "state", v) < 0)
		goto oom;
	*ret = TAKE_PTR(o);
	return 0;
oom:
	json_object_put(v);
	return -ENOMEM;
}

static int save(Manager *m, const vfd_bind_record *rec, const char *state, json_object **ret)
{
	_cleanup_(json_object_putp) json_object *o = NULL;
	int r;

	if (!m->bindings_dir)
		return 0;
	r = record_to_json(rec, state, &o);
	if (r >= 0)
		r = journal_file_write(m->bindings_dir, record_device(rec), o);
	if (r < 0)
		return log_error_errno(r, "Cannot journal the claim of %s in %s: %m",
				       record_device(rec) ? record_device(rec) : "?", m->bindings_dir);
	if (ret)
		*ret = TAKE_PTR(o);
	return 0;
}

int bind_journal_save_held(Manager *m, const vfd_bind_record *rec)
{
	return save(m, rec, "held", NULL);
}

void bind_journal_remove(Manager *m, const vfd_bind_record *rec)
{
	const char *device = record_device(rec);
	int r;

	if (!m->bindings_dir || !device)
		return;
	r = journal_file_remove(m->bindings_dir, device);
	if (r < 0)
		log_warning_errno(r, "Cannot remove the journal of the claim of %s in %s: %m", device,
				  m->bindings_dir);
}

int bind_journal_planned(const vfd_bind_record *plan, void *userdata)
{
	_cleanup_(json_object_putp) json_object *o = NULL;
	BindTxn *t = userdata;
	json_object *claim;
	int r;

	r = save(t->manager, plan, "planned", &o);
	if (r < 0)
		return r;
	/* kept as journaled, for bind_txn_failed(): the library's plan is its own */
	t->plan = vfd_bind_record_free(t->plan);
	if (o && json_object_object_get_ex(o, "claim", &claim)) {
		r = vfd_bind_record_from_json(claim, &t->plan);
		if (r < 0) {
			bind_journal_remove(t->manager, plan);
			return r;
		}
	}
	journal_crash_point("bind-planned");
	return 0;
}

void bind_txn_failed(BindTxn *t)
{
	vfd_op_error error = {};
	int r;

	if (!t->plan)
		return; /* refused before planning: nothing changed, nothing journaled */
	r = vfd_bind_release(t->manager->ctx, t->plan, &error);
	if (r >= 0) {
		bind_journal_remove(t->manager, t->plan);
		return;
	}
	log_error("The failed claim of %s could not be undone completely: %s%s%s; kept as an "
		  "ad-hoc claim, Unbind retries.", record_device(t->plan), error.subject,
		  *error.subject ? ": " : "", error.message);
	(void) save(t->manager, t->plan, "planned", NULL);
	if (manager_adopt_binding(t->manager, t->plan) >= 0)
		t->plan = NULL;
}

void bind_txn_done(BindTxn *t)
{
	t->plan = vfd_bind_record_free(t->plan);
}

/* ---- recovery ---- */

typedef enum JournalState { STATE_PLANNED, STATE_HELD } JournalState;

/* everything a file says, checked; the record is the caller's on success */
static int parse(json_object *o, const char *stem, JournalState *ret_state, vfd_bind_record **ret)
{
	_cleanup_(vfd_bind_record_freep) vfd_bind_record *rec = NULL;
	char canonical[VFD_PCI_ADDRESS_STRLEN];
	const char *device, *state;
	json_object *claim;
	vfd_pci_address a;
	uint64_t version;
	size_t requested = 0;

	if (journal_get_u64(o, "version", &version) < 0 || version != BIND_JOURNAL_VERSION)
		return -EPROTONOSUPPORT;
	if (journal_get_string(o, "device", &device) < 0 || vfd_pci_address_parse(device, &a) < 0)
		return -EBADMSG;
	vfd_pci_address_format(&a, canonical);
	/* canonical, and the file's own name: one file per claim */
	if (strcmp(canonical, device) != 0 || strcmp(device, stem) != 0)
		return -EBADMSG;
	if (journal_get_string(o, "state", &state) < 0)
		return -EBADMSG;
	if (strcmp(state, "planned") == 0)
		*ret_state = STATE_PLANNED;
	else if (strcmp(state, "held") == 0)
		*ret_state = STATE_HELD;
	else
		return -EBADMSG;
	/* the library checks every member: canonical names, driver names fit for sysfs */
	if (journal_get(o, "claim", json_type_object, &claim) < 0 ||
	    vfd_bind_record_from_json(claim, &rec) < 0)
		return -EBADMSG;
	for (size_t i = 0; i < rec->n_members; i++) {
		for (size_t k = 0; k < i; k++)
			if (strcmp(rec->members[k].name, rec->members[i].name) == 0)
				return -EBADMSG;
		if (rec->members[i].requested) {
			requested++;
			if (strcmp(rec->members[i].name, device) != 0)
				return -EBADMSG;
		}
	}
	/* an ad-hoc claim asks for one function (manager_bind()) */
	if (requested != 1)
		return -EBADMSG;
	*ret = TAKE_PTR(rec);
	return 0;
}

static const char *member_owned_elsewhere(Manager *m, const vfd_bind_record *rec)
{
	for (size_t i = 0; i < rec->n_members; i++)
		if (manager_device_owned_elsewhere(m, rec->members[i].name, NULL) != 0)
			return rec->members[i].name;
	return NULL;
}

static void recover_one(Manager *m, JournalState state, vfd_bind_record *rec)
{
	_cleanup_(vfd_bind_record_freep) vfd_bind_record *owned = rec;
	const char *device = record_device(rec), *taken;
	vfd_op_error error = {};
	int r, guard = -1;

	taken = member_owned_elsewhere(m, rec);
	if (taken) {
		log_error("Binding journal %s/%s.json names %s, which vfiod holds already; left alone.",
			  m->bindings_dir, device, taken);
		return;
	}

	if (state == STATE_HELD) {
		r = manager_adopt_binding(m, rec);
		if (r < 0) {
			log_error_errno(r, "Cannot hold the claim of %s again: %m", device);
			return;
		}
		TAKE_PTR(owned);
		log_info("Claim of %s held again after vfiod's restart; Unbind restores its group.",
			 device);
		return;
	}

	/* nobody may hold the group while it is undone: the unbind would wait in the kernel */
	r = manager_adhoc_prove_free(m, rec, &error, &guard);
	if (r >= 0) {
		r = vfd_bind_release(m->ctx, rec, &error);
		if (guard >= 0)
			close(guard);
	}
	if (r >= 0) {
		log_info("The claim of %s was under way at vfiod's exit: undone.", device);
		bind_journal_remove(m, rec);
		return;
	}
	log_error("The claim of %s was under way at vfiod's exit; undoing it failed: %s%s%s; "
		  "kept as an ad-hoc claim, Unbind retries.", device, error.subject,
		  *error.subject ? ": " : "", error.message);
	(void) save(m, rec, "planned", NULL);
	if (manager_adopt_binding(m, rec) >= 0)
		TAKE_PTR(owned);
}

static int recover_file(const char *dir, const char *filename, const char *stem, json_object *o,
			void *userdata)
{
	vfd_bind_record *rec = NULL;
	JournalState state = STATE_PLANNED;
	int r;

	r = parse(o, stem, &state, &rec);
	if (r < 0)
		return r;
	recover_one(userdata, state, rec);
	return 0;
}

int manager_recover_bindings(Manager *m)
{
	return journal_file_foreach(m->bindings_dir, "Binding journal", recover_file, m);
}
