"""A fake PyTorch for tests/gpu_check: see _fake_gpu."""
import _fake_gpu
from . import cuda, version  # noqa: F401

__version__ = "0.0.0+fake"
uint8 = "uint8"
float32 = "float32"
OutOfMemoryError = _fake_gpu.OutOfMemoryError


class Tensor(_fake_gpu.Array):
    def __iadd__(self, n):
        self.values = [v + n for v in self.values]
        return self

    def fill_(self, v):
        self.values = [v] * len(self.values)
        return self

    def sum(self):
        return Tensor([sum(self.values)])


def _make(n, value, device):
    if not str(device).startswith("cuda"):
        raise RuntimeError("the fake torch has only cuda tensors")
    return Tensor([value] * n)


def ones(n, device="cpu", dtype=None):
    return _make(n, 1, device)


def zeros(n, device="cpu", dtype=None):
    return _make(n, 0, device)


def empty(nbytes, dtype=None, device="cpu"):
    """A large block: only its size is kept."""
    if not str(device).startswith("cuda"):
        raise RuntimeError("the fake torch has only cuda tensors")
    _fake_gpu.allocate(nbytes)
    t = Tensor.__new__(Tensor)
    t.values = [0]
    return t
