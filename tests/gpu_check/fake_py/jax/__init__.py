"""A fake JAX for tests/gpu_check: see _fake_gpu."""
from . import numpy  # noqa: F401

__version__ = "0.0.0+fake"
