/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfioctl: the command line client of vfiod. Global options, then one verb. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfd-config.h"
#include "vfiod/util.h"
#include "vfioctl.h"

bool arg_json;
const char *arg_bus_address;

typedef struct Verb {
	const char *name;
	unsigned min_args; /* not counting the verb */
	unsigned max_args;
	const char *args;  /* for messages: "DEVICE", "[PARENT]" */
	int (*run)(int argc, char *argv[]);
	/*
	 * The verb parses options of its own: global options must come before
	 * it, and everything after it is the verb's. Other verbs accept global
	 * options anywhere ("vfioctl devices --json").
	 */
	bool own_options;
} Verb;

static const Verb verbs[] = {
	{ "devices",      0, 0, "",         verb_devices      },
	{ "groups",       0, 0, "",         verb_groups       },
	{ "show",         1, 1, "DEVICE",   verb_show         },
	{ "mdev-parents", 0, 0, "",         verb_mdev_parents },
	{ "mdev-types",   0, 1, "[PARENT]", verb_mdev_types   },
	{ "mdevs",        0, 0, "",         verb_mdevs        },
	{ "host",         0, 0, "",         verb_kernel_host  }, /* verb-kernel.c */
	{ "memlock",      1, 64, "plan --domain-xml FILE", verb_memlock, true }, /* memlock helper: verb-memlock.c */
	{ "vm",           1, 64, "COMMAND [ARGS]", verb_vm,     true },
	{ "bind",         1, 64, "ADDRESS [--unbind-host-members] [--driver NAME]", verb_bind, true },
	{ "unbind",       1, 64, "ADDRESS", verb_unbind, true },
	{ "mdev",         1, 64, "create|remove ARGS", verb_mdev, true },
	{ "config",       1, 2, "apply|status", verb_config, true }, /* systemd/config: verb-config.c */
	{ "sriov",        1, 64, "set PF --num-vfs N | --restore", verb_sriov, true }, /* verb-sriov.c */
	{ "quarantine",   1, 3, "list|clear DEVICE", verb_quarantine, true }, /* verb-quarantine.c */
	/* hidden (not in help()): names for the shell completion, verb-complete.c */
	{ "__complete",   1, 2, "KIND [ARG]", verb_complete },
};

/*
 * One line, always: messages quote arguments and daemon replies, which
 * may hold newlines or escape sequences; control bytes are escaped.
 */
static int print_line(int status, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static int print_line(int status, const char *fmt, va_list ap)
{
	_cleanup_free_ char *msg = NULL;

	if (vasprintf(&msg, fmt, ap) < 0) {
		fputs("vfioctl: out of memory\n", stderr);
		return status;
	}

	fputs("vfioctl: ", stderr);
	for (const char *p = msg; *p; p++) {
		unsigned char ch = (unsigned char) *p;

		if (ch < ' ' || ch == 0x7f)
			fprintf(stderr, "\\x%02x", ch);
		else
			fputc(ch, stderr);
	}
	fputc('\n', stderr);
	return status;
}

int usage_error(const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = print_line(VFIOCTL_EXIT_USAGE, fmt, ap);
	va_end(ap);
	return r;
}

int runtime_error(const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = print_line(VFIOCTL_EXIT_FAILURE, fmt, ap);
	va_end(ap);
	return r;
}

static void help(void)
{
	printf("Usage: vfioctl [OPTIONS] VERB [ARGS]\n"
	       "\n"
	       "Show the host's VFIO inventory as vfiod sees it; assign devices to VMs.\n"
	       "\n"
	       "Verbs:\n"
	       "  devices              List PCI functions with driver and IOMMU group\n"
	       "  groups               List IOMMU groups, their viability and each member's\n"
	       "                       state with the reason\n"
	       "  show DEVICE          Show one PCI function (DDDD:BB:SS.F) and its group\n"
	       "  mdev-parents         List devices that offer mediated device types\n"
	       "  mdev-types [PARENT]  List mdev types, of every parent or of PARENT\n"
	       "  mdevs                List mediated devices\n"
	       "  host                 What this kernel offers for VFIO (iommufd, cdevs, ...)\n"
	       "\n"
	       "  vm register NAME --pid PID --backend iommufd|type1|auto [--uuid UUID]\n"
	       "     [--memory BYTES] [--viommu] [--vmm-opens-groups]\n"
	       "     [--keep-after-exit] [--memlock-policy precise|libvirt|none] [--memlock-cap BYTES]\n"
	       "     [--extra-charge BYTES]  (what the VMM maps besides guest memory: QEMU's ROMs)\n"
	       "     [--headroom BYTES]  (the precise limit's headroom per address space; default 64M)\n"
	       "                       Register a VM whose VMM is process PID\n"
	       "  vm prepare NAME --backend iommufd|type1|auto [the options of register] [--no-grant]\n"
	       "                       A VM without VMM yet (libvirt's prepare): devices first\n"
	       "  vm attach-vmm NAME --pid PID   Name the VMM of a prepared VM\n"
	       "  vm list              List registered VMs\n"
	       "  vm show NAME         Show one VM's properties\n"
	       "  vm add-device NAME DEVICE      Assign a PCI function or an existing mdev\n"
	       "  vm create-mdev NAME PARENT TYPE [--uuid UUID] [--attr NAME=VALUE]...\n"
	       "                       Create an mdev for the VM (removed at release)\n"
	       "  vm create-vgpu NAME TYPE [--parent PF]\n"
	       "                       A vendor vGPU of TYPE on a free VF (type 0 again at release)\n"
	       "  vm remove-device NAME DEVICE   Give a device back (before GetFds)\n"
	       "     add-device/remove-device ... --libvirt [--libvirt-uri URI] [--timeout SEC]\n" /* libvirt-events */
	       "                       Hotplug into the running libvirt domain NAME, the limit\n" /* libvirt-events */
	       "                       raised before libvirt's attach, lowered after its detach\n" /* libvirt-events */
	       "  vm release NAME      Give every device of the VM back\n"
	       "  vm check-charge NAME Compare the expected and observed memlock charge\n"
	       "  vm change-process NAME --pid PID [--timeout SEC] | --commit | --abort\n"
	       "                       Move the VM's charge to a new VMM process (live update)\n"
	       "  vm secret NAME       Print the secret the VM's VMM proves itself with\n"
	       "  vm start DOMAIN --libvirt  vfiod starts a libvirt domain as its iommufd broker\n"
	       "                       (AuthenticateVMM); for root and the VM's owner\n"
	       "  bind ADDRESS [--unbind-host-members] [--driver NAME]\n"
	       "                       Bind ADDRESS's IOMMU group to vfio-pci, or to the VFIO\n"
	       "                       variant driver that matches it, outside any VM\n"
	       "  unbind ADDRESS       Undo 'bind': the original drivers come back\n"
	       "  mdev create PARENT TYPE [--uuid UUID] [--attr NAME=VALUE]...\n"
	       "  mdev remove UUID     Create or remove a mediated device""\n"
	       "  config apply|status  Apply the persistent configuration again, or show\n"
	       "                       how each binding and mdev of it fared\n" /* systemd/config */
	       "  sriov set PF --num-vfs N   Give the SR-IOV PF N VFs, none on a host driver\n"
	       "  sriov set PF --restore     Give the PF back its original VF count\n"
	       "  quarantine list      Devices whose reset between VMs failed: no VM gets them\n"
	       "  quarantine clear DEVICE\n"
	       "                       Let a quarantined device go to VMs again (administrators)\n"
	       "\n"
	       "Options:\n"
	       "  -h --help            Show this help and exit\n"
	       "     --version         Show the version and exit\n"
	       "     --json            Print JSON (fields: see docs/json-fields.md)\n"
	       "     --bus-address=ADDR Talk to vfiod on the bus at ADDR, not the system bus\n"
	       "\n"
	       "Exit status: 0 success; 1 failure (vfiod not running, no such device,\n"
	       "error from vfiod); 2 bad usage (unknown verb or option, wrong number of\n"
	       "arguments, malformed argument), detected before vfiod is asked anything.\n");
}

/*
 * Returns 1 to go on with the verb at argv[optind], 0 when done (--help,
 * --version), or VFIOCTL_EXIT_USAGE.
 */
static int parse_argv(int argc, char *argv[])
{
	enum {
		ARG_VERSION = 0x100,
		ARG_JSON,
		ARG_BUS_ADDRESS,
	};
	static const struct option options[] = {
		{ "help",        no_argument,       NULL, 'h'             },
		{ "version",     no_argument,       NULL, ARG_VERSION     },
		{ "json",        no_argument,       NULL, ARG_JSON        },
		{ "bus-address", required_argument, NULL, ARG_BUS_ADDRESS },
		{}
	};
	int c;

	/* our own one-line messages instead of getopt's */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
		switch (c) {
		case 'h':
			help();
			return 0;
		case ARG_VERSION:
			printf("vfioctl %s\n", VFD_VERSION);
			return 0;
		case ARG_JSON:
			arg_json = true;
			break;
		case ARG_BUS_ADDRESS:
			if (!*optarg)
				return usage_error("--bus-address needs a D-Bus address, got ''");
			arg_bus_address = optarg;
			break;
		case ':':
			return usage_error("option '%s' needs an argument", argv[optind - 1]);
		case '?':
			/* optopt: 0 for an unknown long option, the letter of an unknown
			 * short one, a long option's value when it got an argument it does not take */
			if (optopt == 0)
				return usage_error("unknown option '%s'; see 'vfioctl --help'", argv[optind - 1]);
			if (optopt < 0x80)
				return usage_error("unknown option '-%c'; see 'vfioctl --help'", optopt);
			return usage_error("option '%s' takes no argument", argv[optind - 1]);
		default:
			abort();
		}

	return 1;
}

static const Verb *find_verb(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

/*
 * The index of the verb in argv: the first argument that is neither an
 * option nor the value of one (argc when there is none).
 */
static int verb_index(int argc, char *argv[])
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return i + 1;
		if (argv[i][0] != '-' || argv[i][1] == '\0')
			return i;
		/* the only global option whose value may be a separate argument */
		if (strcmp(argv[i], "--bus-address") == 0)
			i++;
	}
	return argc;
}

static int dispatch(int argc, char *argv[])
{
	const Verb *v;
	unsigned n_args;

	if (argc <= 0)
		return usage_error("missing verb; see 'vfioctl --help'");

	v = find_verb(argv[0]);
	if (!v)
		return usage_error("unknown verb '%s'; see 'vfioctl --help'", argv[0]);

	n_args = (unsigned) argc - 1;
	if (n_args < v->min_args)
		return usage_error("'%s' needs %s", v->name, v->args);
	if (n_args > v->max_args) {
		if (v->max_args == 0)
			return usage_error("'%s' takes no arguments, got '%s'", v->name, argv[1]);
		return usage_error("'%s' takes %s, got extra argument '%s'",
				   v->name, v->args, argv[v->max_args + 1]);
	}

	return v->run(argc, argv);
}

int main(int argc, char *argv[])
{
	const Verb *v;
	int vi, r;

	/* a verb with options of its own gets every argument after it untouched */
	vi = verb_index(argc, argv);
	v = vi < argc ? find_verb(argv[vi]) : NULL;
	if (v && v->own_options) {
		r = parse_argv(vi, argv);
		if (r != 1)
			return r;
		if (optind < vi)
			return usage_error("unexpected argument '%s' before the verb", argv[optind]);
		return dispatch(argc - vi, argv + vi);
	}

	r = parse_argv(argc, argv);
	if (r != 1)
		return r; /* 0 or VFIOCTL_EXIT_USAGE */

	return dispatch(argc - optind, argv + optind);
}
