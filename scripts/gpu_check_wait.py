"""PyTorch programs that wait for the GPU lock under the preload, for
scripts/gpu-check. Each prints JSON lines on stdout.

    gpu_check_wait.py interrupt RELEASED
        torch.cuda.is_available() while another process holds the lock;
        gpu-check sends SIGINT during the wait. Prints {"interrupted": ...,
        "at": time}; then, once the file RELEASED exists (the holder has let
        go), tries the GPU again in the same process and prints {"again": ...}:
        cudart may keep its first failure for the life of the process.
    gpu_check_wait.py timeout
        torch.cuda.is_available() under GPU_LOCK_TIMEOUT; prints what it
        returned and how long it took."""
import json
import os
import sys
import time

mode = sys.argv[1]
import torch  # noqa: E402  (before the clock: only the wait is timed)


def first_line(e):
    return type(e).__name__ + ": " + (str(e).splitlines() or [""])[0][:160]


def try_gpu():
    again = {}
    try:
        again["available"] = torch.cuda.is_available()
    except Exception as e:
        again["available_error"] = first_line(e)
    try:
        x = torch.zeros(1, device="cuda")
        x += 1
        again["tensor"] = "ok" if float(x.sum().item()) == 1.0 else "wrong sum"
    except Exception as e:
        again["tensor"] = first_line(e)
    return again


if mode == "timeout":
    t = time.time()
    available = torch.cuda.is_available()
    print(json.dumps({"pid": os.getpid(), "available": available, "waited": time.time() - t}),
          flush=True)
    sys.exit(0)

released = sys.argv[2]
try:
    available = torch.cuda.is_available()
    print(json.dumps({"interrupted": False, "available": available}), flush=True)
    sys.exit(0)
except KeyboardInterrupt:
    print(json.dumps({"interrupted": True, "at": time.time()}), flush=True)
deadline = time.monotonic() + 120
while not os.path.exists(released) and time.monotonic() < deadline:
    time.sleep(0.01)
print(json.dumps({"again": try_gpu()}), flush=True)
