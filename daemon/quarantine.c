/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The quarantine of functions whose reset failed (quarantine.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "journal-file.h"
#include "log.h"
#include "quarantine.h"

struct Quarantine {
	char *dir;
	QuarantineEntry *entries; /* sorted by address */
	size_t n;
};

static uint64_t now_realtime_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* 1 when s is a canonical PCI address ("0000:01:00.0", lower case) */
static bool is_canonical_address(const char *s)
{
	vfd_pci_address a;
	char canon[VFD_PCI_ADDRESS_STRLEN];

	if (vfd_pci_address_parse(s, &a) < 0)
		return false;
	vfd_pci_address_format(&a, canon);
	return strcmp(canon, s) == 0;
}

Quarantine *quarantine_free(Quarantine *q)
{
	if (!q)
		return NULL;
	free(q->dir);
	free(q->entries);
	free(q);
	return NULL;
}

static QuarantineEntry *find(const Quarantine *q, const char *device)
{
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->entries[i].device, device) == 0)
			return &q->entries[i];
	return NULL;
}

const QuarantineEntry *quarantine_find(const Quarantine *q, const char *device)
{
	return q && device ? find(q, device) : NULL;
}

size_t quarantine_count(const Quarantine *q)
{
	return q ? q->n : 0;
}

const QuarantineEntry *quarantine_get(const Quarantine *q, size_t i)
{
	return q && i < q->n ? &q->entries[i] : NULL;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const QuarantineEntry *) a)->device, ((const QuarantineEntry *) b)->device);
}

/* in memory, sorted; an entry of the same device is replaced */
static int remember(Quarantine *q, const QuarantineEntry *e)
{
	QuarantineEntry *old = find(q, e->device), *n;

	if (old) {
		*old = *e;
		return 0;
	}
	n = realloc(q->entries, (q->n + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	q->entries = n;
	q->entries[q->n++] = *e;
	qsort(q->entries, q->n, sizeof(*q->entries), entry_cmp);
	return 0;
}

static int entry_write(const char *dir, const QuarantineEntry *e)
{
	_cleanup_(json_object_putp) json_object *o = NULL;

	o = json_object_new_object();
	if (!o ||
	    json_object_object_add(o, "device", json_object_new_string(e->device)) < 0 ||
	    json_object_object_add(o, "vm", json_object_new_string(e->vm)) < 0 ||
	    json_object_object_add(o, "reason", json_object_new_string(e->reason)) < 0 ||
	    json_object_object_add(o, "since_usec", json_object_new_uint64(e->since_usec)) < 0)
		return -ENOMEM;
	return journal_file_write(dir, e->device, o);
}

static int entry_save(const Quarantine *q, const QuarantineEntry *e)
{
	return q->dir ? entry_write(q->dir, e) : 0;
}

static void entry_fill(QuarantineEntry *e, const char *device, const char *vm, const char *reason,
		       uint64_t since_usec)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->device, sizeof(e->device), "%s", device);
	snprintf(e->vm, sizeof(e->vm), "%s", vm ? vm : "");
	snprintf(e->reason, sizeof(e->reason), "%s", reason && reason[0] ? reason : "no reason recorded");
	e->since_usec = since_usec;
}

/* the fields of a record, checked; -EBADMSG for anything unexpected */
static int entry_from_json(json_object *o, const char *stem, QuarantineEntry *ret)
{
	const char *device, *vm, *reason;
	uint64_t since;

	if (journal_get_string(o, "device", &device) < 0 || strcmp(device, stem) != 0 ||
	    journal_get_string(o, "vm", &vm) < 0 || strlen(vm) >= QUARANTINE_VM_MAX ||
	    journal_get_string(o, "reason", &reason) < 0 || strlen(reason) >= QUARANTINE_REASON_MAX ||
	    journal_get_u64(o, "since_usec", &since) < 0)
		return -EBADMSG;
	entry_fill(ret, device, vm, reason, since);
	return 0;
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static int load_dir(Quarantine *q)
{
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;

	d = opendir(q->dir);
	if (!d)
		return errno == ENOENT ? 0 : log_error_errno(errno, "Cannot read the quarantine %s: %m",
							     q->dir);
	while ((de = readdir(d))) {
		_cleanup_(json_object_putp) json_object *o = NULL;
		QuarantineEntry e;
		char stem[256];
		int r;

		if (!journal_file_stem(de->d_name, stem) || !is_canonical_address(stem))
			continue;
		r = journal_file_read(dirfd(d), de->d_name, &o);
		if (r >= 0)
			r = entry_from_json(o, stem, &e);
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			/* fail closed: the function stays out of every VM */
			log_error("Quarantine record %s/%s is unreadable; %s stays quarantined and "
				  "the record is set aside as %s.corrupt.", q->dir, de->d_name, stem,
				  de->d_name);
			journal_file_set_aside(dirfd(d), de->d_name);
			entry_fill(&e, stem, "", "its quarantine record was unreadable (set aside as "
				   ".corrupt); clear it once the device is known good", now_realtime_usec());
			r = entry_save(q, &e);
			if (r < 0)
				log_error_errno(r, "Cannot write a new quarantine record of %s: %m", stem);
		}
		r = remember(q, &e);
		if (r < 0)
			return r;
	}
	return 0;
}

int quarantine_load(const char *dir, Quarantine **ret)
{
	_cleanup_(quarantine_freep) Quarantine *q = NULL;
	int r;

	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	if (dir) {
		q->dir = strdup(dir);
		if (!q->dir)
			return -ENOMEM;
		r = load_dir(q);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(q);
	return 0;
}

int quarantine_add(Quarantine *q, const char *device, const char *vm, const char *reason)
{
	QuarantineEntry e;
	int r, saved;

	if (!q || !device || !is_canonical_address(device))
		return -EINVAL;
	entry_fill(&e, device, vm, reason, now_realtime_usec());
	saved = entry_save(q, &e);
	r = remember(q, &e);
	if (r < 0)
		return r;
	return saved < 0 ? saved : 0;
}

const char *quarantine_dir(const Quarantine *q)
{
	return q ? q->dir : NULL;
}

int quarantine_record_write(const char *dir, const char *device, const char *vm, const char *reason)
{
	QuarantineEntry e;

	if (!dir || !device || !is_canonical_address(device))
		return -EINVAL;
	entry_fill(&e, device, vm, reason, now_realtime_usec());
	return entry_write(dir, &e);
}

int quarantine_clear(Quarantine *q, const char *device)
{
	QuarantineEntry *e;
	size_t i;
	int r;

	if (!q || !device)
		return -EINVAL;
	e = find(q, device);
	if (!e)
		return -ENOENT;
	/* the file first: a restart must not bring back what was cleared */
	if (q->dir) {
		r = journal_file_remove(q->dir, device);
		if (r < 0)
			return r;
	}
	i = (size_t) (e - q->entries);
	memmove(&q->entries[i], &q->entries[i + 1], (q->n - i - 1) * sizeof(*q->entries));
	q->n--;
	return 0;
}
