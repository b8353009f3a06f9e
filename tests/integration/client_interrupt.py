"""A Python program waiting for the GPU lock in cuInit, as torch or CuPy
would be, through ctypes. Ctrl-C must reach it while it waits: Python's
handler notes the signal, cuInit returns, and KeyboardInterrupt is raised.
After it, the program calls cuInit again once stdin has a line: a wait that
was interrupted can be taken up again."""
import ctypes
import sys

cuda = ctypes.CDLL("libcuda.so.1")
try:
    r = cuda.cuInit(0)
    print(f"cuInit={r}", flush=True)
except KeyboardInterrupt:
    print("KeyboardInterrupt", flush=True)
    sys.stdin.readline()
    print(f"again cuInit={cuda.cuInit(0)}", flush=True)
