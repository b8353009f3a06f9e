#!/bin/bash
# Copied unchanged (but for this line) from the original gpu-cpu-mutex tools (MIT), for compatibility tests.
# cpu_run.sh - CPU/RAM GUARD. Bounds heavy local jobs so an unthrottled batch can never thrash the
# box. (This exists because a parallel image-postproc batch once drove load to 46 on 12 cores and
# swap to 98.7% → the machine froze and had to be restarted.)
#
# What it does:
# 1. COUNTING SEMAPHORE - at most CPU_RUN_SLOTS (default 3) run at once across ALL callers (flock slots).
# So 18 jobs queue through 3-at-a-time instead of all-at-once.
# 2. THREAD CAPS - pins BLAS/OpenMP to CPU_RUN_THREADS (default 3) so one numpy/torch job can't grab
# every core. 3 slots × 3 threads ≈ 9 cores max, leaving headroom for everything else.
# 3. nice + ionice - heavy work yields CPU/IO so interactive sessions stay responsive under load.
#
# Usage: cpu_run.sh <command...>
# e.g. cpu_run.sh python postproc.py raw.png out/
#
# Config (env):
# CPU_RUN_SLOTS concurrent slots (default 3)
# CPU_RUN_THREADS BLAS/OpenMP thread cap (default 3)
# CPU_RUN_MAXWAIT seconds to wait for a free slot before running anyway (default 3600)
set -u
SLOTS="${CPU_RUN_SLOTS:-3}"
THREADS="${CPU_RUN_THREADS:-3}"
MAXWAIT="${CPU_RUN_MAXWAIT:-3600}"
DIR="${CPU_RUN_SLOT_DIR:-/tmp/cpu_run_slots}"
mkdir -p "$DIR" 2>/dev/null || true

# Marks that a job is running INSIDE the guard - your tools can check for it and auto-re-exec through
# this wrapper if it's absent, so they can never accidentally run unbounded.
export CPU_RUN_ACTIVE=1
export OMP_NUM_THREADS="$THREADS" OPENBLAS_NUM_THREADS="$THREADS" MKL_NUM_THREADS="$THREADS" \
 NUMEXPR_NUM_THREADS="$THREADS" VECLIB_MAXIMUM_THREADS="$THREADS"

run() {
 if command -v ionice >/dev/null 2>&1; then
 exec nice -n 15 ionice -c3 "$@"
 else
 exec nice -n 15 "$@"
 fi
}

# Try to grab one of N slots (non-blocking sweep); if all busy, retry until MAXWAIT, then run unbounded.
waited=0
while :; do
 for i in $(seq 1 "$SLOTS"); do
 exec 9>"$DIR/slot$i"
 if flock -n 9; then
 echo "[cpu_run] slot $i/$SLOTS acquired (threads=$THREADS, nice 15) → $*" >&2
 run "$@" # exec replaces shell; flock released on exit
 fi
 exec 9>&-
 done
 if [ "$waited" -ge "$MAXWAIT" ]; then
 echo "[cpu_run] all $SLOTS slots busy ${MAXWAIT}s - running un-slotted (still capped+nice'd): $*" >&2
 run "$@"
 fi
 sleep 2; waited=$((waited+2))
done
