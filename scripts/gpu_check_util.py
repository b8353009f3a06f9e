"""Helpers for scripts/gpu-check, one subcommand each; they need only the
Python standard library.

Lines that report go to stdout, tab-separated, for gpu-check to pass on:
  OK|FAIL|SKIP <tab> check <tab> detail    a verdict
  FIG <tab> key <tab> value                a figure for the JSON summary
  BENCH|INFO <tab> text                    a line shown as it is
"""
import hashlib
import json
import os
import statistics
import sys
import time


def out(*fields):
    print("\t".join(str(f).replace("\t", " ").replace("\n", " ") for f in fields), flush=True)


def figure(key, value):
    out("FIG", key, json.dumps(value))


# --- the bundle -----------------------------------------------------------

# What the bundle is made from: the preload and the programs, and the job
# scripts it carries. Ignored files (objects, caches) are left out: the GPU
# machine gets the working tree without them.
SOURCES = ["meson.build", "meson_options.txt", "common", "launcher", "preload", "cli"]
SKIP_SUFFIXES = (".o", ".so", ".pyc", ".orig", ".rej", "~")


def source_files(root):
    names = [n for n in os.listdir(os.path.join(root, "scripts")) if n.startswith("gpu_check_")]
    files = []
    for top in SOURCES + [os.path.join("scripts", n) for n in names]:
        path = os.path.join(root, top)
        if os.path.isfile(path):
            files.append(top)
        for d, dirs, fs in os.walk(path):
            dirs[:] = [x for x in dirs if x != "__pycache__"]
            files += [os.path.relpath(os.path.join(d, f), root) for f in fs]
    return sorted(f for f in set(files) if not f.endswith(SKIP_SUFFIXES))


def cmd_hash(root):
    """The sources' digest: the same tree gives the same digest anywhere."""
    h = hashlib.sha256()
    for f in source_files(root):
        with open(os.path.join(root, f), "rb") as fh:
            h.update(f.encode() + b"\0" + hashlib.sha256(fh.read()).digest())
    print(h.hexdigest())


# --- the machine ----------------------------------------------------------

def cmd_versions():
    """name=version for the frameworks (empty where missing), and the
    packages that go with them. Read from the installed metadata: importing
    torch to ask would cost seconds."""
    import importlib.metadata as md
    import importlib.util
    import platform

    found = {}
    for dist in md.distributions():
        found.setdefault((dist.metadata["Name"] or "").lower(), dist.version)

    def dists(pred):
        return ", ".join("%s %s" % (n, v) for n, v in sorted(found.items()) if pred(n))

    print("python=" + platform.python_version())
    for module in ("torch", "cupy", "jax", "numba"):
        version = ""
        if importlib.util.find_spec(module) is not None:
            # CuPy's distribution is named for its CUDA: cupy-cuda12x
            version = found.get(module) or next(
                (v for n, v in sorted(found.items()) if n.startswith(module + "-cuda")), "installed")
        print("%s=%s" % (module, version))
    print("cupy_dist=" + dists(lambda n: n.startswith("cupy")))
    print("jax_extras=" + dists(lambda n: n == "jaxlib" or n.startswith("jax-cuda")))
    print("numba_cuda=" + dists(lambda n: n == "numba-cuda"))


def cmd_cuda_driver():
    """The driver's CUDA version (cuDriverGetVersion needs no cuInit)."""
    import ctypes

    try:
        v = ctypes.c_int()
        r = ctypes.CDLL("libcuda.so.1").cuDriverGetVersion(ctypes.byref(v))
        print("%d.%d" % (v.value // 1000, v.value % 1000 // 10) if r == 0 else "error %d" % r)
    except OSError as e:
        print("no libcuda.so.1 (%s)" % e)


# --- the lock -------------------------------------------------------------

def lock_entries(path):
    """(pid, waiting) for each flock /proc/locks lists on path's file."""
    try:
        st = os.stat(path)
    except OSError:
        return []
    dev = "%02x:%02x:%d" % (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    found = []
    with open("/proc/locks") as f:
        for line in f:
            words = line.split()
            waiting = len(words) > 1 and words[1] == "->"
            if waiting:
                del words[1]
            if len(words) >= 6 and words[1] == "FLOCK" and words[5] == dev:
                found.append((int(words[4]), waiting))
    return found


def cmd_wait_lock(path, state, seconds):
    """Until someone holds the lock (state "held"), or waits for it
    ("waiter": prints the waiter's pid). Exit 1 at the deadline."""
    deadline = time.monotonic() + float(seconds)
    while time.monotonic() < deadline:
        for pid, waiting in lock_entries(path):
            if waiting == (state == "waiter"):
                print(pid)
                return 0
        time.sleep(0.01)
    return 1


# --- reading the jobs' results ---------------------------------------------

def last_json(path):
    """The last JSON line a job printed, or None."""
    try:
        with open(path) as f:
            lines = [l for l in f.read().splitlines() if l.startswith("{")]
        return json.loads(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None


def tail(path, n=3):
    try:
        with open(path, errors="replace") as f:
            return " | ".join(l.strip() for l in f.read().splitlines()[-n:] if l.strip())
    except OSError:
        return "(no output)"


def cmd_pair(mode, a, b):
    """Two jobs of 60% each, started together: without the preload one must
    fail for want of memory; with it both must succeed, one after the other."""
    name = "two 60%% jobs %s the preload" % mode
    jobs = [last_json(p) for p in (a, b)]
    for p, j in zip((a, b), jobs):
        if j is None or "ok" not in j:
            out("FAIL", name, "job %s printed no result; stderr: %s"
                % (os.path.basename(p)[0], tail(p[:-len(".json")] + ".err")))
            return
    failed = [j for j in jobs if not j["ok"]]
    if mode == "without":
        if len(failed) == 1:
            out("OK", name, "job %s failed as expected (%s)" % (failed[0]["name"], failed[0].get("error")))
        elif not failed:
            out("FAIL", name, "both jobs got their memory: this card or driver oversubscribes, "
                "and the run with the preload proves nothing about memory")
        else:
            out("FAIL", name, "both jobs failed: %s" % [j.get("error") for j in jobs])
        figure("pair_without_errors", [j.get("error") for j in failed])
        return
    if failed:
        out("FAIL", name, "%s" % [j.get("error") for j in failed])
        return
    first, second = sorted(jobs, key=lambda j: j["first_work"])
    gap = second["first_work"] - first["end"]
    overlap = second["first_work"] < first["end"]
    out("FAIL" if overlap else "OK", name,
        "both succeeded; job %s waited, and its first GPU work came %.3fs after job %s finished%s"
        % (second["name"], gap, first["name"], " (OVERLAP)" if overlap else ""))
    figure("pair_with_gap_s", round(gap, 4))
    figure("pair_with_import_s", round(second["imported"] - second["start"], 3))
    figure("pair_with_cuinit_wait_s", round(second["cuinit"] - second["imported"], 3))


def cmd_gap(a, b):
    """The GPU idle gap between two queued jobs: from the first's end to the
    second's first work. Prints it, or "error: why"."""
    jobs = [last_json(p) for p in (a, b)]
    if any(j is None or not j.get("ok") for j in jobs):
        print("error: %s" % [(j or {}).get("error", "no result") for j in jobs])
        return
    first, second = sorted(jobs, key=lambda j: j["first_work"])
    print("%.4f" % (second["first_work"] - first["end"]))


def cmd_bench_gaps(preload_file, eager_file):
    """The bench's summary: both series, their medians."""
    series = {}
    for key, path in (("preload", preload_file), ("eager", eager_file)):
        try:
            with open(path) as f:
                series[key] = [float(x) for x in f.read().split() if not x.startswith("error")]
        except (OSError, ValueError):
            series[key] = []
        figure("gap_%s_s" % key, series[key])
    out("BENCH", "GPU idle gap between two queued PyTorch jobs, seconds (%d rounds):"
        % max(len(s) for s in series.values()))
    for key, label in (("preload", "preload (lock at cuInit):      "),
                       ("eager", "eager (flock before the start):")):
        s = series[key]
        med = " median %.3f" % statistics.median(s) if s else " no figures"
        out("BENCH", "  %s %s%s" % (label, " ".join("%.3f" % x for x in s), med))


def cmd_interrupt(t0, result, err):
    """Ctrl-C reaches a program that waits for the lock: KeyboardInterrupt
    within a second; what the same process then gets from the GPU is a figure."""
    name = "Ctrl-C while PyTorch waits for the lock"
    lines = []
    try:
        with open(result) as f:
            lines = [json.loads(l) for l in f if l.startswith("{")]
    except (OSError, ValueError):
        pass
    first = next((l for l in lines if "interrupted" in l), None)
    again = next((l for l in lines if "again" in l), None)
    if first is None:
        out("FAIL", name, "the job printed no result; stderr: %s" % tail(err))
        return
    if not first["interrupted"]:
        out("FAIL", name, "no KeyboardInterrupt: is_available() returned %s" % first.get("available"))
        return
    took = first["at"] - float(t0)
    figure("ctrl_c_to_keyboardinterrupt_s", round(took, 4))
    stopped = any("stopped waiting for the GPU lock" in l and "SIGINT" in l
                  for l in open(err, errors="replace"))
    if again:
        figure("after_ctrl_c_same_process", again["again"])
    verdict = "OK" if took < 1.0 else "FAIL"
    out(verdict, name, "KeyboardInterrupt %.3fs after SIGINT%s; then, the lock free, the same "
        "process: %s" % (took, "" if stopped else " (no 'stopped waiting' line)",
                         describe_again(again)))


def describe_again(again):
    if not again:
        return "no second attempt reported"
    a = again["again"]
    parts = ["is_available() %s" % a.get("available", "raised " + str(a.get("available_error")))]
    parts.append("tensor " + ("works" if a.get("tensor") == "ok" else "fails: %s" % a.get("tensor")))
    return ", ".join(parts)


def cmd_timeout(result, err, lock, holder):
    """GPU_LOCK_TIMEOUT=2s: the wait ends after 2 s with the documented line,
    and the program sees no GPU. How often the runtime tried is a figure."""
    name = "GPU_LOCK_TIMEOUT=2s while PyTorch waits"
    r = last_json(result)
    if r is None:
        out("FAIL", name, "the job printed no result; stderr: %s" % tail(err))
        return
    start = "gpulock: pid %d gave up waiting for the GPU lock %s after 2s (GPU_LOCK_TIMEOUT); " \
            "it is held by pid %s " % (r["pid"], lock, holder)
    with open(err, errors="replace") as f:
        said = [l.rstrip("\n") for l in f if "gave up waiting" in l]
    waited = r["waited"]
    figure("timeout_2s_waited_s", round(waited, 3))
    figure("timeout_2s_waits", len(said))
    tries = "" if len(said) == 1 else " (%d waits: cuInit was tried again)" % len(said)
    if not said or any(not l.startswith(start) for l in said):
        out("FAIL", name, "expected lines starting %r; got %r" % (start, said))
    elif r.get("available") is not False:
        out("FAIL", name, "torch.cuda.is_available() returned %r after the timeout" % r.get("available"))
    elif not 1.9 <= waited < 2.5 * len(said) + 3:
        out("FAIL", name, "is_available() took %.2fs for %d timeouts of 2s" % (waited, len(said)))
    else:
        out("OK", name, "is_available() False after %.2fs, with the documented line%s" % (waited, tries))


# --- cpu_run's launch cost on this machine --------------------------------

def cmd_spawn_bench(cpu_run, rounds, per_round):
    """posix_spawn + wait of `true`, directly and through cpu_run with free
    slots, interleaved round by round (BENCHMARKS.md, 6)."""
    import shutil
    import tempfile

    true = shutil.which("true")
    slots = tempfile.mkdtemp(prefix="gpu-check-slots-")
    env = dict(os.environ, CPU_RUN_SLOTS="4", CPU_RUN_SLOT_DIR=slots, CPU_RUN_QUIET="1")
    variants = {"direct": [true], "cpu_run": [cpu_run, true]}
    per = {k: [] for k in variants}
    try:
        for _ in range(int(rounds)):
            for k, argv in variants.items():
                t = time.perf_counter()
                for _ in range(int(per_round)):
                    pid = os.posix_spawn(argv[0], argv, env)
                    _, status = os.waitpid(pid, 0)
                    if status != 0:
                        out("BENCH", "cpu_run launch overhead: %s exited with status %d" % (k, status))
                        return
                per[k].append((time.perf_counter() - t) / int(per_round) * 1e6)
    finally:
        shutil.rmtree(slots, ignore_errors=True)
    diff = statistics.median(c - d for c, d in zip(per["cpu_run"], per["direct"]))
    figure("cpu_run_launch_overhead_us", round(diff, 1))
    figure("spawn_true_us", round(statistics.median(per["direct"]), 1))
    out("BENCH", "cpu_run launch overhead: %.0f us (spawning true: %.0f us direct, %.0f us through "
        "cpu_run; medians of %s rounds of %s)" % (diff, statistics.median(per["direct"]),
                                                  statistics.median(per["cpu_run"]), rounds, per_round))


# --- the JSON summary -----------------------------------------------------

def cmd_json(dest, records, complete):
    """Rewrites the summary from the records gpu-check keeps: it is written
    after every check, so a run cut short still leaves what it found."""
    summary = {"tool": "scripts/gpu-check", "format": 1, "complete": complete == "1",
               "checks": [], "figures": {}, "info": {}}
    with open(records, errors="replace") as f:
        for line in f.read().splitlines():
            kind, _, rest = line.partition("\t")
            if kind == "check":
                verdict, name, detail, t0, t1 = (rest.split("\t") + [""] * 5)[:5]
                c = {"verdict": verdict, "check": name, "detail": detail}
                if t0 and t1:
                    c["seconds"] = round(float(t1) - float(t0), 2)
                summary["checks"].append(c)
            elif kind in ("figure", "info"):
                key, _, value = rest.partition("\t")
                try:
                    value = json.loads(value) if kind == "figure" else value
                except ValueError:
                    pass
                summary["figures" if kind == "figure" else "info"][key] = value
    counts = {}
    for c in summary["checks"]:
        counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
    summary["counts"] = counts
    tmp = dest + ".tmp"
    with open(tmp, "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, dest)


COMMANDS = {
    "hash": cmd_hash, "versions": cmd_versions, "cuda-driver": cmd_cuda_driver,
    "wait-lock": cmd_wait_lock, "pair": cmd_pair, "gap": cmd_gap,
    "bench-gaps": cmd_bench_gaps, "interrupt": cmd_interrupt, "timeout": cmd_timeout,
    "spawn-bench": cmd_spawn_bench, "json": cmd_json,
}

if __name__ == "__main__":
    sys.exit(COMMANDS[sys.argv[1]](*sys.argv[2:]) or 0)
