"""Encoding, decoding and converting through the .NET library."""
import collections
import ctypes
import json
import os

import numpy as np

from ._native import library

Header = collections.namedtuple("Header", "width height channels patch_size")


def _pixels(array):
    """An H×W (gray) or H×W×C (C = 1, 3, 4) uint8 array, C-contiguous; torch tensors on any device too."""
    if hasattr(array, "detach") and hasattr(array, "cpu"):  # a torch tensor
        array = array.detach().cpu().numpy()
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"pixels must be uint8, not {array.dtype}")
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3:
        raise ValueError(f"pixels must be H×W or H×W×C, not of shape {array.shape}")
    return np.ascontiguousarray(array)


def _file(data):
    """The bytes of an L3 file as a uint8 array (no copy for bytes, bytearray, memoryview, numpy)."""
    if isinstance(data, (str, os.PathLike)):
        raise TypeError("decode takes the file's bytes; use l3.read(path) for a path")
    array = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data
    if array.dtype != np.uint8:
        raise ValueError(f"an L3 file is bytes, not {array.dtype}")
    return np.ascontiguousarray(array.reshape(-1))


def encode(array, patch_size=64, threads=1):
    """Encodes an H×W or H×W×C uint8 image (C = 1, 3 or 4) to the bytes of an L3 file."""
    pixels = _pixels(array)
    height, width, channels = pixels.shape
    lib = library()
    output, length = ctypes.c_void_p(), ctypes.c_int64()
    lib.call("Encode", pixels.ctypes.data, pixels.nbytes, width, height, channels, patch_size, threads,
             ctypes.byref(output), ctypes.byref(length))
    return lib.take_bytes(output, length.value)


def header(data):
    """Reads and checks an L3 file's header and patch table: (width, height, channels, patch_size)."""
    file = _file(data)
    shape = (ctypes.c_int * 4)()
    library().call("Header", file.ctypes.data, file.nbytes, shape)
    return Header(*shape)


def decode(data, threads=1, device=None):
    """Decodes an L3 file (checksums and structure checked) to an H×W×C uint8 numpy array; with
    `device` (e.g. "cpu", "cuda"), a torch tensor there instead."""
    file = _file(data)
    lib = library()
    shape = (ctypes.c_int * 4)()
    lib.call("Header", file.ctypes.data, file.nbytes, shape)
    width, height, channels = shape[0], shape[1], shape[2]
    pixels = np.empty((height, width, channels), dtype=np.uint8)
    lib.call("Decode", file.ctypes.data, file.nbytes, pixels.ctypes.data, pixels.nbytes, threads)
    if device is None:
        return pixels
    import torch
    return torch.from_numpy(pixels).to(device)


def read(path, threads=1, device=None):
    """Decodes the L3 file at `path` (see decode)."""
    with open(path, "rb") as f:
        return decode(f.read(), threads, device)


def read_image(path):
    """Reads an image file (PNG, JPEG, BMP, GIF, WebP, netpbm) as the converter does: H×W×C uint8."""
    lib = library()
    pixels, length, shape = ctypes.c_void_p(), ctypes.c_int64(), (ctypes.c_int * 3)()
    lib.call("ReadImage", os.fsencode(path), ctypes.byref(pixels), ctypes.byref(length), shape)
    data = lib.take_bytes(pixels, length.value)
    return np.frombuffer(data, dtype=np.uint8).reshape(shape[0], shape[1], shape[2]).copy()


def convert(source, destination, patch_size=None, shard_size=None, jobs=None, part=0, parts=1, strict=False):
    """Converts images to an L3 dataset as `l3 convert` does (docs/DATASET.md): `source` is a folder
    (class sub-folders give labels), a list file or a tar. Returns a dict: samples, failures, shards,
    shards_written, finished, failure_report."""
    request = {"source": os.fspath(source), "destination": os.fspath(destination), "part": part, "parts": parts, "strict": strict}
    if patch_size is not None: request["patch_size"] = patch_size
    if shard_size is not None: request["shard_size"] = str(shard_size)
    if jobs is not None: request["jobs"] = jobs
    lib = library()
    result = ctypes.c_void_p()
    lib.call("Convert", json.dumps(request).encode(), ctypes.byref(result))
    return json.loads(lib.take_string(result))
