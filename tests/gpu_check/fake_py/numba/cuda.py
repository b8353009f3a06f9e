import _fake_gpu


class DeviceNDArray(_fake_gpu.Array):
    def copy_to_host(self):
        return list(self.values)


def to_device(values):
    return DeviceNDArray(values)
