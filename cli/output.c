/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "vfiod/util.h"
#include "vfioctl.h"

#define CELL_MAX 512

int output_json(json_object *value)
{
	const char *s;

	/* pretty, two-space indent; keys keep the order the rows were built in */
	s = json_object_to_json_string_ext(value, JSON_C_TO_STRING_PRETTY |
						  JSON_C_TO_STRING_SPACED |
						  JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s)
		return -ENOMEM;

	if (puts(s) < 0)
		return -EIO;
	return 0;
}

static const char *format_list(json_object *v, char *buf, size_t size)
{
	size_t n = json_object_array_length(v), used = 0;

	buf[0] = '\0';
	if (n == 0)
		return "-";

	for (size_t i = 0; i < n; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(v, i));
		int k = snprintf(buf + used, size - used, "%s%s", i > 0 ? "," : "", s ? s : "");

		if (k < 0 || (size_t) k >= size - used)
			break; /* truncated: a table cell, not data */
		used += (size_t) k;
	}
	return buf;
}

/*
 * A cell is one line: sysfs texts such as mdev type descriptions hold
 * newlines, which become ", "; other control bytes become blanks. Returns
 * s itself when it is clean.
 */
static const char *one_line(const char *s, char *buf, size_t size)
{
	bool clean = true;
	size_t o = 0;

	for (const char *p = s; *p; p++)
		if ((unsigned char) *p < ' ' || *p == 0x7f)
			clean = false;
	if (clean)
		return s;

	for (const char *p = s; *p && o + 3 < size; p++) {
		unsigned char ch = (unsigned char) *p;

		if (ch == '\n') {
			buf[o++] = ',';
			buf[o++] = ' ';
		} else
			buf[o++] = ch < ' ' || ch == 0x7f ? ' ' : (char) ch;
	}
	buf[o] = '\0';
	return buf;
}

/* the cell of value v (the row's value at c->key, NULL when absent) */
static const char *format_value(json_object *row, json_object *v, const Column *c,
				char *buf, size_t size)
{
	if (!v)
		return "-";

	switch (c->format) {
	case COLUMN_HEX16:
		snprintf(buf, size, "0x%04" PRIx64, (uint64_t) json_object_get_int64(v));
		return buf;
	case COLUMN_HEX24:
		snprintf(buf, size, "0x%06" PRIx64, (uint64_t) json_object_get_int64(v));
		return buf;
	case COLUMN_YES_NO:
		return json_object_get_boolean(v) ? "yes" : "no";
	case COLUMN_GROUP:
		if (json_object_get_int64(v) < 0)
			return "-";
		snprintf(buf, size, "%" PRId64, json_object_get_int64(v));
		return buf;
	case COLUMN_LIST:
		if (!json_object_is_type(v, json_type_array))
			break;
		return format_list(v, buf, size);
	case COLUMN_PCI_NAME: {
		json_object *device = NULL;
		const char *vendor_name = json_object_get_string(v);

		if (!vendor_name || !*vendor_name)
			return "-";
		if (json_object_object_get_ex(row, "device_name", &device) && device &&
		    *json_object_get_string(device))
			snprintf(buf, size, "%s %s", vendor_name, json_object_get_string(device));
		else
			snprintf(buf, size, "%s", vendor_name);
		/* names come from a file on the host: no control characters in a cell */
		for (char *p = buf; *p; p++)
			if ((unsigned char) *p < ' ' || *p == 0x7f)
				*p = ' ';
		return buf;
	}
	case COLUMN_TEXT:
		break;
	}

	/* strings as they are ("" shows as "-"), numbers in decimal */
	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		return s && *s ? one_line(s, buf, size) : "-";
	}
	snprintf(buf, size, "%s", json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	return buf;
}

const char *output_format_cell(json_object *row, const Column *c, char *buf, size_t size)
{
	json_object *v = NULL;

	json_object_object_get_ex(row, c->key, &v);
	return format_value(row, v, c, buf, size);
}

int output_table(json_object *rows, const Column *columns, size_t n_columns)
{
	size_t n_rows = json_object_array_length(rows);
	_cleanup_free_ size_t *width = NULL;
	/* each cell's value, looked up once for both passes */
	_cleanup_free_ json_object **values = NULL;
	char buf[CELL_MAX];

	width = calloc(n_columns, sizeof(*width));
	values = calloc(n_rows * n_columns + 1, sizeof(*values));
	if (!width || !values)
		return -ENOMEM;

	for (size_t c = 0; c < n_columns; c++)
		width[c] = strlen(columns[c].header);

	for (size_t i = 0; i < n_rows; i++) {
		json_object *row = json_object_array_get_idx(rows, i);

		for (size_t c = 0; c < n_columns; c++)
			json_object_object_get_ex(row, columns[c].key, &values[i * n_columns + c]);
	}

	/* the last column is not padded: its width is never needed */
	for (size_t i = 0; i < n_rows; i++)
		for (size_t c = 0; c + 1 < n_columns; c++) {
			size_t l = strlen(format_value(json_object_array_get_idx(rows, i),
						       values[i * n_columns + c], &columns[c],
						       buf, sizeof(buf)));
			if (l > width[c])
				width[c] = l;
		}

	/* line 0 is the header; the last column is not padded: no trailing blanks */
	for (size_t i = 0; i <= n_rows; i++) {
		json_object *row = i > 0 ? json_object_array_get_idx(rows, i - 1) : NULL;

		for (size_t c = 0; c < n_columns; c++) {
			const char *cell = row ? format_value(row, values[(i - 1) * n_columns + c],
							      &columns[c], buf, sizeof(buf))
					       : columns[c].header;

			if (c + 1 < n_columns)
				printf("%-*s  ", (int) width[c], cell);
			else
				printf("%s\n", cell);
		}
	}

	return fflush(stdout) == 0 ? 0 : -EIO;
}

int output_rows(json_object *rows, const Column *columns, size_t n_columns)
{
	if (arg_json)
		return output_json(rows);

	return output_table(rows, columns, n_columns);
}

int output_take_json_option(int argc, char *argv[])
{
	int n = 0;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			arg_json = true;
			continue;
		}
		argv[n++] = argv[i];
	}
	argv[n] = NULL;
	return n;
}
