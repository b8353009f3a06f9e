#!/bin/sh
# Runs a command on a machine with N fake GPUs, as the tests give them
# (tests/harness/fake_gpus.c, which this mirrors: same addresses, UUIDs and
# information files).
#
#   fake_gpus.sh proc N CMD...   as root: a mount namespace of its own
#       (unshare -m) with a tmpfs over /proc/driver holding
#       nvidia/gpus/<bus id>/information for N GPUs; every process CMD
#       starts sees them, and nothing outside does
#   fake_gpus.sh nvml N CMD...   otherwise, where the machine has no
#       /proc/driver/nvidia/gpus: the fake NVML (tests/fixtures/fake_nvml.c,
#       built by scripts/bench into BENCH_FAKE_NVML_DIR) lists them from
#       GL_FAKE_NVML_GPUS; that directory goes first in LD_LIBRARY_PATH
#
# GPU i is at 0000:(0x18+i):00.0 with UUID GPU-<15-i><i>000000-d72c-...: the
# UUIDs sort in the opposite order to the addresses, as in the tests.
set -eu
mode=$1 n=$2
shift 2
uuid() { printf 'GPU-%x%x000000-d72c-4106-c12f-20bd9faed9f6' $((15 - $1 % 16)) $(($1 % 16)); }
case $mode in
proc)
	if [ -z "${FAKE_GPUS_INSIDE:-}" ]; then
		FAKE_GPUS_INSIDE=1 exec unshare -m --propagation private "$0" proc "$n" "$@"
	fi
	unset FAKE_GPUS_INSIDE
	mount -t tmpfs -o mode=0755 gl-bench /proc/driver
	mkdir -p /proc/driver/nvidia/gpus
	i=0
	while [ "$i" -lt "$n" ]; do
		bus=$(printf '0000:%02x:00.0' $((0x18 + i)))
		mkdir "/proc/driver/nvidia/gpus/$bus"
		printf 'Model: \t\t NVIDIA H100 80GB HBM3\nIRQ:   \t\t 263\nGPU UUID: \t %s\nVideo BIOS: \t 96.00.74.00.0d\nBus Type: \t PCIe\nDMA Size: \t 52 bits\nDMA Mask: \t 0xfffffffffffff\nBus Location: \t %s\nDevice Minor: \t %u\nGPU Excluded:\t No\n' \
			"$(uuid $i)" "$bus" "$i" >"/proc/driver/nvidia/gpus/$bus/information"
		i=$((i + 1))
	done
	;;
nvml)
	list= i=0
	while [ "$i" -lt "$n" ]; do
		list="$list${list:+;}$(uuid $i),$(printf '00000000:%02X:00.0' $((0x18 + i))),NVIDIA H100 80GB HBM3"
		i=$((i + 1))
	done
	GL_FAKE_NVML_GPUS=$list
	LD_LIBRARY_PATH=$BENCH_FAKE_NVML_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	export GL_FAKE_NVML_GPUS LD_LIBRARY_PATH
	;;
*)
	echo "usage: fake_gpus.sh proc|nvml N CMD..." >&2
	exit 2
	;;
esac
exec "$@"
