/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfd-spawn-at PID CMD [ARG...]: runs CMD as a process with pid PID
 * (clone3(2) with set_tid, which root may ask for in its pid namespace;
 * /proc/sys/kernel/ns_last_pid needs CONFIG_CHECKPOINT_RESTORE, which the
 * 7.3 test kernel lacks) and exits at once, leaving it running: pid reuse
 * attacks of the security tests give a victim a stale connection's pid.
 * Exit status 0 once CMD has been started as PID; 1 when PID is taken or
 * the kernel refuses; 2 on bad usage. CMD's own failure to start is its
 * exit status 127, printed on stderr.
 */
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
	struct clone_args args = { .exit_signal = SIGCHLD };
	pid_t want, pid;
	char *end;
	long v;

	if (argc < 3) {
		fprintf(stderr, "usage: %s PID CMD [ARG...]\n", argv[0]);
		return 2;
	}
	errno = 0;
	v = strtol(argv[1], &end, 10);
	if (errno || *end || v <= 1 || v > INT32_MAX) {
		fprintf(stderr, "%s: not a pid: %s\n", argv[0], argv[1]);
		return 2;
	}
	want = (pid_t) v;
	args.set_tid = (uint64_t) (uintptr_t) &want;
	args.set_tid_size = 1;

	pid = (pid_t) syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0) {
		fprintf(stderr, "%s: clone3 with pid %d: %s\n", argv[0], (int) want, strerror(errno));
		return 1;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "%s: %s: %s\n", argv[0], argv[2], strerror(errno));
		_exit(127);
	}
	printf("%d\n", (int) pid);
	return 0;
}
