# vfiod-kernels: distro test modern
# Issue 14 item 3, the kernel feature probe (lib/kernel-features.c,
# `vfioctl host`, the Manager's feature properties) on each lab kernel,
# checked against what that kernel's configuration gives it:
#   - distro (Debian's 6.12): no CONFIG_IOMMUFD, no VFIO_DEVICE_CDEV; the
#     type1 container; no VFIO_NOIOMMU;
#   - test (tests/lab/test-kernel.config): IOMMUFD, VFIO_DEVICE_CDEV,
#     VFIO_CONTAINER and type1 built in; no VFIO_NOIOMMU;
#   - modern (the same configuration on 7.3, tests/lab/kernel-modern.sh):
#     as test, plus IOAS_MAP_FILE, vIOMMU objects and IOAS_CHANGE_PROCESS.
# Each answer is also held to the guest's own evidence (the nodes,
# /proc/devices, the module parameters), and the ioctls newer than 6.12
# (IOAS_MAP_FILE and vIOMMU objects 6.13, IOAS_CHANGE_PROCESS 6.14) to
# the running version. dma_entry_limit is changed and read again, and a
# VM registered with --backend auto gets the backend the probe names.

. /opt/vfiod/tests/vm/lib/vm-ownership-lib.sh

host_field() {
	"$VFIOCTL" --json host | jq -r --arg k "$1" '.[$k]'
}

bool() { # bool CMD...: true when CMD succeeds
	if "$@"; then echo true; else echo false; fi
}

newer_than() { # newer_than MAJOR MINOR: the running kernel is at least MAJOR.MINOR
	_v=$(uname -r)
	_maj=${_v%%.*}
	_min=${_v#*.}
	_min=${_min%%[!0-9]*}
	[ "$_maj" -gt "$1" ] || { [ "$_maj" -eq "$1" ] && [ "$_min" -ge "$2" ]; }
}

testcase_probe_matches_the_kernel() {
	modprobe vfio-pci
	modprobe vfio_iommu_type1 2>/dev/null || true
	start_vfiod
	case "$VFIOD_KERNEL" in
	distro) want_iommufd=false want_cdev=false want_noiommu=absent want_backend=type1 ;;
	test | modern) want_iommufd=true want_cdev=true want_noiommu=absent want_backend=iommufd ;;
	*) fail "no expectations for kernel '$VFIOD_KERNEL'" ;;
	esac
	log "vfioctl host: $("$VFIOCTL" --json host | jq -c .)"

	assert_eq "$want_iommufd" "$(host_field iommufd)" "iommufd, by the kernel's configuration"
	assert_eq "$(bool test -c /dev/iommu)" "$(host_field iommufd)" "iommufd, by /dev/iommu"
	assert_eq "$want_cdev" "$(host_field vfio_cdev)" "VFIO cdevs, by the kernel's configuration"
	assert_eq "$(bool grep -q ' vfio-dev$' /proc/devices)" "$(host_field vfio_cdev)" "VFIO cdevs, by /proc/devices"
	assert_eq "$want_iommufd" "$(host_field iommufd_rlimit_mode)" "RLIMIT_MODE: every 6.12 iommufd has it"
	new=false
	if [ "$want_iommufd" = true ] && newer_than 6 13; then new=true; fi
	assert_eq "$new" "$(host_field ioas_map_file)" "IOAS_MAP_FILE on $(uname -r)"
	assert_eq "$new" "$(host_field viommu)" "vIOMMU objects on $(uname -r)"
	new=false
	if [ "$want_iommufd" = true ] && newer_than 6 14; then new=true; fi
	assert_eq "$new" "$(host_field ioas_change_process)" "IOAS_CHANGE_PROCESS on $(uname -r)"
	assert_eq true "$(host_field type1)" "the type1 container"
	assert_eq "$(bool test -c /dev/vfio/vfio)" "$(host_field type1)" "the type1 container, by /dev/vfio/vfio"
	assert_eq "$want_noiommu" "$(host_field noiommu)" "the no-IOMMU mode"
	assert_eq "$want_backend" "$(host_field default_backend)" "the backend 'auto' gives"

	param=/sys/module/vfio_iommu_type1/parameters/dma_entry_limit
	[ -f "$param" ] || fail "vfio_iommu_type1 has no dma_entry_limit"
	limit=$(cat "$param")
	assert_eq "$limit" "$(host_field type1_dma_entry_limit)" "dma_entry_limit"
	echo 4096 >"$param" || fail "cannot lower dma_entry_limit"
	assert_eq 4096 "$(host_field type1_dma_entry_limit)" "a lowered dma_entry_limit shows at once"
	echo "$limit" >"$param"

	sleep 600 &
	vmm=$!
	"$VFIOCTL" vm register probe-auto --pid "$vmm" --backend auto --memory 16M ||
		fail "vm register --backend auto failed"
	assert_eq "$want_backend" "$("$VFIOCTL" --json vm list | jq -r '.[] | select(.name == "probe-auto") | .backend')" \
		"the VM registered with --backend auto"
	"$VFIOCTL" vm release probe-auto >/dev/null || fail "release of probe-auto"
	kill "$vmm"
	stop_vfiod
}
