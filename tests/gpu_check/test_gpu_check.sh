#!/bin/bash
# scripts/gpu-check's whole run, as on a GPU machine without network, here:
#   test_gpu_check.sh bundle   --prepare a bundle, then --bench with it
#   test_gpu_check.sh build    no bundle: it builds, with meson and ninja
#                              only as Python modules
# The run sees a PATH of exactly the tools a GPU machine is promised (bash,
# python3, coreutils, util-linux; a compiler for "build"), with no apt-get,
# sudo, meson or nvcc: a stub nvidia-smi, the tests' fake libcuda.so.1 as
# the driver, and fake torch, cupy, jax and numba (fake_py/) whose GPU calls
# reach that driver's cuInit, so the preload's lock is real. The fake card's
# memory is shared by its processes through FAKE_GPU_STATE.
# Exit 77 (skip) where something this needs is missing, saying what.
# Environment: GL_SOURCE_ROOT, GL_FIXTURES_DIR (the fake driver's directory).
set -uo pipefail
mode=${1:?usage: test_gpu_check.sh bundle|build}
src=${GL_SOURCE_ROOT:?}
fixtures=${GL_FIXTURES_DIR:?}
here=$src/tests/gpu_check
failed=0

skip() {
	echo "SKIP: $*"
	exit 77
}
fail() {
	echo "FAIL: $*"
	failed=1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gl-test-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# What the run may use: coreutils, util-linux, bash and python3.
tools=(bash env timeout mktemp rm mkdir cat cp mv ln chmod sleep seq tail head tr cut wc
	dirname basename uname nproc date true flock)
for t in "${tools[@]}" python3; do
	type -P "$t" >/dev/null 2>&1 || skip "$t not found"
done
[ -n "${EPOCHREALTIME:-}" ] || skip "bash without EPOCHREALTIME (bash 5 is needed)"
[ -f "$fixtures/libcuda.so.1" ] || skip "no fake driver in $fixtures"
# Real-time checks of a script; the programs it runs are the release build's.
[ -z "${GL_UNDER_VALGRIND:-}" ] || skip "not under valgrind: nothing of this build runs"

# The interpreter itself, not a wrapper (pyenv's shims need more than PATH).
pick_python() { # pick_python [module]: one whose sys.executable runs alone
	local p
	for p in python3 /usr/bin/python3; do
		command -v "$p" >/dev/null 2>&1 || continue
		[ -z "${1:-}" ] || "$p" -c "import $1" >/dev/null 2>&1 || continue
		"$p" -c 'import sys; print(sys.executable)' && return 0
	done
	return 1
}

make_path() { # make_path PYTHON [more tools...]: $tmp/path, those tools and nothing else
	local py=$1 t
	shift
	mkdir -p "$tmp/path"
	for t in "${tools[@]}" "$@"; do
		ln -sf "$(type -P "$t")" "$tmp/path/$t"
	done
	ln -sf "$py" "$tmp/path/python3"
	ln -sf "$here/nvidia-smi" "$tmp/path/nvidia-smi"
}

# run_check OUTPUT OPTION NAME=VALUE...: the script as the GPU machine runs
# it, with OPTION ("" or --bench) and these settings. GPU_CHECK_NVCC=none:
# this machine's /usr/local/cuda is not there.
run_check() {
	local output=$1 option=$2
	shift 2
	env -i HOME="$tmp" TMPDIR="$tmp" PATH="$tmp/path" LD_LIBRARY_PATH="$fixtures" \
		FAKE_GPU_STATE="$tmp/card" GPU_CHECK_NVCC=none GPU_CHECK_HOLD=1 "$@" \
		timeout 150 bash "$src/scripts/gpu-check" ${option:+"$option"} >"$output" 2>&1
}

# The verdicts, "VERDICT check" only, in order.
verdicts() {
	local line
	while IFS= read -r line; do
		[[ $line =~ ^(OK|FAIL|SKIP)\ +([^:]*): ]] && echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
	done <"$1"
}

expect_verdicts() { # expect_verdicts OUTPUT EXPECTED...
	local output=$1 got want
	shift
	got=$(verdicts "$output")
	want=$(printf '%s\n' "$@")
	[ "$got" = "$want" ] || fail "verdicts differ from the expected ones:
$(diff <(echo "$want") <(echo "$got"))"
}

expect_line() { # expect_line OUTPUT LINE: an exact line
	local l
	while IFS= read -r l; do [ "$l" = "$2" ] && return 0; done <"$1"
	fail "no line '$2'"
}

expect_prefix() { # expect_prefix OUTPUT PREFIX: a line that starts so
	local l
	while IFS= read -r l; do [[ $l == "$2"* ]] && return 0; done <"$1"
	fail "no line starting '$2'"
}

# The last line counts the verdicts shown.
expect_summary() {
	local l last='' ok=0 bad=0 skipped=0
	while IFS= read -r l; do
		last=$l
		case $l in
		"OK   "*) ok=$((ok + 1)) ;;
		"FAIL "*) bad=$((bad + 1)) ;;
		"SKIP "*) skipped=$((skipped + 1)) ;;
		esac
	done <"$1"
	[[ $last == "gpu-check: $ok OK, $bad FAIL, $skipped SKIP in "* ]] ||
		fail "the last line is '$last', expected the count: $ok OK, $bad FAIL, $skipped SKIP"
}

# Nothing installed, nothing missing: no package tools, no "command not
# found" from a tool that is not on the promised PATH.
expect_self_contained() {
	local l
	while IFS= read -r l; do
		case $l in
		*"command not found"* | *"No such file or directory"* | *apt-get* | *sudo*)
			fail "the run reached for something it may not use: $l" ;;
		esac
	done <"$1"
}

# The verdicts every run gives with the fake frameworks.
framework_verdicts=(
	"OK nvidia-smi (NVML only)"
	"OK import torch; torch.cuda.device_count()"
	"OK torch.cuda.is_available() (it calls cuInit, as documented)"
	"OK PyTorch tensor on cuda"
	"OK gpulock run -- PyTorch tensor (the preload found beside gpulock)"
	"OK gpulock doctor -- torch.cuda.is_available()"
	"OK CuPy array"
	"OK JAX on the GPU"
	"OK numba.cuda"
	"OK Ctrl-C while PyTorch waits for the lock"
	"OK GPU_LOCK_TIMEOUT=2s while PyTorch waits"
	"OK two 60% jobs without the preload"
	"OK two 60% jobs with the preload"
)

touch "$tmp/stamp"
case $mode in
bundle)
	for t in meson ninja cc; do
		command -v $t >/dev/null 2>&1 || skip "--prepare needs $t here"
	done
	py=$(pick_python) || skip "no python3 that runs alone"
	# As on the development machine: its own PATH, nvcc where it is.
	if ! GPU_CHECK_BUNDLE=$tmp/bundle GPU_CHECK_BUILD=$tmp/build TMPDIR=$tmp \
		timeout 300 "$src/scripts/gpu-check" --prepare >"$tmp/prepare.out" 2>&1; then
		cat "$tmp/prepare.out"
		echo "FAIL: --prepare failed"
		exit 1
	fi
	cat "$tmp/prepare.out"
	for f in MANIFEST lib/libgpulock_preload.so bin/gpulock bin/cpu_run jobs/gpu_check_torch.py \
		jobs/gpu_check_wait.py jobs/gpu_check_util.py; do
		[ -f "$tmp/bundle/$f" ] || fail "the bundle has no $f"
	done
	nvcc_built=no
	[ -x "$tmp/bundle/cuda/cuda_static" ] && [ -x "$tmp/bundle/cuda/cuda_shared" ] && nvcc_built=yes
	size=$(du -sk "$tmp/bundle" | cut -f1)
	((size < 8192)) || fail "the bundle is ${size} KiB: it must stay far under the 64 MiB carried"

	# No compiler, meson, ninja or nvcc: a run that tried to build would fail.
	make_path "$py"
	run_check "$tmp/run.out" --bench OUT="$tmp/out" GPU_CHECK_BUNDLE="$tmp/bundle" PYTHONPATH="$here/fake_py"
	rc=$?
	cat "$tmp/run.out"
	describe=$(while IFS='=' read -r k v; do [ "$k" = describe ] && echo "$v"; done <"$tmp/bundle/MANIFEST")
	expect_line "$tmp/run.out" "OK   programs: from the bundle $tmp/bundle, commit $describe"
	if [ $nvcc_built = yes ]; then
		# cudart finds no kernel to run on the fake driver, after cuInit
		# (tests/fixtures/fake_cuda.c): the lock is taken, the program fails.
		nvcc_verdicts=("FAIL nvcc program, static cudart" "FAIL nvcc program, shared cudart")
		expect_prefix "$tmp/run.out" "FAIL nvcc program, static cudart: the bundle's: lock yes, exit 3: cudaMalloc: "
		expect_prefix "$tmp/run.out" "FAIL nvcc program, shared cudart: the bundle's: lock yes, exit 3: cudaMalloc: "
		want_rc=1
	else
		nvcc_verdicts=("SKIP nvcc program, static cudart" "SKIP nvcc program, shared cudart")
		want_rc=0
	fi
	[ $rc = $want_rc ] || fail "exit status $rc, expected $want_rc"
	expect_verdicts "$tmp/run.out" "OK programs" "${nvcc_verdicts[@]}" "${framework_verdicts[@]}"
	expect_prefix "$tmp/run.out" "OK   Ctrl-C while PyTorch waits for the lock: KeyboardInterrupt 0."
	expect_prefix "$tmp/run.out" "BENCH   preload (lock at cuInit):       0."
	expect_prefix "$tmp/run.out" "BENCH cpu_run launch overhead: "
	expect_summary "$tmp/run.out"
	expect_self_contained "$tmp/run.out"
	# The summary, for BENCHMARKS.md: every verdict, the figures, the versions.
	"$py" - "$tmp/out/gpu-check.json" "$tmp/run.out" "$describe" <<'PY' || fail "the JSON summary"
import json, re, sys
s = json.load(open(sys.argv[1]))
shown = [l for l in open(sys.argv[2]) if re.match(r"(OK|FAIL|SKIP) +[^:]*:", l)]
assert s["complete"] is True, s["complete"]
assert len(s["checks"]) == len(shown), (len(s["checks"]), len(shown))
for c, l in zip(s["checks"], shown):
    assert l.split(None, 1)[1].startswith(c["check"] + ": " + c["detail"][:20]), (c, l)
    assert c["seconds"] >= 0
f, i = s["figures"], s["info"]
assert len(f["gap_preload_s"]) == 3 and len(f["gap_eager_s"]) == 3, f
for key in ("ctrl_c_to_keyboardinterrupt_s", "timeout_2s_waited_s", "pair_with_gap_s",
            "cpu_run_launch_overhead_us", "doctor", "after_ctrl_c_same_process"):
    assert key in f, key
assert f["after_ctrl_c_same_process"] == {"available": True, "tensor": "ok"}, f
assert i["gpu"] == "Fake GPU" and i["driver"] == "999.99" and i["cuda_driver"] == "13.0", i
assert i["torch"] == "0.0.0+fake" and i["cupy"] == "0.0.0+fake", i
assert i["jax"] == "0.0.0+fake" and i["numba"] == "0.0.0+fake", i
assert i["origin"] == "bundle" and i["describe"] == sys.argv[3], i
PY

	# A bundle made from other sources is not used; with nothing to build
	# with, the run says so at once and installs nothing.
	while IFS= read -r l; do
		[[ $l == sources=* ]] && l=sources=0
		echo "$l"
	done <"$tmp/bundle/MANIFEST" >"$tmp/MANIFEST" && mv "$tmp/MANIFEST" "$tmp/bundle/MANIFEST"
	run_check "$tmp/stale.out" "" GPU_CHECK_BUNDLE="$tmp/bundle" GPU_CHECK_BUILD="$tmp/build-stale" \
		PYTHONPATH="$here/fake_py"
	rc=$?
	cat "$tmp/stale.out"
	[ $rc = 1 ] || fail "stale bundle: exit status $rc, expected 1"
	expect_line "$tmp/stale.out" "INFO bundle: not used: it was made from other sources than this tree's; building here"
	expect_prefix "$tmp/stale.out" "FAIL programs: cannot build here: no "
	expect_summary "$tmp/stale.out"
	expect_self_contained "$tmp/stale.out"
	;;
build)
	py=$(pick_python mesonbuild) || skip "no python3 with the mesonbuild module"
	ninja=$(command -v ninja) || skip "no ninja to stand behind a ninja Python module"
	command -v cc >/dev/null 2>&1 || skip "no C compiler"
	# A ninja module as pip installs it, run as python3 -m ninja.
	mkdir -p "$tmp/pymods/ninja"
	: >"$tmp/pymods/ninja/__init__.py"
	cat >"$tmp/pymods/ninja/__main__.py" <<'PY'
import os, sys
with open(os.environ["FAKE_NINJA_LOG"], "a") as f:
    f.write(" ".join(sys.argv[1:]) + "\n")
os.execv(os.environ["FAKE_NINJA"], ["ninja"] + sys.argv[1:])
PY
	make_path "$py" cc as ld ar
	run_check "$tmp/run.out" "" GPU_CHECK_BUNDLE="$tmp/none" GPU_CHECK_BUILD="$tmp/build" \
		PYTHONPATH="$here/fake_py:$tmp/pymods" FAKE_NINJA="$ninja" FAKE_NINJA_LOG="$tmp/ninja.log"
	rc=$?
	cat "$tmp/run.out"
	[ $rc = 0 ] || fail "exit status $rc, expected 0"
	expect_line "$tmp/run.out" "INFO bundle: not used: there is none ($tmp/none); building here"
	expect_line "$tmp/run.out" "OK   programs: built here in $tmp/build (meson setup $tmp/build -Dbuildtype=release -Dtests=false -Dman=disabled -Dcpu-run-musl=disabled)"
	[ -s "$tmp/ninja.log" ] || fail "ninja did not run as python3 -m ninja"
	expect_verdicts "$tmp/run.out" "OK programs" "SKIP nvcc program, static cudart" \
		"SKIP nvcc program, shared cudart" "${framework_verdicts[@]}"
	expect_summary "$tmp/run.out"
	expect_self_contained "$tmp/run.out"
	;;
*)
	echo "usage: test_gpu_check.sh bundle|build" >&2
	exit 2
	;;
esac

# The tree is left as it was: nothing built, cached or installed in it.
written=$(find "$src" \( -path "$src/build*" -o -path "$src/.git" \) -prune -o -newer "$tmp/stamp" -type f -print 2>/dev/null | head -n 5)
[ -z "$written" ] || fail "the run wrote in the source tree: $written"
[ $failed = 0 ] && echo "PASS: gpu-check ($mode)"
exit $failed
