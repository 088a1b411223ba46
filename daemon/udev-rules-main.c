/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfiod-udev-rules: writes the udev rules of early binding
 * (vfiod/udev-rule.h) from vfiod's configuration. Run by
 * vfiod-udev-rules.service before udevd starts (so coldplug already sees
 * the rules), again when vfiod applies a changed configuration (vfiod
 * restarts that unit: vfiod's own sandbox keeps it away from udev's
 * directories), and by the initramfs-tools hook into the initramfs.
 *
 *   vfiod-udev-rules [--root DIR] [--output DIR | --print]
 *
 * --root: read etc/vfiod/vfiod.json (and the imports) below DIR, default /.
 * --output: the rules directory, default /run/udev/rules.d.
 * --print: write the rules to stdout instead.
 *
 * A configuration vfiod would refuse, a value unsafe in a rule, a driver
 * that is no VFIO driver, or a binding of the PCI function the root file
 * system (or /usr) is on, is
 * reported on stderr and nothing is written (exit 1): the rules file in
 * place, if any, stays as it was.
 */
#include <getopt.h>
#include <stdio.h>
#include <sys/stat.h>
#include <string.h>

#include "vfiod/config.h"
#include "vfiod/host-root.h"
#include "vfiod/inventory.h"
#include "vfiod/udev-rule.h"

static int fail(const vfd_op_error *e, int r, const char *what)
{
	if (vfd_op_error_is_set(e))
		fprintf(stderr, "vfiod-udev-rules: %s: %s\n", e->subject, e->message);
	else
		fprintf(stderr, "vfiod-udev-rules: %s: %s\n", what, strerror(-r));
	fprintf(stderr, "vfiod-udev-rules: refused; no rule written\n");
	return 1;
}

/*
 * What identifies one version of vfiod.json: a save while a pass runs is
 * seen after it (the .path unit that started this run does not start
 * another while it runs, so the save would be lost otherwise).
 */
typedef struct Stamp {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	bool exists;
} Stamp;

static Stamp config_stamp(const char *root)
{
	char path[4096];
	struct stat st;
	Stamp s = {};

	snprintf(path, sizeof(path), "%s/%s", root, VFD_CONFIG_FILE);
	if (stat(path, &st) == 0)
		s = (Stamp) { st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim, true };
	return s;
}

static bool stamp_equal(const Stamp *a, const Stamp *b)
{
	return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* one pass: the rules of the configuration as it is now; the exit code */
static int generate(const char *root, const char *output, bool print)
{
	_cleanup_(vfd_context_freep) vfd_context *ctx = NULL;
	_cleanup_(vfd_config_freep) vfd_config *c = NULL;
	_cleanup_free_ char *text = NULL;
	vfd_op_error e = {};
	size_t n = 0;
	int r;

	r = vfd_context_new(root, &ctx);
	if (r < 0)
		return fail(&e, r, root);
	r = vfd_config_load(ctx, &e, &c);
	if (r < 0)
		return fail(&e, r, VFD_CONFIG_FILE);
	for (size_t i = 0; i < c->n_warnings; i++)
		fprintf(stderr, "vfiod-udev-rules: warning: %s\n", c->warnings[i]);

	{
		/* the host's own file systems: a rule must never take them away at boot */
		dev_t devs[VFD_HOST_ROOT_DEVS_MAX];
		size_t n_devs = vfd_host_root_devices_at(ctx, root, devs);

		r = vfd_udev_rules_check_host_critical(ctx, c, devs, n_devs, &e);
		if (r < 0)
			return fail(&e, r, "checking the host's devices");
	}
	r = vfd_udev_rules_check_drivers(ctx, c, &e);
	if (r < 0)
		return fail(&e, r, "checking the drivers");

	r = vfd_udev_rules_format(c, &e, &text, &n);
	if (r < 0)
		return fail(&e, r, "formatting the rules");

	if (print) {
		fputs(text, stdout);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	r = vfd_udev_rules_write(output, text);
	if (r < 0)
		return fail(&e, r, output);
	printf("vfiod-udev-rules: %s/%s: %zu rule(s)\n", output, VFD_UDEV_RULES_FILE, n);
	return 0;
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "root",   required_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'o' },
		{ "print",  no_argument,       NULL, 'p' },
		{ "help",   no_argument,       NULL, 'h' },
		{}
	};
	const char *root = "/", *output = VFD_UDEV_RULES_DIR;
	bool print = false;
	int opt;

	while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
		switch (opt) {
		case 'r':
			root = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'p':
			print = true;
			break;
		case 'h':
			printf("Usage: %s [--root DIR] [--output DIR | --print]\n"
			       "Writes %s for vfiod's persistent bindings.\n",
			       argv[0], VFD_UDEV_RULES_FILE);
			return 0;
		default:
			return 2;
		}
	if (optind < argc) {
		fprintf(stderr, "vfiod-udev-rules: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}

	/* again while the file changed under a pass; a file rewritten for ever is not ours to chase */
	for (unsigned pass = 0; pass < 8; pass++) {
		Stamp before = config_stamp(root), after;
		int rc = generate(root, output, print);

		if (rc != 0 || print)
			return rc;
		after = config_stamp(root);
		if (stamp_equal(&before, &after))
			return 0;
		printf("vfiod-udev-rules: %s changed while the rules were written; again\n", VFD_CONFIG_FILE);
	}
	fprintf(stderr, "vfiod-udev-rules: %s keeps changing; the rules are of one of its versions\n",
		VFD_CONFIG_FILE);
	return 1;
}
