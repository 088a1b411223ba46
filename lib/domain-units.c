/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvirt's scaled integers: "1 GiB" in a domain XML means what libvirt's
 * virScaleInteger() makes of it, so that the libvirt memlock policy sees
 * the same KiB as libvirt. Sizes in the memlock config file use the same
 * suffixes.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "vfiod/domain-xml.h"

static const char *skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	return s;
}

/* Decimal digits with optional surrounding XML whitespace; nothing else. */
static int parse_decimal_u64(const char *s, uint64_t *ret)
{
	uint64_t v = 0;
	const char *p;

	p = skip_space(s);
	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (*skip_space(p))
		return -EINVAL;
	*ret = v;
	return 0;
}

/*
 * libvirt reads PCI address parts and indexes with base 0: decimal, 0x hex,
 * or a leading 0 for octal. Same here, with an upper bound.
 */

int vfd_domain_scale_to_bytes(const char *value, const char *unit, uint64_t default_scale,
			      uint64_t max_bytes, uint64_t *ret_bytes)
{
	static const char exponents[] = "kmgtpe";
	uint64_t v, scale = 1, base;
	const char *p;
	size_t len;
	int r;

	if (!value || !ret_bytes || default_scale == 0)
		return -EINVAL;
	r = parse_decimal_u64(value, &v);
	if (r < 0)
		return r;

	/* the same suffixes, in the same order of checks, as libvirt's virScaleInteger() */
	if (!unit || !*unit) {
		scale = default_scale;
	} else if (strcasecmp(unit, "b") == 0 || strcasecmp(unit, "byte") == 0 ||
		   strcasecmp(unit, "bytes") == 0) {
		scale = 1;
	} else {
		len = strlen(unit);
		if (len == 1 || strcasecmp(unit + 1, "iB") == 0)
			base = 1024;
		else if (len == 2 && (unit[1] == 'b' || unit[1] == 'B'))
			base = 1000;
		else
			return -EINVAL;

		/* k, m, g, t, p, e: the base to the power of the letter's position */
		p = strchr(exponents, tolower((unsigned char)unit[0])); /* unit[0] is not NUL here */
		if (!p)
			return -EINVAL;
		for (long i = 0; i <= p - exponents; i++)
			scale *= base;
	}

	if (v > max_bytes / scale)
		return -ERANGE;
	*ret_bytes = v * scale;
	return 0;
}

int vfd_domain_scale_to_kib(const char *value, const char *unit, uint64_t max_bytes, uint64_t *ret_kib)
{
	uint64_t bytes;
	int r;

	if (!ret_kib)
		return -EINVAL;
	r = vfd_domain_scale_to_bytes(value, unit, 1024, max_bytes, &bytes);
	if (r < 0)
		return r;
	/* libvirt sizes memory in KiB internally, rounding up */
	*ret_kib = bytes / 1024 + (bytes % 1024 ? 1 : 0);
	return 0;
}
