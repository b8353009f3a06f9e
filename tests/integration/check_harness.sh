#!/bin/sh
# The harness's own promises (test_harness.c): whatever its tests do, a test
# program leaves nothing in TMPDIR and follows no link out of it; a program
# whose tests all skip exits 77, one that also ran a test exits 0.
#   check_harness.sh TEST_HARNESS
set -u
prog=$1
top=$(mktemp -d) || exit 1
trap 'chmod -R u+rwx "$top"; rm -rf "$top"' EXIT
mkdir "$top/keep" "$top/tmp" && echo kept >"$top/keep/file" || exit 1
export GL_KEEP="$top/keep" TMPDIR="$top/tmp"
status=0

fail() {
	echo "FAIL $*" >&2
	status=1
}

# After each run: TMPDIR is empty, and what the links named is still there.
check_left() {
	left=$(ls -A "$TMPDIR")
	[ -z "$left" ] || fail "$1: left in TMPDIR: $left"
	[ "$(cat "$GL_KEEP/file" 2>/dev/null)" = kept ] || fail "$1: removed what a link named"
	rm -rf "${TMPDIR:?}"/*
}

# CASE STATUS: run the test case CASE, which must exit STATUS.
run() {
	CK_RUN_CASE=$1 "$prog" >"$top/out" 2>&1
	rc=$?
	[ $rc = "$2" ] || { cat "$top/out" >&2; fail "case $1: exit $rc, not $2"; }
	echo "case $1: exit $rc"
	check_left "$1"
}

run leaves 1
grep -q 'Checks: 3, Failures: 1, Errors: 0' "$top/out" || { cat "$top/out" >&2; fail "leaves"; }
run hang 1
grep -q 'Test timeout expired' "$top/out" || { cat "$top/out" >&2; fail "hang"; }
run skip 77
run mixed 0

# Interrupted as meson interrupts a test that runs too long: SIGTERM. In a
# session of its own, since Check sends the signal on to its process group.
CK_RUN_CASE=interrupted setsid "$prog" >"$top/out" 2>&1 &
pid=$!
tries=0
until ls "$TMPDIR"/*/*/ready >/dev/null 2>&1; do
	tries=$((tries + 1))
	[ $tries -lt 1200 ] || { fail "interrupted: never ready"; break; }
	sleep 0.05 # the state polled for is the file; 60 s at most
done
kill -TERM $pid
wait $pid
rc=$?
[ $rc = 143 ] || { cat "$top/out" >&2; fail "case interrupted: exit $rc, not 143 (SIGTERM)"; }
echo "case interrupted: exit $rc"
check_left interrupted
exit $status
