/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Parsing XML that a user handed us (lib/xml-untrusted.c): size-capped,
 * UTF-8 only, no DOCTYPE and so no entities, no network, no includes,
 * depth-limited, and libxml2 never prints. The libvirt hook reads its
 * standard input with vfd_xml_read_bounded().
 */
#pragma once

#include <stddef.h>

#include <libxml/tree.h>

/*
 * Parses size bytes into a document (free with vfd_xml_doc_free). libxml2
 * is loaded by the first call (vfiod/dlopen.h). Errors, each with a
 * sentence in *error_message: -ENODATA empty, -EFBIG larger than
 * max_bytes, -EPERM a DOCTYPE, entity or include, -ELOOP elements nested
 * deeper than max_depth, -EBADMSG not well-formed or not UTF-8, -ENOMEM,
 * -ENOPKG libxml2 cannot be loaded, -ENOSYS it is too old.
 */
int vfd_xml_parse_untrusted(const char *xml, size_t size, size_t max_bytes, unsigned max_depth,
			    xmlDoc **ret, char **error_message);

/*
 * Reads path ("-": standard input) into memory, never more than
 * max_bytes + 1 bytes: a regular file larger than max_bytes is refused by
 * its size before reading, anything else once one byte too many arrived
 * (-EFBIG). Opening errors are passed on (-ENOENT, -EACCES, -EISDIR, ...).
 */
int vfd_xml_read_bounded(const char *path, size_t max_bytes, char **ret, size_t *ret_size,
			 char **error_message);

/*
 * The document's libxml2 calls, for a document vfd_xml_parse_untrusted()
 * made (libxml2 is loaded then). The tree itself is read by its fields.
 */
void vfd_xml_doc_free(xmlDoc *doc); /* NULL: nothing */
xmlNode *vfd_xml_doc_root(const xmlDoc *doc);
/* a malloc'ed copy of the namespace-less attribute: 1, 0 absent or n NULL (*ret NULL), -ENOMEM */
int vfd_xml_get_prop(const xmlNode *n, const char *name, char **ret);
/* a malloc'ed copy of the node's text content: 0, -ENOMEM */
int vfd_xml_get_content(const xmlNode *n, char **ret);
