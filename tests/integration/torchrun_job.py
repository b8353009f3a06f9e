"""A rank of a real torchrun job, for test_jobs' torchrun case (run as
torchrun --nproc_per_node=2 --standalone torchrun_job.py under the global
preload): it reaches the fake driver's cuInit through ctypes (dlopen and
dlsym, where the preload takes the GPU lock), then meets the other ranks
in gloo's barrier, which it would never get past if the ranks took the
lock in turn. It prints "rank R passed", then holds until its stdin (the
test's pipe, which torchrun hands down) reaches its end; a wait that
takes longer than the deadline is an error."""
import ctypes
import os
import select
import sys
from datetime import timedelta

import torch.distributed as dist

DEADLINE = 120


def main():
    rank = int(os.environ["RANK"])
    result = ctypes.CDLL("libcuda.so.1").cuInit(0)
    if result != 0:
        print("rank %d: cuInit=%d" % (rank, result), flush=True)
        return 1
    dist.init_process_group("gloo", timeout=timedelta(seconds=DEADLINE))
    dist.barrier()
    # one write(2), under PIPE_BUF: the ranks' lines do not interleave
    # (print under python -u, as torchrun starts them, writes the end of
    # line apart)
    os.write(1, b"rank %d passed\n" % rank)
    ready, _, _ = select.select([sys.stdin], [], [], DEADLINE)
    if not ready:
        print("rank %d: no end of stdin" % rank, flush=True)
        return 1
    sys.stdin.read()
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
