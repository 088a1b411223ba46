# SPDX-License-Identifier: LGPL-2.1-or-later
# The lab rows of issue 13, run INSIDE the lab guest by bench/lab.sh
# (through tests/lab/run-guest-script.sh). bench/lab.sh appends the tools
# (driverctl, mdevctl, bash for driverctl, bench/timeit) as a base64 tar
# after the line "exit 0" at the end; the number of runs comes first as
# BENCH_RUNS=N. Writes /out/timeit-*.json (bench/timeit's output) and
# /out/checks.txt; prints nothing the host parses from the console.
. /opt/vfiod/tests/vm/lib/guest-lib.sh

: "${BENCH_RUNS:=11}"
BENCH_WARMUP=2
T=/run/bench
mkdir -p "$T"

# ---- the tools carried in this script ----
sed '1,/^exit 0$/d' "$0" | base64 -d | tar -xzf - -C /
# what the packages' installation would have made: mdevctl's configuration folders
mkdir -p /etc/mdevctl.d/scripts.d/callouts /etc/mdevctl.d/scripts.d/notifiers \
	/usr/lib/mdevctl/scripts.d/callouts /usr/lib/mdevctl/scripts.d/notifiers
for tool in /usr/sbin/driverctl /usr/bin/mdevctl /usr/bin/bash /usr/bin/timeit /usr/bin/vfd-trivial; do
	[ -x "$tool" ] || fail "the payload has no $tool"
done

modprobe vfio-pci || fail "modprobe vfio-pci"
start_vfiod
EDU=$(lab_device edu)
[ -n "$EDU" ] || fail "no edu in the guest"
[ -z "$(pci_driver "$EDU")" ] || fail "edu is bound to $(pci_driver "$EDU") at start"
DEV=/sys/bus/pci/devices/$EDU
VFIOCTL=$VFIOD_BIN/vfioctl

# One round per way, each a shell script run by timeit (A B C interleaved):
# the same shell start-up is in every figure. Each round checks its end
# state, so a way that does nothing fails the run instead of looking fast.
cat >"$T/bind-vfioctl.sh" <<-EOF
	$VFIOCTL bind $EDU >/dev/null || exit 1
	[ "\$(basename "\$(readlink $DEV/driver)")" = vfio-pci ] || exit 1
	$VFIOCTL unbind $EDU >/dev/null || exit 1
	[ ! -e $DEV/driver ]
EOF
cat >"$T/bind-raw.sh" <<-EOF
	echo vfio-pci >$DEV/driver_override
	echo $EDU >/sys/bus/pci/drivers_probe
	[ "\$(basename "\$(readlink $DEV/driver)")" = vfio-pci ] || exit 1
	echo $EDU >$DEV/driver/unbind
	echo >$DEV/driver_override
	[ ! -e $DEV/driver ]
EOF
# the floor of any tool of two commands: the raw writes, plus two starts of
# a trivial C program (bench/trivial) where the tool's two processes start
cat >"$T/bind-floor.sh" <<-EOF
	vfd-trivial
	echo vfio-pci >$DEV/driver_override
	echo $EDU >/sys/bus/pci/drivers_probe
	[ "\$(basename "\$(readlink $DEV/driver)")" = vfio-pci ] || exit 1
	vfd-trivial
	echo $EDU >$DEV/driver/unbind
	echo >$DEV/driver_override
	[ ! -e $DEV/driver ]
EOF
cat >"$T/bind-driverctl.sh" <<-EOF
	driverctl set-override $EDU vfio-pci >/dev/null || exit 1
	[ "\$(basename "\$(readlink $DEV/driver)")" = vfio-pci ] || exit 1
	driverctl --noprobe unset-override $EDU >/dev/null || exit 1
	[ ! -e $DEV/driver ]
EOF

# once each with its errors shown, before timeit hides them
check_rounds() {
	for _w in "$@"; do
		sh "$T/$_w.sh" || { sh -x "$T/$_w.sh" || :; fail "the round $_w failed"; }
	done
}
check_rounds bind-vfioctl bind-raw bind-driverctl bind-floor
log "bind + unbind of $EDU: vfioctl, raw sysfs, driverctl ($BENCH_RUNS runs)"
timeit -n "$BENCH_RUNS" -w "$BENCH_WARMUP" -- sh "$T/bind-vfioctl.sh" :: \
	sh "$T/bind-raw.sh" :: sh "$T/bind-driverctl.sh" :: sh "$T/bind-floor.sh" >/out/timeit-bind.json ||
	fail "a bind + unbind round failed"
assert_eq "" "$(pci_driver "$EDU")" "edu's driver after the bind rows"

if [ -d /sys/class/mdev_bus/mtty ]; then
	TYPE=$(ls /sys/class/mdev_bus/mtty/mdev_supported_types | head -n1)
	TYPES=/sys/class/mdev_bus/mtty/mdev_supported_types/$TYPE
	U1=$(cat /proc/sys/kernel/random/uuid)
	U2=$(cat /proc/sys/kernel/random/uuid)
	U3=$(cat /proc/sys/kernel/random/uuid)
	cat >"$T/mdev-vfioctl.sh" <<-EOF
		$VFIOCTL mdev create mtty $TYPE --uuid $U1 >/dev/null || exit 1
		[ -d /sys/bus/mdev/devices/$U1 ] || exit 1
		$VFIOCTL mdev remove $U1 >/dev/null || exit 1
		[ ! -e /sys/bus/mdev/devices/$U1 ]
	EOF
	cat >"$T/mdev-raw.sh" <<-EOF
		echo $U2 >$TYPES/create || exit 1
		[ -d /sys/bus/mdev/devices/$U2 ] || exit 1
		echo 1 >/sys/bus/mdev/devices/$U2/remove || exit 1
		[ ! -e /sys/bus/mdev/devices/$U2 ]
	EOF
	U4=$(cat /proc/sys/kernel/random/uuid)
	cat >"$T/mdev-floor.sh" <<-EOF
		vfd-trivial
		echo $U4 >$TYPES/create || exit 1
		[ -d /sys/bus/mdev/devices/$U4 ] || exit 1
		vfd-trivial
		echo 1 >/sys/bus/mdev/devices/$U4/remove || exit 1
		[ ! -e /sys/bus/mdev/devices/$U4 ]
	EOF
	cat >"$T/mdev-mdevctl.sh" <<-EOF
		mdevctl start -u $U3 -p mtty --type $TYPE >/dev/null || exit 1
		[ -d /sys/bus/mdev/devices/$U3 ] || exit 1
		mdevctl stop -u $U3 >/dev/null || exit 1
		[ ! -e /sys/bus/mdev/devices/$U3 ]
	EOF
	check_rounds mdev-vfioctl mdev-raw mdev-mdevctl mdev-floor
	log "mdev create + remove ($TYPE on mtty): vfioctl, raw sysfs, mdevctl ($BENCH_RUNS runs)"
	timeit -n "$BENCH_RUNS" -w "$BENCH_WARMUP" -- sh "$T/mdev-vfioctl.sh" :: \
		sh "$T/mdev-raw.sh" :: sh "$T/mdev-mdevctl.sh" :: sh "$T/mdev-floor.sh" >/out/timeit-mdev.json ||
		fail "an mdev create + remove round failed"
	echo "mdev_type=$TYPE" >>/out/checks.txt
else
	log "no mtty mdev parent in this guest: no mdev rows"
fi

echo "edu=$EDU kernel=$(uname -r) cpus=$(nproc)" >>/out/checks.txt
stop_vfiod 2>/dev/null || :
exit 0
