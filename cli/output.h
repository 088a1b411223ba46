/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every list verb builds its rows once, as json-c objects keyed like the
 * D-Bus records, and hands them here: --json prints them as they are,
 * otherwise the columns below pick and format fields for an aligned
 * table. Both views come from the same rows.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum ColumnFormat {
	COLUMN_TEXT,     /* strings and numbers as they are */
	COLUMN_HEX16,    /* 0x%04x: vendor and device ids */
	COLUMN_HEX24,    /* 0x%06x: class codes */
	COLUMN_YES_NO,   /* booleans */
	COLUMN_GROUP,    /* an IOMMU group number, "-" for -1 */
	COLUMN_LIST,     /* an array of strings, comma-separated */
	COLUMN_PCI_NAME, /* key is vendor_name: "<vendor_name> <device_name>", as lspci */
} ColumnFormat;

typedef struct Column {
	const char *header;
	const char *key;   /* field of the row; a missing field prints "-" */
	ColumnFormat format;
} Column;

/* One cell as the table shows it; returns a static or json-c-owned string. */
const char *output_format_cell(json_object *row, const Column *c, char *buf, size_t size);

/* Prints rows (a JSON array) as an aligned table with a header line. */
int output_table(json_object *rows, const Column *columns, size_t n_columns);

/* Prints rows (a JSON array) as --json or as a table with columns. */
int output_rows(json_object *rows, const Column *columns, size_t n_columns);

/* Prints any JSON value pretty, with a newline (the --json view). */
int output_json(json_object *value);

/*
 * Removes every "--json" from argv[0..argc) (sets arg_json) and returns the
 * new argc; for verbs whose sub-verbs take --json anywhere after them.
 */
int output_take_json_option(int argc, char *argv[]);
