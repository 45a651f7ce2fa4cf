"""The few CUDA driver calls the GPU hand-off needs, through ctypes on libcuda.

The loader's batches live in the loader's own CUDA context (ILGPU creates one with cuCtxCreate);
torch works in the device's primary context. A stream of one context may wait on an event of
another (cuStreamWaitEvent), and on one device a kernel of one context may read memory of another
(checked by python/tests/test_cuda.py on the device), so the hand-off needs no host wait and no copy.
cuMemcpyPeerAsync is the copying fallback."""
import ctypes

_lib = None


def _driver():
    global _lib
    if _lib is None:
        lib = ctypes.CDLL("libcuda.so.1")
        v, p = ctypes.c_void_p, ctypes.POINTER
        for name, args in {
            "cuStreamWaitEvent": [v, v, ctypes.c_uint],
            "cuMemcpyPeerAsync": [ctypes.c_uint64, v, ctypes.c_uint64, v, ctypes.c_size_t, v],
            "cuDeviceGet": [p(ctypes.c_int), ctypes.c_int],
            "cuDevicePrimaryCtxRetain": [p(v), ctypes.c_int],
            "cuGetErrorString": [ctypes.c_int, p(ctypes.c_char_p)],
        }.items():
            getattr(lib, name).argtypes = args
            getattr(lib, name).restype = ctypes.c_int
        _lib = lib
    return _lib


def _check(result, what):
    if result != 0:
        text = ctypes.c_char_p()
        _driver().cuGetErrorString(result, ctypes.byref(text))
        raise RuntimeError(f"{what} failed: CUDA error {result} ({(text.value or b'?').decode()})")


def stream_wait_event(stream, event):
    """Makes `stream` (a CUstream, e.g. torch.cuda.current_stream().cuda_stream) wait for `event`
    (a CUevent, possibly of another context) on the device; the host does not wait."""
    _check(_driver().cuStreamWaitEvent(ctypes.c_void_p(stream), ctypes.c_void_p(event), 0), "cuStreamWaitEvent")


_primary = {}


def primary_context(device):
    """The primary context of device ordinal `device` (the one torch uses)."""
    if device not in _primary:
        lib = _driver()
        handle, context = ctypes.c_int(), ctypes.c_void_p()
        _check(lib.cuDeviceGet(ctypes.byref(handle), device), "cuDeviceGet")
        _check(lib.cuDevicePrimaryCtxRetain(ctypes.byref(context), handle.value), "cuDevicePrimaryCtxRetain")
        _primary[device] = context.value
    return _primary[device]


def copy_peer(destination, destination_context, source, source_context, size, stream):
    """Copies `size` bytes between contexts on `stream`, asynchronously."""
    _check(_driver().cuMemcpyPeerAsync(destination, ctypes.c_void_p(destination_context), source,
                                       ctypes.c_void_p(source_context), size, ctypes.c_void_p(stream)), "cuMemcpyPeerAsync")
