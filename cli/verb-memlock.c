/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfioctl memlock plan --domain-xml FILE [--policy libvirt|precise] [--json] ...
 *
 * Computes the memory locking limit a libvirt domain needs and shows how
 * (lib/memlock*.c, docs/memlock.md). It changes nothing and needs no
 * daemon: it reads the domain, and host facts the domain does not carry
 * (IOMMU groups for pSeries PHBs, mdev types for budgets, a running VM's
 * pins, type1's dma_entry_limit for the mapping count) from sysfs and /proc through libvfiod's root-relative layer.
 * It never connects to D-Bus.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "output.h"
#include "vfioctl.h"
#include "vfiod/memlock.h"
#include "vfiod/inventory.h"

static void json_putp(json_object **p)
{
	if (*p)
		json_object_put(*p);
}

static void free_strp(char **p)
{
	free(*p);
}

typedef struct Args {
	const char *domain_xml;
	const char *config;
	const char *root;
	int pid;
	vfd_memlock_policy policy;
	int libvirt_compat;        /* -1: from the config file, else 9.0 */
	vfd_memlock_backend backend;
	vfd_memlock_iommufd_accounting accounting;
	uint64_t dma_entry_limit;  /* 0: the host's, or the default */
	bool json;
} Args;

static void help(void)
{
	printf("Usage: vfioctl memlock plan --domain-xml FILE [OPTIONS]\n"
	       "\n"
	       "Print the RLIMIT_MEMLOCK a libvirt domain needs, with the rule behind\n"
	       "every byte. Changes nothing; needs no running vfiod.\n"
	       "\n"
	       "Options:\n"
	       "     --domain-xml FILE     The domain XML (\"-\": standard input)\n"
	       "     --policy POLICY       precise (default): what the kernel will charge;\n"
	       "                           libvirt: what libvirt computes for this domain\n"
	       "     --libvirt-compat VER  libvirt formula: 9.0 (default) or later\n"
	       "     --backend BACKEND     type1 (default) or iommufd\n"
	       "     --iommufd-accounting MODE  user (default) or process\n"
	       "     --config FILE         memlock settings (headroom, mdev budgets)\n"
	       "     --pid PID             the running VM: its current pins are the floor\n"
	       "     --dma-entry-limit N   type1's dma_entry_limit to check the mapping count\n"
	       "                           against (default: the host's, else 65535)\n"
	       "     --root DIR            read sysfs and /proc below DIR (default /)\n"
	       "     --json                Print JSON; limit_bytes 0 means: leave the limit alone\n"
	       "  -h --help                Show this help\n");
}

/* 0: go on; >0 exit status (help printed, or a usage error) */
static int parse_args(int argc, char *argv[], Args *a)
{
	enum {
		ARG_DOMAIN_XML = 0x100,
		ARG_POLICY,
		ARG_LIBVIRT_COMPAT,
		ARG_BACKEND,
		ARG_ACCOUNTING,
		ARG_CONFIG,
		ARG_PID,
		ARG_ROOT,
		ARG_JSON,
		ARG_DMA_ENTRY_LIMIT,
	};
	static const struct option options[] = {
		{ "help",               no_argument,       NULL, 'h'                },
		{ "domain-xml",         required_argument, NULL, ARG_DOMAIN_XML     },
		{ "policy",             required_argument, NULL, ARG_POLICY         },
		{ "libvirt-compat",     required_argument, NULL, ARG_LIBVIRT_COMPAT },
		{ "backend",            required_argument, NULL, ARG_BACKEND        },
		{ "iommufd-accounting", required_argument, NULL, ARG_ACCOUNTING     },
		{ "config",             required_argument, NULL, ARG_CONFIG         },
		{ "pid",                required_argument, NULL, ARG_PID            },
		{ "root",               required_argument, NULL, ARG_ROOT           },
		{ "json",               no_argument,       NULL, ARG_JSON           },
		{ "dma-entry-limit",    required_argument, NULL, ARG_DMA_ENTRY_LIMIT },
		{}
	};
	char *end;
	long v;
	int c, r;

	/* argv[0] is "plan"; a fresh getopt scan after the global one */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", options, NULL)) >= 0)
		switch (c) {
		case 'h':
			help();
			return -1;
		case ARG_DOMAIN_XML:
			a->domain_xml = optarg;
			break;
		case ARG_POLICY:
			r = vfd_memlock_policy_from_string(optarg);
			if (r < 0)
				return usage_error("--policy is 'precise' or 'libvirt', not '%s'", optarg);
			a->policy = (vfd_memlock_policy)r;
			break;
		case ARG_LIBVIRT_COMPAT:
			r = vfd_memlock_libvirt_compat_from_string(optarg);
			if (r < 0)
				return usage_error("--libvirt-compat is '9.0' or 'later', not '%s'", optarg);
			a->libvirt_compat = r;
			break;
		case ARG_BACKEND:
			r = vfd_memlock_backend_from_string(optarg);
			if (r < 0)
				return usage_error("--backend is 'type1' or 'iommufd', not '%s'", optarg);
			a->backend = (vfd_memlock_backend)r;
			break;
		case ARG_ACCOUNTING:
			r = vfd_memlock_iommufd_accounting_from_string(optarg);
			if (r < 0)
				return usage_error("--iommufd-accounting is 'user' or 'process', not '%s'", optarg);
			a->accounting = (vfd_memlock_iommufd_accounting)r;
			break;
		case ARG_CONFIG:
			a->config = optarg;
			break;
		case ARG_PID:
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v <= 0 || v > INT32_MAX)
				return usage_error("--pid needs a process id, got '%s'", optarg);
			a->pid = (int)v;
			break;
		case ARG_ROOT:
			if (!*optarg)
				return usage_error("--root needs a directory, got ''");
			a->root = optarg;
			break;
		case ARG_JSON:
			a->json = true;
			break;
		case ARG_DMA_ENTRY_LIMIT: {
			unsigned long long n;

			errno = 0;
			n = strtoull(optarg, &end, 10);
			/* the module parameter is an unsigned int */
			if (errno || end == optarg || *end || *optarg == '-' || n == 0 || n > UINT32_MAX)
				return usage_error("--dma-entry-limit needs a number of 1-%u, got '%s'",
						   UINT32_MAX, optarg);
			a->dma_entry_limit = n;
			break;
		}
		case ':':
			return usage_error("option '%s' needs an argument", argv[optind - 1]);
		case '?':
			return usage_error("unknown option '%s' for 'memlock plan'; see 'vfioctl memlock plan --help'",
					   argv[optind - 1]);
		default:
			abort();
		}

	if (optind < argc)
		return usage_error("'memlock plan' takes no arguments, got '%s'", argv[optind]);
	if (!a->domain_xml)
		return usage_error("'memlock plan' needs --domain-xml FILE");
	return 0;
}

/* ---- host facts, through libvfiod's root-relative sysfs layer ---- */

static int host_iommu_group(const vfd_pci_address *addr, void *userdata)
{
	_cleanup_(vfd_pci_device_freep) vfd_pci_device *dev = NULL;
	int r;

	r = vfd_pci_device_load(userdata, addr, &dev);
	if (r < 0)
		return r;
	return dev->iommu_group >= 0 ? dev->iommu_group : -ENOENT;
}

static int host_mdev_type(const char *uuid, char **ret, void *userdata)
{
	vfd_mdev **mdevs = NULL;
	size_t n = 0;
	int r;

	r = vfd_mdev_enumerate(userdata, &mdevs, &n);
	if (r < 0)
		return r;
	r = -ENODEV;
	for (size_t i = 0; i < n; i++)
		if (strcmp(mdevs[i]->uuid, uuid) == 0 && mdevs[i]->type_id) {
			*ret = strdup(mdevs[i]->type_id);
			r = *ret ? 0 : -ENOMEM;
			break;
		}
	vfd_mdev_array_free(mdevs, n);
	return r;
}

static int load_config(const char *path, vfd_memlock_config *cfg)
{
	_cleanup_(free_strp) char *text = NULL, *err = NULL;
	size_t size = 0;
	FILE *f;
	int r;

	f = fopen(path, "re");
	if (!f)
		return runtime_error("cannot open '%s': %s", path, strerror(errno));
	/* a config file is small: 64 KiB is plenty, and the bound is checked */
	text = malloc(65537);
	if (!text) {
		fclose(f);
		return runtime_error("out of memory");
	}
	size = fread(text, 1, 65537, f);
	r = ferror(f);
	fclose(f);
	if (r)
		return runtime_error("cannot read '%s'", path);
	if (size > 65536)
		return runtime_error("'%s' is larger than 64 KiB", path);

	r = vfd_memlock_config_parse(cfg, text, size, &err);
	if (r < 0)
		return runtime_error("%s: %s", path, err ? err : strerror(-r));
	return 0;
}

static int observe_pid(vfd_context *ctx, int pid, vfd_memlock_spec *spec)
{
	_cleanup_(free_strp) char *status = NULL;
	char path[64];
	int r;

	snprintf(path, sizeof(path), "proc/%d/status", pid);
	r = vfd_root_read_string(ctx, path, &status);
	if (r < 0)
		return runtime_error("cannot read the status of process %d: %s", pid, strerror(-r));
	r = vfd_memlock_spec_observe_status(spec, status);
	if (r < 0)
		return runtime_error("process %d: no VmLck/VmPin in its status", pid);
	return 0;
}

/* type1's dma_entry_limit on this host; 0 when it cannot be read (module not loaded) */
static uint64_t host_dma_entry_limit(vfd_context *ctx)
{
	uint64_t v;

	if (vfd_root_read_u64(ctx, "sys/module/vfio_iommu_type1/parameters/dma_entry_limit", &v) < 0)
		return 0;
	return v;
}

/* ---- output ---- */

static json_object *budget_to_json(const vfd_dma_budget *b, bool limit_given)
{
	json_object *o = json_object_new_object(), *rows = json_object_new_array();

	if (!o || !rows) {
		json_object_put(o);
		json_object_put(rows);
		return NULL;
	}
	json_object_object_add(o, "verdict", json_object_new_string(vfd_dma_verdict_to_string(b->verdict)));
	json_object_object_add(o, "known", json_object_new_boolean(b->verdict != VFD_DMA_VERDICT_UNKNOWN));
	json_object_object_add(o, "count", json_object_new_uint64(b->mappings));
	json_object_object_add(o, "limit", json_object_new_uint64(b->limit));
	json_object_object_add(o, "limit_source",
			       json_object_new_string(limit_given ? "option" : b->limit_from_host ? "host" : "default"));
	json_object_object_add(o, "message", b->message ? json_object_new_string(b->message) : NULL);
	for (size_t i = 0; i < b->n_entries; i++) {
		json_object *row = json_object_new_object();

		if (!row)
			continue;
		json_object_object_add(row, "rule", json_object_new_string(b->entries[i].rule));
		json_object_object_add(row, "count", json_object_new_uint64(b->entries[i].count));
		json_object_object_add(row, "detail", json_object_new_string(b->entries[i].detail));
		json_object_array_add(rows, row);
	}
	json_object_object_add(o, "breakdown", rows);
	return o;
}

static json_object *plan_to_json(const vfd_domain *dom, const vfd_memlock_spec *spec,
				 const vfd_memlock_plan *plan, const vfd_dma_budget *budget, bool limit_given)
{
	json_object *o = json_object_new_object(), *rows = json_object_new_array(), *devices = json_object_new_array();

	if (!o || !rows || !devices) {
		json_object_put(o);
		json_object_put(rows);
		json_object_put(devices);
		return NULL;
	}

	json_object_object_add(o, "policy", json_object_new_string(vfd_memlock_policy_to_string(plan->policy)));
	if (plan->policy == VFD_MEMLOCK_POLICY_LIBVIRT)
		json_object_object_add(o, "libvirt_compat",
				       json_object_new_string(vfd_memlock_libvirt_compat_to_string(plan->libvirt_compat)));
	json_object_object_add(o, "domain", dom->name ? json_object_new_string(dom->name) : NULL);
	json_object_object_add(o, "limit_bytes", json_object_new_uint64(plan->limit_bytes));
	json_object_object_add(o, "unlimited", json_object_new_boolean(plan->limit_bytes == VFD_MEMLOCK_UNLIMITED));
	json_object_object_add(o, "binding_counter",
			       plan->binding_counter ? json_object_new_string(plan->binding_counter) : NULL);

	for (size_t i = 0; i < plan->n_entries; i++) {
		const vfd_memlock_entry *e = &plan->entries[i];
		json_object *row = json_object_new_object();

		if (!row)
			continue;
		json_object_object_add(row, "rule", json_object_new_string(e->rule));
		json_object_object_add(row, "bytes", json_object_new_uint64(e->bytes));
		json_object_object_add(row, "detail", json_object_new_string(e->detail));
		json_object_object_add(row, "counted", json_object_new_boolean(e->counted));
		json_object_array_add(rows, row);
	}
	json_object_object_add(o, "breakdown", rows);

	json_object_object_add(o, "memory_bytes", json_object_new_uint64(spec->memory_kib * 1024));
	json_object_object_add(o, "viommu", json_object_new_boolean(spec->viommu));
	json_object_object_add(o, "backend", json_object_new_string(vfd_memlock_backend_to_string(spec->backend)));
	if (spec->ppc64 && spec->kvm)
		json_object_object_add(o, "pseries_phbs", json_object_new_int64(spec->n_phbs));
	for (size_t i = 0; i < spec->n_devices; i++) {
		const vfd_memlock_device *d = &spec->devices[i];
		json_object *row = json_object_new_object();

		if (!row)
			continue;
		json_object_object_add(row, "kind", json_object_new_string(vfd_memlock_device_kind_to_string(d->kind)));
		json_object_object_add(row, "name", d->name ? json_object_new_string(d->name) : NULL);
		if (d->kind == VFD_MEMLOCK_DEVICE_MDEV)
			json_object_object_add(row, "mdev_type",
					       d->mdev_type ? json_object_new_string(d->mdev_type) : NULL);
		json_object_array_add(devices, row);
	}
	json_object_object_add(o, "devices", devices);
	json_object_object_add(o, "dma_mappings", budget_to_json(budget, limit_given));
	return o;
}

static void print_size(uint64_t bytes)
{
	if (bytes == 0)
		printf("0 (leave the limit alone)\n");
	else if (bytes == VFD_MEMLOCK_UNLIMITED)
		printf("unlimited (RLIM_INFINITY)\n");
	else if (bytes >= (1ULL << 30))
		printf("%" PRIu64 " bytes (%.2f GiB)\n", bytes, (double)bytes / (double)(1ULL << 30));
	else
		printf("%" PRIu64 " bytes (%.2f MiB)\n", bytes, (double)bytes / (double)(1ULL << 20));
}

static const Column breakdown_columns[] = {
	{ "RULE",    "rule",    COLUMN_TEXT   },
	{ "BYTES",   "bytes",   COLUMN_TEXT   },
	{ "COUNTED", "counted", COLUMN_YES_NO },
	{ "DETAIL",  "detail",  COLUMN_TEXT   },
};

static int print_human(json_object *o, const vfd_domain *dom, const vfd_memlock_plan *plan)
{
	json_object *rows = NULL;

	printf("Domain:  %s\n", dom->name ? dom->name : "(unnamed)");
	printf("Policy:  %s", vfd_memlock_policy_to_string(plan->policy));
	if (plan->policy == VFD_MEMLOCK_POLICY_LIBVIRT)
		printf(" (libvirt %s formula)", vfd_memlock_libvirt_compat_to_string(plan->libvirt_compat));
	printf("\nLimit:   ");
	print_size(plan->limit_bytes);
	if (plan->binding_counter)
		printf("Checked against: %s\n", plan->binding_counter);
	printf("\n");
	json_object_object_get_ex(o, "breakdown", &rows);
	return output_table(rows, breakdown_columns, ELEMENTSOF(breakdown_columns));
}

static const Column dma_columns[] = {
	{ "RULE",     "rule",   COLUMN_TEXT },
	{ "MAPPINGS", "count",  COLUMN_TEXT },
	{ "DETAIL",   "detail", COLUMN_TEXT },
};

static int print_budget(json_object *o, const vfd_dma_budget *b)
{
	json_object *budget = NULL, *rows = NULL, *source = NULL;
	int r;

	json_object_object_get_ex(o, "dma_mappings", &budget);
	json_object_object_get_ex(budget, "limit_source", &source);
	printf("\nDMA mappings (type1): ");
	if (b->verdict == VFD_DMA_VERDICT_NONE)
		printf("about %" PRIu64 "; no type1 container of VFIO devices, no dma_entry_limit\n", b->mappings);
	else if (b->verdict == VFD_DMA_VERDICT_UNKNOWN)
		printf("unknown (vIOMMU; about %" PRIu64 " in passthrough mode) of dma_entry_limit %" PRIu64 " (%s)\n",
		       b->mappings, b->limit, json_object_get_string(source));
	else
		printf("about %" PRIu64 " of dma_entry_limit %" PRIu64 " (%s): %s\n", b->mappings, b->limit,
		       json_object_get_string(source), vfd_dma_verdict_to_string(b->verdict));
	if (b->message)
		printf("%s: %s\n", b->verdict == VFD_DMA_VERDICT_OVER ? "Refused" : "Warning", b->message);
	printf("\n");
	json_object_object_get_ex(budget, "breakdown", &rows);
	r = output_table(rows, dma_columns, ELEMENTSOF(dma_columns));
	return r;
}

int verb_memlock(int argc, char *argv[])
{
	_cleanup_(vfd_domain_freep) vfd_domain *dom = NULL;
	_cleanup_(vfd_memlock_spec_freep) vfd_memlock_spec *spec = NULL;
	_cleanup_(vfd_memlock_config_freep) vfd_memlock_config *cfg = NULL;
	_cleanup_(vfd_memlock_plan_freep) vfd_memlock_plan *plan = NULL;
	_cleanup_(vfd_dma_budget_freep) vfd_dma_budget *budget = NULL;
	_cleanup_(vfd_context_freep) vfd_context *ctx = NULL;
	_cleanup_(json_putp) json_object *o = NULL;
	_cleanup_(free_strp) char *err = NULL;
	vfd_memlock_host_lookup lookup;
	Args a = {
		.policy = VFD_MEMLOCK_POLICY_PRECISE,
		.libvirt_compat = -1,
		.backend = VFD_MEMLOCK_BACKEND_TYPE1,
		.accounting = VFD_MEMLOCK_IOMMUFD_PER_USER,
		.json = arg_json,
	};
	int r;

	if (argc < 2 || strcmp(argv[1], "plan") != 0)
		return usage_error("'memlock' needs a subcommand: plan; see 'vfioctl memlock plan --help'");
	r = parse_args(argc - 1, argv + 1, &a);
	if (r < 0)
		return 0; /* --help */
	if (r > 0)
		return r;

	r = vfd_memlock_config_new(&cfg);
	if (r < 0)
		return runtime_error("out of memory");
	if (a.config) {
		r = load_config(a.config, cfg);
		if (r != 0)
			return r;
	}
	if (a.libvirt_compat >= 0)
		cfg->libvirt_compat = (vfd_memlock_libvirt_compat)a.libvirt_compat;

	r = vfd_context_new(a.root, &ctx);
	if (r < 0)
		return runtime_error("cannot use root '%s': %s", a.root ? a.root : "/", strerror(-r));

	r = vfd_domain_parse_file(a.domain_xml, &dom, &err);
	if (r < 0)
		return runtime_error("%s: %s", a.domain_xml, err ? err : strerror(-r));

	lookup = (vfd_memlock_host_lookup){
		.pci_iommu_group = host_iommu_group,
		.mdev_type = host_mdev_type,
		.userdata = ctx,
	};
	r = vfd_memlock_spec_from_domain(dom, &lookup, a.backend, &spec, &err);
	if (r < 0)
		return runtime_error("%s: %s", a.domain_xml, err ? err : strerror(-r));
	spec->iommufd_accounting = a.accounting;
	if (a.pid > 0) {
		r = observe_pid(ctx, a.pid, spec);
		if (r != 0)
			return r;
	}

	r = vfd_memlock_plan_compute(spec, cfg, a.policy, &plan, &err);
	if (r < 0)
		return runtime_error("%s: %s", a.domain_xml, err ? err : strerror(-r));

	r = vfd_dma_budget_compute(spec, a.dma_entry_limit ? a.dma_entry_limit : host_dma_entry_limit(ctx),
				   &budget, &err);
	if (r < 0)
		return runtime_error("%s: %s", a.domain_xml, err ? err : strerror(-r));

	o = plan_to_json(dom, spec, plan, budget, a.dma_entry_limit > 0);
	if (!o)
		return runtime_error("out of memory");
	if (a.json)
		r = output_json(o);
	else {
		r = print_human(o, dom, plan);
		if (r >= 0)
			r = print_budget(o, budget);
	}
	if (r < 0)
		return runtime_error("cannot write the output: %s", strerror(-r));
	return 0;
}
