/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Journal files: atomic writes, untrusting reads; see journal-file.h. */
#include <errno.h>
#include <limits.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal-file.h"
#include "log.h"
#include "vfiod/fault.h"

/* deeper than any journal needs (vm > devices > device > bind > members > member) */
#define JOURNAL_FILE_MAX_DEPTH 16
#define SUFFIX ".json"

static char *test_crash_point;
static vfd_context *fault_context;

void journal_set_fault_context(vfd_context *ctx)
{
	fault_context = ctx;
}

void journal_set_test_crash(const char *point)
{
	free(test_crash_point);
	test_crash_point = point && *point ? strdup(point) : NULL;
}

void journal_crash_point(const char *point)
{
	if (test_crash_point && strcmp(test_crash_point, point) == 0) {
		log_warning("TEST CRASH at %s: exiting without cleanup.", point);
		_exit(70);
	}
}

/* ---- writing ---- */

static int journal_path(const char *dir, const char *name, const char *suffix, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s" SUFFIX "%s", dir, name, suffix);

	return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

static int mkdir_parents(const char *dir)
{
	char buf[4096];
	size_t n = strlen(dir);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, dir, n + 1);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return negative_errno();
			*p = '/';
		}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return negative_errno();
	return 0;
}

static int write_atomically(const char *dir, const char *path, const char *tmp, const char *text)
{
	size_t len = strlen(text), done = 0;
	int fd, dfd, r = 0;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return negative_errno();
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = negative_errno();
			break;
		}
		done += (size_t) n;
	}
	if (r == 0 && fsync(fd) < 0)
		r = negative_errno();
	if (close(fd) < 0 && r == 0)
		r = negative_errno();
	if (r == 0 && rename(tmp, path) < 0)
		r = negative_errno();
	if (r < 0) {
		(void) unlink(tmp);
		return r;
	}
	/* the rename itself must survive a crash */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void) fsync(dfd);
		close(dfd);
	}
	return 0;
}

int journal_file_write(const char *dir, const char *name, json_object *o)
{
	char path[4096], tmp[4096];
	const char *text;
	int r;

	r = vfd_fault_step(fault_context, "journal-write");
	if (r >= 0)
		r = mkdir_parents(dir);
	if (r >= 0)
		r = journal_path(dir, name, "", path, sizeof(path));
	if (r >= 0)
		r = journal_path(dir, name, ".tmp", tmp, sizeof(tmp));
	if (r < 0)
		return r;
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text)
		return -ENOMEM;
	if (strlen(text) > JOURNAL_FILE_MAX_BYTES)
		return -EFBIG; /* it could not be read back */
	return write_atomically(dir, path, tmp, text);
}

int journal_file_remove(const char *dir, const char *name)
{
	char path[4096];
	int r;

	r = journal_path(dir, name, "", path, sizeof(path));
	if (r < 0)
		return r;
	if (unlink(path) < 0 && errno != ENOENT)
		return negative_errno();
	return 0;
}

/* ---- reading ---- */

int journal_file_stem(const char *filename, char ret[256])
{
	size_t n = strlen(filename), s = strlen(SUFFIX);

	if (n <= s || n - s >= 256 || strcmp(filename + n - s, SUFFIX) != 0)
		return 0;
	memcpy(ret, filename, n - s);
	ret[n - s] = '\0';
	return 1;
}

static int read_bounded(int dfd, const char *name, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;
	size_t done = 0;

	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return errno == ELOOP ? -EBADMSG : negative_errno();
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode) || st.st_size > JOURNAL_FILE_MAX_BYTES)
		return -EBADMSG;
	buf = malloc((size_t) st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	while (done < (size_t) st.st_size) {
		ssize_t n = read(fd, buf + done, (size_t) st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		if (n == 0)
			break; /* shrank meanwhile: what is there is parsed, and must be whole */
		done += (size_t) n;
	}
	buf[done] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = done;
	return 0;
}

static void tokener_freep(json_tokener **t)
{
	if (*t)
		json_tokener_free(*t);
}

int journal_file_parse(const char *text, size_t len, json_object **ret)
{
	_cleanup_(tokener_freep) json_tokener *tok = NULL;
	_cleanup_(json_object_putp) json_object *o = NULL;
	size_t end;

	/* a NUL inside would end the text json-c sees early: the rest unchecked */
	if (len == 0 || len > INT_MAX || memchr(text, '\0', len))
		return -EBADMSG;

	tok = json_tokener_new_ex(JOURNAL_FILE_MAX_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, text, (int) len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success)
		return -EBADMSG;
	for (end = json_tokener_get_parse_end(tok); end < len; end++)
		if (!strchr(" \t\r\n", text[end]))
			return -EBADMSG;
	if (!json_object_is_type(o, json_type_object))
		return -EBADMSG;
	*ret = TAKE_PTR(o);
	return 0;
}

int journal_file_read(int dfd, const char *filename, json_object **ret)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r;

	r = read_bounded(dfd, filename, &text, &len);
	if (r < 0)
		return r;
	return journal_file_parse(text, len, ret);
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

int journal_file_foreach(const char *dir, const char *what, JournalFileFn fn, void *userdata)
{
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;

	if (!dir)
		return 0;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : log_error_errno(errno, "Cannot read the %s directory %s: %m",
							     what, dir);

	while ((de = readdir(d))) {
		_cleanup_(json_object_putp) json_object *o = NULL;
		char stem[256];
		int r;

		if (!journal_file_stem(de->d_name, stem))
			continue;
		r = journal_file_read(dirfd(d), de->d_name, &o);
		if (r >= 0)
			r = fn(dir, de->d_name, stem, o, userdata);
		if (r < 0) {
			log_error_errno(r, "%s %s/%s is unreadable (%m); moved aside as .corrupt, its "
					"devices are left as they are.", what, dir, de->d_name);
			journal_file_set_aside(dirfd(d), de->d_name);
		}
	}
	return 0;
}

void journal_file_set_aside(int dfd, const char *filename)
{
	char aside[512];

	if (snprintf(aside, sizeof(aside), "%s.corrupt", filename) >= (int) sizeof(aside) ||
	    renameat(dfd, filename, dfd, aside) < 0)
		log_warning_errno(errno ? errno : ENAMETOOLONG, "Cannot move the journal %s aside: %m",
				  filename);
}

/* ---- fields ---- */

int journal_get(json_object *o, const char *key, json_type type, json_object **ret)
{
	json_object *v;

	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, type))
		return -EBADMSG;
	*ret = v;
	return 0;
}

int journal_get_bool(json_object *o, const char *key, bool *ret)
{
	json_object *v;
	int r = journal_get(o, key, json_type_boolean, &v);

	if (r >= 0)
		*ret = json_object_get_boolean(v);
	return r;
}

int journal_get_u64(json_object *o, const char *key, uint64_t *ret)
{
	json_object *v;
	int r = journal_get(o, key, json_type_int, &v);

	if (r < 0)
		return r;
	/* json-c keeps negative numbers as int64: not a u64 */
	if (json_object_get_int64(v) < 0)
		return -EBADMSG;
	errno = 0;
	*ret = json_object_get_uint64(v);
	return errno ? -EBADMSG : 0;
}

int journal_get_string(json_object *o, const char *key, const char **ret)
{
	json_object *v;
	int r = journal_get(o, key, json_type_string, &v);

	if (r < 0)
		return r;
	/* "\u0000" inside would cut the C string short of what was checked */
	if ((size_t) json_object_get_string_len(v) != strlen(json_object_get_string(v)))
		return -EBADMSG;
	*ret = json_object_get_string(v);
	return 0;
}
