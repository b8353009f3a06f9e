#!/bin/bash
# The polling baseline for scripts/bench: the original cpu_run.sh's slot loop
# (probe every slot with `flock -n`, sleep 2 s when all are busy, nice +
# ionice, exec), kept here so the benchmark needs nothing outside the
# project. Same settings: CPU_RUN_SLOTS, CPU_RUN_SLOT_DIR, CPU_RUN_MAXWAIT,
# CPU_RUN_THREADS. Silent (the original logs each acquisition to stderr).
set -u
SLOTS="${CPU_RUN_SLOTS:-3}"
THREADS="${CPU_RUN_THREADS:-3}"
MAXWAIT="${CPU_RUN_MAXWAIT:-3600}"
DIR="${CPU_RUN_SLOT_DIR:-/tmp/cpu_run_slots}"
mkdir -p "$DIR" 2>/dev/null || true
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
waited=0
while :; do
	for i in $(seq 1 "$SLOTS"); do
		exec 9>"$DIR/slot$i"
		if flock -n 9; then
			run "$@"
		fi
		exec 9>&-
	done
	if [ "$waited" -ge "$MAXWAIT" ]; then
		run "$@"
	fi
	sleep 2
	waited=$((waited + 2))
done
