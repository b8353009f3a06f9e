import _fake_gpu


class Array(_fake_gpu.Array):
    def block_until_ready(self):
        return self

    def devices(self):
        return {"cuda:0"}


def ones(n):
    return Array([1.0] * n)
