"""torch.cuda of the fake PyTorch: device_count() asks NVML, not cuInit, as
the real one does; everything else initialises CUDA."""
import _fake_gpu

OutOfMemoryError = _fake_gpu.OutOfMemoryError


def device_count():
    return 1


def is_available():
    try:
        _fake_gpu.init()
        return True
    except RuntimeError:
        return False  # PyTorch warns and says no


def mem_get_info():
    return _fake_gpu.mem_get_info()


def synchronize():
    _fake_gpu.init()


def get_device_name(device=0):
    _fake_gpu.init()
    return "Fake GPU"
