/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xml-canon FILE INTERFACE
 *
 * Prints one D-Bus interface of an introspection document (FILE, or "-"
 * for stdin) in a canonical form: one element per line, indented by
 * depth, attributes sorted by name, comments and whitespace dropped,
 * other text kept. Two documents declare the same interface exactly when
 * their canonical forms are equal, so tests/dbus compares vfiod's live
 * introspection with docs/org.vfiod1.Manager.xml by comparing outputs.
 *
 * Exit status: 0 printed, 1 no such interface, 2 usage or parse error.
 */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_attr(const void *a, const void *b)
{
	const xmlAttr *const *x = a, *const *y = b;

	return strcmp((const char *) (*x)->name, (const char *) (*y)->name);
}

static int print_element(const xmlNode *e, unsigned depth)
{
	const xmlAttr **attrs = NULL;
	size_t n = 0;

	for (const xmlAttr *a = e->properties; a; a = a->next)
		n++;

	if (n > 0) {
		attrs = calloc(n, sizeof(*attrs));
		if (!attrs)
			return -1;
		n = 0;
		for (const xmlAttr *a = e->properties; a; a = a->next)
			attrs[n++] = a;
		qsort(attrs, n, sizeof(*attrs), cmp_attr);
	}

	printf("%*s<%s", (int) depth * 2, "", (const char *) e->name);
	for (size_t i = 0; i < n; i++) {
		xmlChar *v = xmlNodeGetContent((const xmlNode *) attrs[i]);

		printf(" %s=\"%s\"", (const char *) attrs[i]->name, v ? (const char *) v : "");
		xmlFree(v);
	}
	printf(">\n");
	free(attrs);

	for (const xmlNode *c = e->children; c; c = c->next) {
		if (c->type == XML_ELEMENT_NODE) {
			if (print_element(c, depth + 1) < 0)
				return -1;
		} else if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
			/* whitespace between elements carries no meaning; any other text does */
			if (!xmlIsBlankNode(c))
				printf("%*stext \"%s\"\n", (int) (depth + 1) * 2, "",
				       (const char *) c->content);
		}
		/* comments, processing instructions: documentation, not interface */
	}

	return 0;
}

int main(int argc, char *argv[])
{
	const char *file, *iface;
	xmlDoc *doc;
	xmlNode *root;
	int r = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: xml-canon FILE|- INTERFACE\n");
		return 2;
	}
	file = argv[1];
	iface = argv[2];

	/* no network: the DOCTYPE names a DTD on the web, which is never fetched */
	doc = xmlReadFile(strcmp(file, "-") == 0 ? "/dev/stdin" : file, NULL,
			  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		const xmlError *err = xmlGetLastError();

		fprintf(stderr, "xml-canon: cannot parse %s: %s", file,
			err && err->message ? err->message : "unknown error\n");
		return 2;
	}

	root = xmlDocGetRootElement(doc);
	if (!root || strcmp((const char *) root->name, "node") != 0) {
		fprintf(stderr, "xml-canon: %s: root element is not <node>\n", file);
		xmlFreeDoc(doc);
		return 2;
	}

	for (xmlNode *c = root->children; c; c = c->next) {
		xmlChar *name;

		if (c->type != XML_ELEMENT_NODE || strcmp((const char *) c->name, "interface") != 0)
			continue;

		name = xmlGetProp(c, (const xmlChar *) "name");
		if (name && strcmp((const char *) name, iface) == 0) {
			r = print_element(c, 0) < 0 ? 2 : 0;
			xmlFree(name);
			break;
		}
		xmlFree(name);
	}

	if (r == 1)
		fprintf(stderr, "xml-canon: %s has no interface %s\n", file, iface);

	xmlFreeDoc(doc);
	return r;
}
