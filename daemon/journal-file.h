/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The files vfiod's journals are made of (vm-journal.h, bind-journal.h):
 * one JSON object per file, NAME.json in a directory of its own under
 * /run/vfiod (below the fixture root in tests).
 *
 * Writing is atomic: a temporary file (NAME.json.tmp), fsync, rename over
 * NAME.json, fsync of the directory. A crash leaves the old file or the
 * new one, never half of one.
 *
 * Reading trusts nothing in the file: a regular file only (O_NOFOLLOW),
 * at most JOURNAL_FILE_MAX_BYTES, strict JSON (json-c's strict mode,
 * valid UTF-8, bounded nesting, nothing after the object), an object at
 * the top. Each journal then validates every field it uses. A file that
 * cannot be read is set aside as NAME.json.corrupt, never deleted, so an
 * operator can see what it held.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "vfiod/inventory.h"
#include "vfiod/util.h"

#define JOURNAL_FILE_MAX_BYTES (4 << 20)

VFD_DEFINE_CLEANUP(json_object, json_object_put)

/* writes dir/name.json atomically, creating dir (0700) and its parents */
int journal_file_write(const char *dir, const char *name, json_object *o);
/* removes dir/name.json; 0 when there was none */
int journal_file_remove(const char *dir, const char *name);
/*
 * 1 and the name without ".json" when filename (an entry of a journal
 * directory) is a journal file, 0 for anything else (.tmp, .corrupt).
 * ret must hold 256 bytes.
 */
int journal_file_stem(const char *filename, char ret[256]);
/* parses text strictly (one object, bounded depth, UTF-8, no NUL, nothing after it) */
int journal_file_parse(const char *text, size_t len, json_object **ret);
/* reads (bounded) and parses filename in the directory dfd; -EBADMSG when it is not a journal file */
int journal_file_read(int dfd, const char *filename, json_object **ret);
/*
 * Calls fn for each journal file of dir that parses, with its stem (the
 * name it must describe). A file that does not parse, or that fn answers
 * negatively, is reported as an unreadable "what" (e.g. "VM journal"), and
 * set aside as .corrupt. A missing dir has no files.
 */
typedef int (*JournalFileFn)(const char *dir, const char *filename, const char *stem,
			     json_object *o, void *userdata);
int journal_file_foreach(const char *dir, const char *what, JournalFileFn fn, void *userdata);
/* renames filename in dfd to filename.corrupt (logged on failure) */
void journal_file_set_aside(int dfd, const char *filename);

/* the fields, typed: -EBADMSG when key is missing or of another type */
int journal_get(json_object *o, const char *key, json_type type, json_object **ret);
int journal_get_bool(json_object *o, const char *key, bool *ret);
int journal_get_u64(json_object *o, const char *key, uint64_t *ret);
int journal_get_string(json_object *o, const char *key, const char **ret);

/*
 * Tests only ($VFIOD_TEST_CRASH): the daemon exits at once, without any
 * cleanup, when it reaches the named point, as a crash would. The points
 * are listed where they are (vm-journal.h, bind-journal.h).
 */
void journal_set_test_crash(const char *point);
void journal_crash_point(const char *point);
/* Tests only: the context whose fault steps (vfiod/fault.h) journal writes pass, "journal-write" */
void journal_set_fault_context(vfd_context *ctx);
