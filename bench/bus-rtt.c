/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bus-rtt BUS_ADDRESS ROOT DEVICE CALLS
 *
 * The D-Bus round trip of vfiod's inventory: CALLS calls of GetDevice
 * (DEVICE) and CALLS/10 (at least 5) calls of ListDevices on one sd-bus
 * connection, each timed from the call to its reply received. Beside each
 * call, in the same loop, the floor does the same read in this process
 * (floor-read.c on ROOT): one device, and every device. Prints one JSON
 * object with p50, p99, min and max in ms of the four series.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "floor-read.h"
#include "vfd-bus.h"

#define WARMUP 5

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int call(sd_bus *bus, const char *method, const char *address)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	int r;

	if (address)
		r = sd_bus_call_method(bus, VFD_BUS_NAME, VFD_BUS_PATH, VFD_BUS_INTERFACE, method,
				       &error, &reply, "s", address);
	else
		r = sd_bus_call_method(bus, VFD_BUS_NAME, VFD_BUS_PATH, VFD_BUS_INTERFACE, method,
				       &error, &reply, "");
	if (r < 0)
		fprintf(stderr, "bus-rtt: %s: %s\n", method, error.message ? error.message : strerror(-r));
	sd_bus_message_unref(reply);
	sd_bus_error_free(&error);
	return r;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* nearest-rank percentile of sorted V */
static double percentile(const double *v, size_t n, double p)
{
	size_t rank = (size_t)(p / 100.0 * n + 0.999999);

	if (rank < 1)
		rank = 1;
	return v[(rank > n ? n : rank) - 1];
}

static void print_series(const char *name, double *v, size_t n, const char *sep)
{
	qsort(v, n, sizeof(*v), cmp_double);
	printf("\"%s\":{\"p50_ms\":%.4f,\"p99_ms\":%.4f,\"min_ms\":%.4f,\"max_ms\":%.4f,\"n\":%zu}%s",
	       name, percentile(v, n, 50), percentile(v, n, 99), v[0], v[n - 1], n, sep);
}

int main(int argc, char *argv[])
{
	double *get, *floor_get, *list, *floor_list, t;
	FILE *devnull;
	sd_bus *bus = NULL;
	size_t calls, lists;
	char group[256];
	int sys, r;

	if (argc != 5) {
		fprintf(stderr, "usage: %s BUS_ADDRESS ROOT DEVICE CALLS\n", argv[0]);
		return 2;
	}
	calls = strtoul(argv[4], NULL, 10);
	if (calls < 1)
		return 2;
	lists = calls / 10 < 5 ? 5 : calls / 10;

	sys = floor_open_sys(argv[2]);
	devnull = fopen("/dev/null", "we");
	get = calloc(calls, sizeof(double));
	floor_get = calloc(calls, sizeof(double));
	list = calloc(lists, sizeof(double));
	floor_list = calloc(lists, sizeof(double));
	if (sys < 0 || !devnull || !get || !floor_get || !list || !floor_list) {
		fprintf(stderr, "bus-rtt: cannot set up\n");
		return 1;
	}

	if ((r = sd_bus_new(&bus)) < 0 || (r = sd_bus_set_address(bus, argv[1])) < 0 ||
	    (r = sd_bus_set_bus_client(bus, 1)) < 0 || (r = sd_bus_start(bus)) < 0) {
		fprintf(stderr, "bus-rtt: cannot connect to %s: %s\n", argv[1], strerror(-r));
		return 1;
	}

	for (size_t i = 0; i < WARMUP; i++)
		if (call(bus, "GetDevice", argv[3]) < 0 || call(bus, "ListDevices", NULL) < 0)
			return 1;

	for (size_t i = 0; i < calls; i++) {
		t = now_ms();
		if (call(bus, "GetDevice", argv[3]) < 0)
			return 1;
		get[i] = now_ms() - t;

		t = now_ms();
		if (floor_device(sys, argv[3], devnull, group, sizeof(group)) < 0)
			return 1;
		fflush(devnull);
		floor_get[i] = now_ms() - t;
	}
	for (size_t i = 0; i < lists; i++) {
		t = now_ms();
		if (call(bus, "ListDevices", NULL) < 0)
			return 1;
		list[i] = now_ms() - t;

		t = now_ms();
		if (floor_devices(sys, devnull) < 0)
			return 1;
		fflush(devnull);
		floor_list[i] = now_ms() - t;
	}

	printf("{");
	print_series("GetDevice", get, calls, ",");
	print_series("floor_device", floor_get, calls, ",");
	print_series("ListDevices", list, lists, ",");
	print_series("floor_devices", floor_list, lists, "");
	printf("}\n");
	sd_bus_flush_close_unref(bus);
	return 0;
}
