"""A fake numba for tests/gpu_check: see _fake_gpu."""
__version__ = "0.0.0+fake"
