/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The document comes from a user (a file named on the command line, a
 * D-Bus argument), so nothing in it may make us read a file, reach the
 * network, expand entities, or use unbounded memory or stack:
 *
 *  - the size is capped before libxml2 sees a byte;
 *  - only UTF-8 is accepted: the encoding is forced and the document's own
 *    declaration ignored, so the lexical checks below see the characters
 *    the parser sees; a NUL byte (UTF-16/32, binary) is refused;
 *  - any "<!DOCTYPE" or "<!ENTITY" is refused before parsing: with no DTD
 *    there are no entity declarations, internal or external, so no billion
 *    laughs and no SYSTEM "file:///etc/passwd";
 *  - libxml2 runs with NONET and without NOENT, DTDLOAD, DTDATTR, DTDVALID
 *    or XINCLUDE (and with NO_XXE where libxml2 >= 2.13 has it), its error
 *    printing off: the first error becomes our message;
 *  - after parsing, the tree is checked again (no DTD, no entity nodes)
 *    and walked without recursion for the depth limit.
 *
 * libxml2 itself is loaded by the first parse (vfiod/dlopen.h): linked as
 * usual, it would bring ICU into every vfioctl and vfiod start, and into
 * the lab's initramfs. This file is the only caller of libxml2's
 * functions; lib/domain-xml.c walks the tree by its fields and reads
 * attributes and text through the helpers at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include "vfiod/dlopen.h"
#include "vfiod/error-message.h"
#include "vfiod/util.h"
#include "vfiod/xml-untrusted.h"

#define LIBXML2_SONAME "libxml2.so.2"
#define LIBXML2_PACKAGE "libxml2"

/* the libxml2 functions vfiod calls, each of its own type */
#define LIBXML2_FUNCTIONS(X)     \
	X(xmlInitParser)         \
	X(xmlNewParserCtxt)      \
	X(xmlFreeParserCtxt)     \
	X(xmlCtxtReadMemory)     \
	X(xmlCtxtGetLastError)   \
	X(xmlFreeDoc)            \
	X(xmlDocGetRootElement)  \
	X(xmlGetNoNsProp)        \
	X(xmlNodeGetContent)

static struct {
#define LIBXML2_FIELD(f) __typeof__(f) *f;
	LIBXML2_FUNCTIONS(LIBXML2_FIELD)
#undef LIBXML2_FIELD
	/* a variable, not a function (its header may make the name a macro) */
	xmlFreeFunc *free_func;
} libxml2;
static pthread_mutex_t xml_lock = PTHREAD_MUTEX_INITIALIZER;
static bool xml_loaded;

/* loads libxml2 once; every document comes from a parse, so a document means it is loaded */
static int xml_load(char **error_message)
{
	static const vfd_dl_symbol symbols[] = {
#define LIBXML2_SYMBOL(f) { #f, (void **) &libxml2.f },
		LIBXML2_FUNCTIONS(LIBXML2_SYMBOL)
#undef LIBXML2_SYMBOL
		{ "xmlFree", (void **) &libxml2.free_func },
	};
	int r = 0;

	pthread_mutex_lock(&xml_lock);
	if (!xml_loaded) {
		r = vfd_dl_open(LIBXML2_SONAME, LIBXML2_PACKAGE, symbols, ELEMENTSOF(symbols), error_message);
		if (r >= 0)
			libxml2.xmlInitParser();
		xml_loaded = r >= 0;
	}
	pthread_mutex_unlock(&xml_lock);
	return r;
}

static int lexical_screen(const char *xml, size_t size, char **error_message)
{
	static const char *const refused[] = { "<!DOCTYPE", "<!ENTITY" };
	const char *nul = memchr(xml, '\0', size);

	if (nul)
		return vfd_error_setf(error_message, -EBADMSG, "not UTF-8 text (NUL byte at offset %zu)",
				      (size_t)(nul - xml));
	for (size_t i = 0; i < ELEMENTSOF(refused); i++)
		if (memmem(xml, size, refused[i], strlen(refused[i])))
			return vfd_error_setf(error_message, -EPERM,
					      "document type and entity declarations are not accepted ('%s')",
					      refused[i]);
	return 0;
}

static int check_tree(const xmlDoc *doc, unsigned max_depth, char **error_message)
{
	const xmlNode *n = doc->children;
	unsigned depth = 1;

	if (doc->intSubset || doc->extSubset)
		return vfd_error_setf(error_message, -EPERM, "document type declarations are not accepted");

	/* iterative pre-order walk: the depth limit must not cost stack itself */
	while (n) {
		if (n->type == XML_ENTITY_REF_NODE || n->type == XML_ENTITY_NODE ||
		    n->type == XML_ENTITY_DECL || n->type == XML_DTD_NODE ||
		    n->type == XML_XINCLUDE_START || n->type == XML_XINCLUDE_END)
			return vfd_error_setf(error_message, -EPERM, "entities and includes are not accepted");
		if (n->type == XML_ELEMENT_NODE && depth > max_depth)
			return vfd_error_setf(error_message, -ELOOP, "elements nest deeper than %u levels", max_depth);

		if (n->type == XML_ELEMENT_NODE && n->children) {
			n = n->children;
			depth++;
			continue;
		}
		while (!n->next) {
			n = n->parent;
			depth--;
			if (!n || n->type == XML_DOCUMENT_NODE)
				return 0;
		}
		n = n->next;
	}
	return 0;
}

static void free_ctxt(xmlParserCtxt **ctxt)
{
	if (*ctxt)
		libxml2.xmlFreeParserCtxt(*ctxt);
}

static void free_doc(xmlDoc **doc)
{
	vfd_xml_doc_free(*doc);
}

int vfd_xml_parse_untrusted(const char *xml, size_t size, size_t max_bytes, unsigned max_depth,
			    xmlDoc **ret, char **error_message)
{
	_cleanup_(free_ctxt) xmlParserCtxt *ctxt = NULL;
	_cleanup_(free_doc) xmlDoc *doc = NULL;
	int options, r;

	if (!ret || (!xml && size > 0))
		return vfd_error_setf(error_message, -EINVAL, "invalid arguments");
	if (size == 0)
		return vfd_error_setf(error_message, -ENODATA, "the document is empty");
	if (size > max_bytes || size > INT32_MAX)
		return vfd_error_setf(error_message, -EFBIG, "the document is larger than %zu bytes", max_bytes);
	r = lexical_screen(xml, size, error_message);
	if (r < 0)
		return r;

	options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_IGNORE_ENC;
#if LIBXML_VERSION >= 21300
	options |= XML_PARSE_NO_XXE;
#endif
	r = xml_load(error_message);
	if (r < 0)
		return r;
	ctxt = libxml2.xmlNewParserCtxt();
	if (!ctxt)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	doc = libxml2.xmlCtxtReadMemory(ctxt, xml, (int)size, NULL, "UTF-8", options);
	if (!doc || !ctxt->wellFormed) {
		const xmlError *e = libxml2.xmlCtxtGetLastError(ctxt);
		char msg[256] = "";

		if (e && e->message) {
			snprintf(msg, sizeof(msg), "%s", e->message);
			msg[strcspn(msg, "\n")] = '\0';
		}
		return vfd_error_setf(error_message, -EBADMSG, "not well-formed XML (line %d): %s",
				      e ? e->line : 0, *msg ? msg : "parse error");
	}
	r = check_tree(doc, max_depth, error_message);
	if (r < 0)
		return r;
	if (!libxml2.xmlDocGetRootElement(doc))
		return vfd_error_setf(error_message, -EBADMSG, "the document has no root element");

	*ret = TAKE_PTR(doc);
	return 0;
}

int vfd_xml_read_bounded(const char *path, size_t max_bytes, char **ret, size_t *ret_size,
			 char **error_message)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t size = 0, cap;
	struct stat st;

	if (!path || !ret || !ret_size || max_bytes >= SIZE_MAX)
		return vfd_error_setf(error_message, -EINVAL, "invalid arguments");
	cap = max_bytes + 1;

	if (strcmp(path, "-") == 0) {
		fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			return vfd_error_setf(error_message, negative_errno(), "cannot use standard input: %m");
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return vfd_error_setf(error_message, negative_errno(), "cannot open '%s': %m", path);
	}
	if (fstat(fd, &st) < 0)
		return vfd_error_setf(error_message, negative_errno(), "cannot stat '%s': %m", path);
	if (S_ISDIR(st.st_mode))
		return vfd_error_setf(error_message, -EISDIR, "'%s' is a directory", path);
	/* a regular file says its size: refuse before reading anything */
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max_bytes)
		return vfd_error_setf(error_message, -EFBIG, "'%s' is larger than %zu bytes", path, max_bytes);

	/* one byte over the cap tells "too large" for pipes, and no more is read */
	buf = malloc(cap);
	if (!buf)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	while (size < cap) {
		ssize_t n = read(fd, buf + size, cap - size);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return vfd_error_setf(error_message, negative_errno(), "cannot read '%s': %m", path);
		}
		if (n == 0)
			break;
		size += (size_t)n;
	}
	if (size > max_bytes)
		return vfd_error_setf(error_message, -EFBIG, "'%s' is larger than %zu bytes", path, max_bytes);

	*ret = TAKE_PTR(buf);
	*ret_size = size;
	return 0;
}

/* ---- the parsed tree: what lib/domain-xml.c needs of libxml2 ---- */

void vfd_xml_doc_free(xmlDoc *doc)
{
	if (doc)
		libxml2.xmlFreeDoc(doc);
}

xmlNode *vfd_xml_doc_root(const xmlDoc *doc)
{
	return doc ? libxml2.xmlDocGetRootElement(doc) : NULL;
}

/* a malloc'ed copy of an xmlChar string, which goes back to libxml2 */
static char *copy_and_free(xmlChar *v)
{
	char *s = strdup((const char *)v);

	(*libxml2.free_func)(v);
	return s;
}

int vfd_xml_get_prop(const xmlNode *n, const char *name, char **ret)
{
	xmlChar *v;

	if (!name || !ret)
		return -EINVAL;
	/* no element has no attribute: callers ask a child that may be absent */
	v = n ? libxml2.xmlGetNoNsProp(n, (const xmlChar *)name) : NULL;
	if (!v) {
		*ret = NULL;
		return 0;
	}
	*ret = copy_and_free(v);
	return *ret ? 1 : -ENOMEM;
}

int vfd_xml_get_content(const xmlNode *n, char **ret)
{
	xmlChar *v;

	if (!n || !ret)
		return -EINVAL;
	v = libxml2.xmlNodeGetContent(n);
	if (!v)
		return -ENOMEM;
	*ret = copy_and_free(v);
	return *ret ? 0 : -ENOMEM;
}
