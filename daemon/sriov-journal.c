/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The SR-IOV journal; see sriov-journal.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal-file.h"
#include "log.h"
#include "sriov-journal.h"

#define SRIOV_JOURNAL_VERSION 1
/* the kernel's sriov_totalvfs is a u16 */
#define SRIOV_MAX_VFS 65535

char *sriov_journal_dir(Manager *m)
{
	char *dir;

	if (asprintf(&dir, "%s/run/vfiod/sriov", m->root ? m->root : "") < 0)
		return NULL;
	return dir;
}

static int add(json_object *o, const char *key, json_object *v)
{
	if (!v || json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int to_json(const SriovJournal *j, json_object **ret)
{
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();
	json_object *orig;
	int r;

	if (!o)
		return -ENOMEM;
	orig = json_object_new_object();
	if ((r = add(o, "version", json_object_new_int(SRIOV_JOURNAL_VERSION))) < 0 ||
	    (r = add(o, "device", json_object_new_string(j->device))) < 0 ||
	    (r = add(o, "state", json_object_new_string(j->changing ? "changing" : "set"))) < 0 ||
	    (r = add(o, "source", json_object_new_string(j->source == SRIOV_SOURCE_CONFIG ? "config" : "bus"))) < 0 ||
	    (r = add(o, "num_vfs", json_object_new_int64(j->num_vfs))) < 0 ||
	    (r = add(o, "original", orig)) < 0)
		return r;
	if ((r = add(orig, "num_vfs", json_object_new_int64(j->original.num_vfs))) < 0 ||
	    (r = add(orig, "drivers_autoprobe", json_object_new_boolean(j->original.drivers_autoprobe))) < 0)
		return r;
	*ret = TAKE_PTR(o);
	return 0;
}

/* every field checked: the file decides what vfiod writes to a PF */
static int parse(json_object *o, const char *stem, SriovJournal *ret)
{
	SriovJournal j = {};
	const char *device, *state, *source;
	json_object *orig;
	vfd_pci_address a;
	uint64_t version, n;

	if (journal_get_u64(o, "version", &version) < 0 || version != SRIOV_JOURNAL_VERSION)
		return -EPROTONOSUPPORT;
	if (journal_get_string(o, "device", &device) < 0 || vfd_pci_address_parse(device, &a) < 0)
		return -EBADMSG;
	vfd_pci_address_format(&a, j.device);
	if (strcmp(j.device, device) != 0 || strcmp(device, stem) != 0)
		return -EBADMSG;
	if (journal_get_string(o, "state", &state) < 0)
		return -EBADMSG;
	if (strcmp(state, "changing") == 0)
		j.changing = true;
	else if (strcmp(state, "set") != 0)
		return -EBADMSG;
	if (journal_get_string(o, "source", &source) < 0)
		return -EBADMSG;
	if (strcmp(source, "config") == 0)
		j.source = SRIOV_SOURCE_CONFIG;
	else if (strcmp(source, "bus") != 0)
		return -EBADMSG;
	if (journal_get_u64(o, "num_vfs", &n) < 0 || n > SRIOV_MAX_VFS)
		return -EBADMSG;
	j.num_vfs = (unsigned)n;
	if (journal_get(o, "original", json_type_object, &orig) < 0 ||
	    journal_get_u64(orig, "num_vfs", &n) < 0 || n > SRIOV_MAX_VFS ||
	    journal_get_bool(orig, "drivers_autoprobe", &j.original.drivers_autoprobe) < 0)
		return -EBADMSG;
	j.original.num_vfs = (unsigned)n;
	*ret = j;
	return 0;
}

int sriov_journal_load(Manager *m, const char *device, SriovJournal *ret)
{
	_cleanup_free_ char *dir = sriov_journal_dir(m);
	_cleanup_(json_object_putp) json_object *o = NULL;
	_cleanup_close_ int dfd = -1;
	char filename[VFD_PCI_ADDRESS_STRLEN + 8];
	int r;

	if (!dir)
		return -ENOMEM;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? 0 : -errno;
	snprintf(filename, sizeof(filename), "%s.json", device);
	r = journal_file_read(dfd, filename, &o);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = parse(o, device, ret);
	return r < 0 ? r : 1;
}

int sriov_journal_save(Manager *m, const SriovJournal *j)
{
	_cleanup_free_ char *dir = sriov_journal_dir(m);
	_cleanup_(json_object_putp) json_object *o = NULL;
	int r;

	if (!dir)
		return -ENOMEM;
	r = to_json(j, &o);
	if (r >= 0)
		r = journal_file_write(dir, j->device, o);
	if (r < 0)
		return log_error_errno(r, "Cannot journal the VFs of %s in %s: %m", j->device, dir);
	return 0;
}

void sriov_journal_remove(Manager *m, const char *device)
{
	_cleanup_free_ char *dir = sriov_journal_dir(m);
	int r;

	if (!dir)
		return;
	r = journal_file_remove(dir, device);
	if (r < 0)
		log_warning_errno(r, "Cannot remove the SR-IOV journal of %s in %s: %m", device, dir);
}

typedef struct ForeachCtx {
	Manager *manager;
	SriovJournalFn fn;
	void *userdata;
} ForeachCtx;

static int foreach_file(const char *dir, const char *filename, const char *stem, json_object *o,
			void *userdata)
{
	ForeachCtx *c = userdata;
	SriovJournal j;
	int r;

	r = parse(o, stem, &j);
	if (r < 0)
		return r;
	return c->fn(c->manager, &j, c->userdata);
}

int sriov_journal_foreach(Manager *m, SriovJournalFn fn, void *userdata)
{
	_cleanup_free_ char *dir = sriov_journal_dir(m);
	ForeachCtx c = { .manager = m, .fn = fn, .userdata = userdata };

	if (!dir)
		return -ENOMEM;
	return journal_file_foreach(dir, "SR-IOV journal", foreach_file, &c);
}
