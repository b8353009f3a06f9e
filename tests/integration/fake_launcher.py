#!/usr/bin/env python3
"""A fake launcher of a multi-process job, for the tests: it starts N ranks
with the environment a real launcher of that family gives them, and checks
that all of them get past their first GPU call together (the barrier a real
job's first collective is).

    <name> FAMILY N -- CMD [ARGS...]

The tests run it under a launcher's name (a link named torchrun, mpirun,
hydra_pmi_proxy, slurmstepd, deepspeed), since gpulock recognises a job by
its launcher's command line. Each rank runs CMD with CLIENT_HOLD=1 (a client
of the fake driver: it prints "cuInit=0" once past cuInit, then holds until
its stdin closes). The launcher prints "barrier" once every rank has passed
cuInit, then reads commands on its stdin: "kill K" kills rank K (SIGKILL),
"pids" prints "pids P0 P1 ..." (the ranks' pids), "end" (or EOF) lets every rank finish; it prints "done" and exits 0, or 1
when a rank failed. Every wait has a deadline."""
import os
import select
import signal
import subprocess
import sys
import time

ENV = {
    "torch": lambda r, n: {"RANK": r, "LOCAL_RANK": r, "WORLD_SIZE": n, "LOCAL_WORLD_SIZE": n,
                           "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500",
                           "TORCHELASTIC_RUN_ID": "none"},
    "deepspeed": lambda r, n: {"RANK": r, "LOCAL_RANK": r, "WORLD_SIZE": n,
                               "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"},
    "ompi": lambda r, n: {"OMPI_COMM_WORLD_RANK": r, "OMPI_COMM_WORLD_SIZE": n,
                          "OMPI_COMM_WORLD_LOCAL_RANK": r, "PMIX_RANK": r,
                          "PMIX_NAMESPACE": "prterun-test-%d@1" % os.getpid()},
    "hydra": lambda r, n: {"PMI_RANK": r, "PMI_SIZE": n},
    "slurm": lambda r, n: {"SLURM_JOB_ID": "4242", "SLURM_STEP_ID": "0", "SLURM_PROCID": r,
                           "SLURM_LOCALID": r, "SLURM_NTASKS": n},
    "group": lambda r, n: {},
}
DEADLINE = float(os.environ.get("FAKE_LAUNCHER_DEADLINE", "60"))


def main():
    family, n = sys.argv[1], int(sys.argv[2])
    cmd = sys.argv[sys.argv.index("--") + 1:]
    ranks = []
    for r in range(n):
        env = dict(os.environ, CLIENT_HOLD="1")
        env.update({k: str(v) for k, v in ENV[family](r, n).items()})
        ranks.append(subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE))
    end = time.monotonic() + DEADLINE
    for p in ranks:  # the barrier: every rank past cuInit
        ready, _, _ = select.select([p.stdout], [], [], max(0.0, end - time.monotonic()))
        line = p.stdout.readline().decode() if ready else ""
        if line.strip() != "cuInit=0":
            print("rank %d: %r" % (ranks.index(p), line), flush=True)
            for q in ranks:
                q.kill()
            return 1
    print("barrier", flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[:1] == ["kill"]:
            ranks[int(words[1])].send_signal(signal.SIGKILL)
            ranks[int(words[1])].wait()
            print("killed %s" % words[1], flush=True)
        elif words[:1] == ["pids"]:
            print(" ".join(["pids"] + [str(p.pid) for p in ranks]), flush=True)
        elif words[:1] == ["end"]:
            break
    failed = 0
    for p in ranks:
        if p.returncode is None:
            p.stdin.close()
            failed += p.wait(timeout=max(1.0, end - time.monotonic())) != 0
    print("done", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
