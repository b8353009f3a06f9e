#!/bin/bash
# Copied unchanged (but for this line) from the original gpu-cpu-mutex tools (MIT), for compatibility tests.
# gpu_run.sh - GPU MUTEX. Serializes every GPU job through one shared flock so independent callers
# (two agent loops, cron jobs, terminals - whatever) never load a model into VRAM at the same time
# and OOM/corrupt each other. CPU work is unaffected; only GPU jobs serialize.
#
# Usage: gpu_run.sh <command...>
# e.g. gpu_run.sh python gen_image.py "<prompt>" out.png
# gpu_run.sh bash gen_music.sh "<prompt>" track.wav
#
# Every caller that touches the GPU MUST go through this. flock holds the lock for the duration;
# any other caller blocks until it's free, then proceeds. The lock is released automatically on
# exit/crash/kill (kernel advisory lock tied to the fd) - there is no stale-lock to clean up.
#
# Config:
# GPU_LOCK_PATH lock file (default /tmp/gpu.lock)
LOCK="${GPU_LOCK_PATH:-/tmp/gpu.lock}"

# Reentrancy: if an ancestor already holds the lock, don't re-acquire - otherwise a wrapped command
# that internally calls another wrapped command would deadlock waiting on a lock its own parent holds.
if [ -n "${GPU_LOCK_HELD:-}" ]; then
 exec "$@"
fi

exec 9>"$LOCK"
echo "[gpu_run] waiting for GPU lock..." >&2
flock 9
echo "[gpu_run] acquired GPU lock → running: $*" >&2
export GPU_LOCK_HELD=1 # propagate to children + any nested gpu_run so they skip self-locking
"$@"
rc=$?
echo "[gpu_run] done (rc=$rc), releasing GPU lock" >&2
exit $rc
