"""One GPU job for scripts/gpu-check: import torch, allocate a fraction of the
card's memory, hold it, exit. Prints one JSON line with wall-clock times, so
two of them started together show who was on the GPU when.

    gpu_check_torch.py NAME FRACTION HOLD_SECONDS [BARRIER_DIR COUNT]

With a barrier, the job touches the GPU only once COUNT jobs have imported
torch: two jobs then reach the GPU at the same moment, whatever their import
times."""
import json
import os
import sys
import time

t_start = time.time()
name, fraction, hold = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
import torch  # noqa: E402  (imported late on purpose: its import time is measured)

t_imported = time.time()
result = {"name": name, "pid": os.getpid(), "start": t_start, "imported": t_imported}
if len(sys.argv) > 5:
    barrier, count = sys.argv[4], int(sys.argv[5])
    open(os.path.join(barrier, name), "w").close()
    deadline = time.monotonic() + 120
    while len(os.listdir(barrier)) < count and time.monotonic() < deadline:
        time.sleep(0.005)
    result["barrier"] = time.time()
try:
    free, total = torch.cuda.mem_get_info()  # first cuInit: the lock is taken here
    result["cuinit"] = time.time()
    block = torch.empty(int(total * fraction), dtype=torch.uint8, device="cuda")
    block.fill_(1)
    torch.cuda.synchronize()
    result["first_work"] = time.time()
    time.sleep(hold)
    result["ok"] = True
except Exception as e:  # OutOfMemoryError without the lock
    result["ok"] = False
    result["error"] = type(e).__name__ + ": " + (str(e).splitlines() or [""])[0][:160]
result["end"] = time.time()
print(json.dumps(result), flush=True)
