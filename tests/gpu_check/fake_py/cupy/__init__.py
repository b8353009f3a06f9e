"""A fake CuPy for tests/gpu_check: see _fake_gpu."""
import _fake_gpu

__version__ = "0.0.0+fake"


class ndarray(_fake_gpu.Array):
    def sum(self):
        return ndarray([sum(self.values)])

    def get(self):
        return self.values[0] if len(self.values) == 1 else list(self.values)


def arange(n):
    return ndarray(range(n))
