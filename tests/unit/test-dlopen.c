/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libraries loaded by the code paths that use them (lib/dlopen.c):
 * neither libvirt's client nor libxml2 is in the process before it is
 * asked for; each is there after; a missing library or symbol is one
 * error naming it, and writes nothing.
 *
 * The first test must run first: it checks the process as it started.
 */
#include <string.h>

#include "vfd-test.h"
#include "vfiod/dlopen.h"
#include "vfiod/util.h"
#include "vfiod/libvirt-dl.h"
#include "vfiod/xml-untrusted.h"

static void test_nothing_loaded_at_start(void)
{
	/* linked as usual (before lib/dlopen.c), both were mapped before main() */
	ASSERT_EQ(vfd_dl_is_loaded(VFD_LIBVIRT_SONAME), 0);
	ASSERT_EQ(vfd_dl_is_loaded("libxml2.so.2"), 0);
	ASSERT_EQ(vfd_dl_is_loaded("libicuuc.so.72"), 0);
	/* the probe itself sees what is there */
	ASSERT_EQ(vfd_dl_is_loaded("libc.so.6"), 1);
}

static void test_missing_library(void)
{
	void (*f)(void) = NULL;
	const vfd_dl_symbol symbols[] = { { "getpid", (void **) &f } };
	char *msg = NULL;

	ASSERT_ERRNO(vfd_dl_open("libvfiod-no-such-library.so.0", "vfiod-no-such-package", symbols,
				 ELEMENTSOF(symbols), &msg), -ENOPKG);
	ASSERT_NOT_NULL(msg);
	ASSERT_NOT_NULL(strstr(msg, "cannot load libvfiod-no-such-library.so.0 (package vfiod-no-such-package)"));
	ASSERT_NULL(f);
	free(msg);
}

static void test_missing_symbol(void)
{
	void (*first)(void) = NULL, (*second)(void) = NULL;
	const vfd_dl_symbol symbols[] = {
		{ "getpid", (void **) &first },
		{ "vfd_no_such_function", (void **) &second },
	};
	char *msg = NULL;

	ASSERT_ERRNO(vfd_dl_open("libc.so.6", "libc6", symbols, ELEMENTSOF(symbols), &msg), -ENOSYS);
	ASSERT_NOT_NULL(msg);
	ASSERT_NOT_NULL(strstr(msg, "libc.so.6 has no vfd_no_such_function (package libc6 too old?)"));
	/* all or nothing: the symbol that was found is not handed out either */
	ASSERT_NULL(first);
	ASSERT_NULL(second);
	free(msg);

	ASSERT_OK(vfd_dl_open("libc.so.6", "libc6", symbols, 1, NULL));
	ASSERT_NOT_NULL(first);
	ASSERT_ERRNO(vfd_dl_open(NULL, "libc6", symbols, 1, NULL), -EINVAL);
}

static void test_libvirt_table(void)
{
	const vfd_libvirt *lv = NULL, *again = NULL;
	char *msg = NULL;

	ASSERT_ERRNO(vfd_libvirt_load(NULL, NULL), -EINVAL);
	ASSERT_EQ(vfd_dl_is_loaded(VFD_LIBVIRT_SONAME), 0);
	if (vfd_libvirt_load(&lv, &msg) < 0)
		vfd_test_fail(__FILE__, __LINE__, "libvirt0 is a build dependency, yet: %s", msg ? msg : "?");
	ASSERT_EQ(vfd_dl_is_loaded(VFD_LIBVIRT_SONAME), 1);
	/* every function resolved */
#define CHECK_FIELD(f) ASSERT_NOT_NULL(lv->f);
	VFD_LIBVIRT_FUNCTIONS(CHECK_FIELD)
#undef CHECK_FIELD
	/* the very functions a direct call would reach */
	ASSERT_TRUE(lv->virConnectOpen != NULL && lv->virInitialize() == 0);
	ASSERT_OK(vfd_libvirt_load(&again, NULL));
	ASSERT_TRUE(again == lv);
}

static void test_libxml2_on_first_parse(void)
{
	static const char doc_text[] = "<domain a='1'><name>x</name></domain>";
	xmlDoc *doc = NULL;
	char *msg = NULL, *v = NULL;

	/* refused before parsing: no reason to load anything */
	ASSERT_ERRNO(vfd_xml_parse_untrusted("", 0, 1024, 8, &doc, &msg), -ENODATA);
	free(msg);
	msg = NULL;
	ASSERT_EQ(vfd_dl_is_loaded("libxml2.so.2"), 0);

	ASSERT_OK(vfd_xml_parse_untrusted(doc_text, strlen(doc_text), 1024, 8, &doc, &msg));
	ASSERT_EQ(vfd_dl_is_loaded("libxml2.so.2"), 1);
	ASSERT_EQ(vfd_xml_get_prop(vfd_xml_doc_root(doc), "a", &v), 1);
	ASSERT_STREQ(v, "1");
	free(v);
	ASSERT_EQ(vfd_xml_get_prop(vfd_xml_doc_root(doc), "b", &v), 0);
	ASSERT_NULL(v);
	ASSERT_EQ(vfd_xml_get_prop(NULL, "a", &v), 0);
	ASSERT_OK(vfd_xml_get_content(vfd_xml_doc_root(doc), &v));
	ASSERT_STREQ(v, "x");
	free(v);
	vfd_xml_doc_free(doc);
	vfd_xml_doc_free(NULL);
}

VFD_TEST_MAIN(
	VFD_TEST(test_nothing_loaded_at_start),
	VFD_TEST(test_missing_library),
	VFD_TEST(test_missing_symbol),
	VFD_TEST(test_libvirt_table),
	VFD_TEST(test_libxml2_on_first_parse),
)
