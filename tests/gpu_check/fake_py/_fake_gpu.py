"""The card behind the fake frameworks of tests/gpu_check: every GPU call
goes to the driver's cuInit through ctypes (the tests' fake libcuda.so.1,
so the preload's lock is real), and memory is one shared account of 80 GiB
(the fake driver's cuDeviceTotalMem) kept in FAKE_GPU_STATE: a file per
process that holds memory, named by its pid. A process's memory goes with
it, as on a real card."""
import atexit
import ctypes
import fcntl
import os

TOTAL = 80 << 30
CUDA_ERROR_DEVICE_UNAVAILABLE = 46
_driver = None
_ready = False


class OutOfMemoryError(RuntimeError):
    pass


def init():
    """cuInit, once per process as a runtime does; an error becomes the
    exception PyTorch raises for it."""
    global _driver, _ready
    if _ready:
        return
    _driver = _driver or ctypes.CDLL("libcuda.so.1")
    r = _driver.cuInit(0)
    if r == CUDA_ERROR_DEVICE_UNAVAILABLE:
        raise RuntimeError("CUDA error: CUDA-capable device(s) is/are busy or unavailable")
    if r != 0:
        raise RuntimeError("CUDA error: cuInit returned %d" % r)
    _ready = True


def _state():
    d = os.environ.get("FAKE_GPU_STATE")
    if not d:
        raise RuntimeError("fake GPU: FAKE_GPU_STATE is not set")
    os.makedirs(d, exist_ok=True)
    return d


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _used(d):
    used = 0
    for name in os.listdir(d):
        if name.isdigit() and _alive(int(name)):
            with open(os.path.join(d, name)) as f:
                used += int(f.read() or 0)
    return used


def mem_get_info():
    init()
    d = _state()
    return TOTAL - _used(d), TOTAL


def allocate(nbytes):
    """Takes nbytes of the card, or raises OutOfMemoryError."""
    init()
    d = _state()
    mine = os.path.join(d, str(os.getpid()))
    with open(os.path.join(d, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        used = _used(d)
        if used + nbytes > TOTAL:
            raise OutOfMemoryError("CUDA out of memory. Tried to allocate %.2f GiB (%.2f GiB in use)"
                                   % (nbytes / 2**30, used / 2**30))
        held = 0
        if os.path.exists(mine):
            with open(mine) as f:
                held = int(f.read() or 0)
        with open(mine, "w") as f:
            f.write(str(held + nbytes))
    atexit.register(lambda: os.path.exists(mine) and os.unlink(mine))


class Array:
    """Enough of a device array for the checks: a list on the 'card'."""

    def __init__(self, values):
        init()
        self.values = list(values)
        allocate(8 * max(1, len(self.values)))

    def sum(self):
        return Array([sum(self.values)])

    def item(self):
        return self.values[0]
