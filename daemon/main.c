/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfiod: parse the command line, set up the manager, run its event loop. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h> /* libvirt-events */
#include <sys/resource.h>

#include "libvirt/libvirt-events.h"
#include "log.h"
#include "manager.h"
#include "journal-file.h"
#include "vfd-bus.h"
#include "vfd-config.h"

static const char *arg_bus_address;
static const char *arg_root;
static const char *arg_test_fault;
static const char *arg_test_fault_trace;
static const char *arg_libvirt_uri; /* libvirt-events */
static bool arg_inventory_only;

static void help(void)
{
	printf("Usage: vfiod [OPTIONS]\n"
	       "\n"
	       "Host manager for VFIO device assignment: serves " VFD_BUS_NAME " on the\n"
	       "system bus.\n"
	       "\n"
	       "  -h --help              Show this help and exit\n"
	       "     --version           Show the version and exit\n"
	       "     --bus-address=ADDR  Serve on the bus at ADDR instead of the system bus\n"
	       "     --root=DIR          Read sys/ and dev/ below DIR instead of / (tests);\n"
	       "                         udev is not watched then\n"
	       "     --libvirt-uri=URI   Follow libvirt's device events at URI (default\n"
	       "                         " LIBVIRT_EVENTS_DEFAULT_URI ", none with --root; also\n"
	       "                         $VFIOD_LIBVIRT_URI); \"" LIBVIRT_EVENTS_URI_OFF "\" turns it off\n"
	       "  -v --verbose           Log debug messages\n"
	       "     --test-fault=SPEC   TESTS ONLY: fail one pass of a step, or die there:\n"
	       "                         STEP:N[:ERRNO|:kill], e.g. bind-member:2 (the 2nd\n"
	       "                         group member moved to vfio-pci fails) or\n"
	       "                         journal-write:3:kill; also $VFIOD_TEST_FAULT\n"
	       "     --test-fault-trace=FILE  TESTS ONLY: append every step passed to FILE,\n"
	       "                         one \"STEP N\" line each; also $VFIOD_TEST_FAULT_TRACE\n"
	       "     --inventory-only    TESTS ONLY: serve the inventory methods alone, read\n"
	       "                         afresh on every call; change nothing\n"
	       "\n"
	       "Exit status: 0 after SIGTERM or SIGINT, 1 on failure, 2 on bad usage.\n");
}

/* 1: go on, 0: exit successfully (--help), <0: usage error */
static int parse_argv(int argc, char *argv[])
{
	enum {
		ARG_VERSION = 0x100,
		ARG_BUS_ADDRESS,
		ARG_ROOT,
		ARG_TEST_FAULT,
		ARG_TEST_FAULT_TRACE,
		ARG_LIBVIRT_URI, /* libvirt-events */
		ARG_INVENTORY_ONLY,
	};
	static const struct option options[] = {
		{ "help",        no_argument,       NULL, 'h'             },
		{ "version",     no_argument,       NULL, ARG_VERSION     },
		{ "bus-address", required_argument, NULL, ARG_BUS_ADDRESS },
		{ "root",        required_argument, NULL, ARG_ROOT        },
		{ "verbose",     no_argument,       NULL, 'v'             },
		{ "test-fault",  required_argument, NULL, ARG_TEST_FAULT  },
		{ "test-fault-trace", required_argument, NULL, ARG_TEST_FAULT_TRACE },
		{ "libvirt-uri", required_argument, NULL, ARG_LIBVIRT_URI }, /* libvirt-events */
		{ "inventory-only", no_argument,    NULL, ARG_INVENTORY_ONLY },
		{}
	};
	int c;

	/* getopt's own messages name the bad option on one line */
	while ((c = getopt_long(argc, argv, "hv", options, NULL)) >= 0)
		switch (c) {
		case 'h':
			help();
			return 0;
		case ARG_VERSION:
			printf("vfiod %s\n", VFD_VERSION);
			return 0;
		case ARG_BUS_ADDRESS:
			if (!*optarg)
				return log_error_errno(EINVAL, "--bus-address= needs an address.");
			arg_bus_address = optarg;
			break;
		case ARG_ROOT:
			if (!*optarg)
				return log_error_errno(EINVAL, "--root= needs a directory.");
			arg_root = optarg;
			break;
		case ARG_TEST_FAULT:
			arg_test_fault = optarg;
			break;
		case ARG_TEST_FAULT_TRACE:
			arg_test_fault_trace = optarg;
			break;
		case ARG_LIBVIRT_URI: /* libvirt-events */
			if (!*optarg)
				return log_error_errno(EINVAL, "--libvirt-uri= needs a URI, or \"%s\".",
						       LIBVIRT_EVENTS_URI_OFF);
			arg_libvirt_uri = optarg;
			break;
		case ARG_INVENTORY_ONLY:
			arg_inventory_only = true;
			break;
		case 'v':
			log_set_max_level(LOG_DEBUG);
			break;
		case '?':
			return -EINVAL;
		default:
			abort();
		}

	if (optind < argc)
		return log_error_errno(EINVAL, "Unexpected argument '%s'; see --help.", argv[optind]);

	return 1;
}

/*
 * Descriptors: vfiod holds several per device of each VM (its own, and
 * copies of what it handed out), and the soft limit of 1024 that systemd
 * gives services is for select() users; vfiod polls with epoll only.
 */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warning_errno(errno, "Cannot raise the soft limit of open files: %m");
}

int main(int argc, char *argv[])
{
	_cleanup_(manager_freep) Manager *m = NULL;
	int r;

	r = parse_argv(argc, argv);
	if (r <= 0)
		return r < 0 ? 2 : EXIT_SUCCESS;
	raise_nofile();

	/*
	 * A fixed threshold: replies of a large host (megabytes, built per
	 * call) get pages of their own that go back when freed. glibc's
	 * default would raise the threshold after the first such free and
	 * keep every later one on the heap.
	 */
	(void) mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	/*
	 * One arena for every thread: the helper threads (unbind worker,
	 * libvirt loop and fetch) allocate little and rarely, and an arena
	 * each would reserve address space and keep free memory of its own
	 * (the RSS target of bench/). Their allocations are not hot enough
	 * for the shared lock to matter.
	 */
	(void) mallopt(M_ARENA_MAX, 1);

	r = manager_new(arg_root, arg_bus_address, &m);
	if (r < 0) {
		log_error_errno(r, "Failed to set up the manager (root %s): %m",
				arg_root ? arg_root : "/");
		return EXIT_FAILURE;
	}

	/* test-only fault injection (lib/include/vfiod/fault.h); never set in production */
	if (!arg_test_fault)
		arg_test_fault = getenv("VFIOD_TEST_FAULT");
	if (arg_test_fault && *arg_test_fault) {
		r = manager_arm_test_fault(m, arg_test_fault);
		if (r < 0) {
			log_error_errno(r, "Invalid test fault '%s': expected STEP:N[:ERRNO|:kill], "
					"STEP one of the steps in lib/fault.c.", arg_test_fault);
			return 2;
		}
		log_warning("TEST FAULT armed: %s. This daemon is for tests only.", arg_test_fault);
	}
	if (!arg_test_fault_trace)
		arg_test_fault_trace = getenv("VFIOD_TEST_FAULT_TRACE");
	if (arg_test_fault_trace && *arg_test_fault_trace) {
		int fd = open(arg_test_fault_trace, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);

		if (fd < 0) {
			log_error_errno(errno, "Cannot open the test fault trace %s: %m", arg_test_fault_trace);
			return 2;
		}
		manager_trace_test_faults(m, fd); /* open until the process ends */
		log_warning("TEST FAULT TRACE to %s. This daemon is for tests only.", arg_test_fault_trace);
	}

	/* test-only crash points of device transactions (vm-journal.h, bind-journal.h) */
	if (getenv("VFIOD_TEST_CRASH") && *getenv("VFIOD_TEST_CRASH")) {
		journal_set_test_crash(getenv("VFIOD_TEST_CRASH"));
		log_warning("TEST CRASH armed at %s. This daemon is for tests only.",
			    getenv("VFIOD_TEST_CRASH"));
	}

	m->inventory_only = arg_inventory_only;
	r = manager_startup(m);
	if (r < 0)
		return EXIT_FAILURE; /* logged where it failed */

	/* --- libvirt-events: optional; a fixture root has no libvirt domains unless asked --- */
	if (!arg_libvirt_uri)
		arg_libvirt_uri = getenv("VFIOD_LIBVIRT_URI");
	if (!arg_libvirt_uri || !*arg_libvirt_uri || arg_inventory_only)
		arg_libvirt_uri = arg_root || arg_inventory_only ? LIBVIRT_EVENTS_URI_OFF : LIBVIRT_EVENTS_DEFAULT_URI;
	if (strcmp(arg_libvirt_uri, LIBVIRT_EVENTS_URI_OFF) != 0) {
		r = libvirt_events_new(m, arg_libvirt_uri, &m->libvirt);
		if (r == -ENOPKG || r == -ENOSYS)
			; /* no usable libvirt client library: logged, vfiod goes on without libvirt */
		else if (r < 0) {
			log_error_errno(r, "Failed to set up the libvirt client: %m");
			return EXIT_FAILURE;
		}
	} else
		log_debug("Not following libvirt's events (--libvirt-uri=%s).", LIBVIRT_EVENTS_URI_OFF);
	/* --- end libvirt-events --- */

	r = manager_run(m);
	if (r < 0) {
		/* fatal errors were logged before the loop ended; this names the cause once more */
		log_debug_errno(r, "Event loop ended: %m");
		return EXIT_FAILURE;
	}
	if (r > 0) {
		log_error("Lost the bus connection.");
		return EXIT_FAILURE;
	}

	log_info("Exiting.");
	return EXIT_SUCCESS;
}
