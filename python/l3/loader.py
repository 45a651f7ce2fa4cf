"""l3.Loader: a PyTorch-style iterable of (images, labels) from the .NET loader (docs/LOADER.md)."""
import ctypes
import json
import os
import threading

import numpy as np

from . import _cuda
from ._native import BatchInfo, LoaderInfo, library

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# OutputType (kernels/Augment/AugmentMath.cs) -> name, numpy dtype of the bytes, __cuda_array_interface__ typestr
# (bfloat16 has neither: it travels as int16 and is viewed as torch.bfloat16)
_TYPES = {0: ("uint8", np.uint8, "|u1"), 1: ("float32", np.float32, "<f4"), 2: ("float16", np.float16, "<f2"),
          3: ("bfloat16", np.int16, "<i2")}


def _dtype_name(dtype):
    name = str(dtype).replace("torch.", "").replace("numpy.", "")
    name = {"half": "float16", "float": "float32", "bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}.get(name, name)
    if name not in ("float16", "bfloat16", "float32", "uint8"):
        raise ValueError(f"dtype {dtype}: expected float16, bfloat16, float32 or uint8")
    return name


def _torch():
    try:
        import torch
        return torch
    except ImportError:
        return None


def _distributed_rank():
    torch = _torch()
    if torch is not None and torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def _cuda_device(device, force_cpu):
    """The CUDA device the library decodes on: `device`'s when it names one (cuda:N), else torch's
    current device (torch.cuda.set_device(local_rank) under torchrun); None: the library's first."""
    if force_cpu:
        return None
    text = str(device) if device is not None else ""
    if text.startswith("cuda:"):
        return int(text.split(":", 1)[1])
    torch = _torch()
    if text in ("", "cuda") and torch is not None and torch.cuda.is_available():
        return torch.cuda.current_device()
    return None


class Batch:
    """One batch as the library hands it out (mostly for checks): its bytes on the host, the
    reference bytes, labels, sample numbers, shape, dtype name, and `valid` real entries."""

    def __init__(self, session, handle):
        self._session, self._handle = session, handle
        lib = library()
        self.info = info = BatchInfo()
        lib.call("BatchInfoOf", handle, ctypes.byref(info))
        self.shape = tuple(info.shape)
        self.dtype = _TYPES[info.type][0]
        self.valid, self.epoch, self.index = info.valid, info.epoch, info.index
        self.channels_last = info.layout == 1
        self.labels = np.empty(self.shape[0], dtype=np.int32)
        self.samples = np.empty(self.shape[0], dtype=np.int64)
        lib.call("BatchLabels", handle, self.labels.ctypes.data, self.samples.ctypes.data, self.shape[0])

    def host_bytes(self):
        """The tensor's bytes copied to the host (uint8, flat)."""
        out = np.empty(self.info.bytes, dtype=np.uint8)
        library().call("BatchCopyToHost", self._handle, out.ctypes.data, out.nbytes)
        return out

    def reference_bytes(self):
        """What the batch must hold, by the library's CPU reference of the augmentation."""
        out = np.empty(self.info.bytes, dtype=np.uint8)
        library().call("BatchReference", self._handle, out.ctypes.data, out.nbytes)
        return out

    def host_array(self):
        """The tensor on the host as numpy, in its layout (bfloat16 as int16 bits)."""
        return self.host_bytes().view(_TYPES[self.info.type][1]).reshape(self.shape)

    def release(self, stream_event=None):
        """Gives the memory back to the loader; with a torch.cuda.Event, once that event has passed."""
        if self._handle is not None:
            handle, self._handle = self._handle, None
            self._session.release(handle, stream_event)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


class _Session:
    """The native loader and the batches still out: a batch whose tensor was freed goes back once
    the work queued on torch's stream at that moment has passed (an event polled, never waited on),
    and the loader itself is disposed when closed and no batch is out."""

    def __init__(self, settings, state):
        self._lock = threading.Lock()
        self._handle = ctypes.c_void_p()
        library().call("LoaderCreate", json.dumps(settings).encode(), state.encode() if state else None, ctypes.byref(self._handle))
        self._out = 0
        self._pending = []  # (torch event or None, batch handle)
        self._closed = False

    def info(self):
        info = LoaderInfo()
        library().call("LoaderInfoOf", self._handle, ctypes.byref(info))
        return info

    def state(self):
        text = ctypes.c_void_p()
        lib = library()
        lib.call("LoaderStateOf", self._handle, ctypes.byref(text))
        return lib.take_string(text)

    def next(self):
        self._reap(wait=False)
        handle = ctypes.c_void_p()
        library().call("LoaderNext", self._handle, ctypes.byref(handle))
        with self._lock:
            self._out += 1
        return Batch(self, handle)

    def release(self, handle, event):
        with self._lock:
            self._out -= 1
            self._pending.append((event, handle))
            closed = self._closed
        if event is None or closed:
            self._reap(wait=closed)

    def _reap(self, wait):
        with self._lock:
            done = [p for p in self._pending if p[0] is None or wait or p[0].query()]
            self._pending = [p for p in self._pending if not any(p is d for d in done)]
            finish = self._closed and self._out == 0 and not self._pending and self._handle
        lib = library()
        for event, handle in done:
            if event is not None and wait:
                event.synchronize()
            lib.call("BatchDispose", handle)
        if finish:
            handle, self._handle = self._handle, None
            lib.call("LoaderDispose", handle)

    def close(self):
        with self._lock:
            self._closed = True
        self._reap(wait=True)


class _DeviceMemory:
    """A batch's device memory as __cuda_array_interface__ for torch.as_tensor; torch keeps this
    object alive as long as the tensor's storage, and its end gives the batch back."""

    def __init__(self, batch, typestr, torch):
        self._batch, self._torch = batch, torch
        self.__cuda_array_interface__ = {"shape": batch.shape, "typestr": typestr, "data": (batch.info.device_pointer, False),
                                         "version": 3, "strides": None}

    def __del__(self):
        try:
            device = self._torch.device("cuda", self._batch.info.device_id)
            event = self._torch.cuda.Event()
            event.record(self._torch.cuda.current_stream(device))
            self._batch.release(event)
        except Exception:  # interpreter shutdown: the process is going away
            pass


class Loader:
    """Augmented, normalized batches of an L3 dataset as torch tensors (numpy without torch).

    `dataset`: a dataset folder (`l3 convert`), a folder of .l3 files (sub-folders are classes), a
    list file or an .l3 file. `size`: the output side (int) or (height, width); None with
    crop="full" keeps each image's size. `mean`/`std` on the [0, 1] scale (None: no normalization,
    values in [0, 1]; ignored for uint8). `drop_last`: only whole batches; otherwise the last batch
    is smaller (the loader pads it on the device, the tensor shows only the real entries). `rank` and
    `world_size` default to torch.distributed's when it is initialized. `device`: where the tensors
    go (default: the loader's GPU, else the CPU). The loader decodes on the CUDA device `device` names
    (cuda:N), else on torch's current one (each rank's own GPU after torch.cuda.set_device). `channels_last`: NHWC memory, tensors still
    indexed N, C, H, W (torch.channels_last). `copy`: hand over a device-to-device copy instead of the
    loader's own memory.

    Iterating gives one epoch (the rest of it after load_state_dict); len() is batches per epoch.
    After each next(), `last_samples` (sample numbers of its entries) and `last_epoch` say what it held.
    """

    def __init__(self, dataset, batch_size=64, size=224, dtype="float16", mean=IMAGENET_MEAN, std=IMAGENET_STD,
                 shuffle=True, seed=0, drop_last=False, rank=None, world_size=None, device=None, *,
                 crop="random_resized", flip=True, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), channels=3,
                 channels_last=False, copy=False, readers=None, prefetch=None, verify_checksums=False, force_cpu=False):
        default_rank, default_world = _distributed_rank()
        if isinstance(size, int):
            height = width = size
        elif size is None:
            if crop != "full":
                raise ValueError("size None needs crop='full'")
            height = width = 1
        else:
            height, width = size
        normalize = mean is not None or std is not None
        self._settings = {
            "source": os.fspath(dataset), "batch_size": batch_size, "width": width, "height": height, "crop": crop,
            "scale": list(scale), "ratio": list(ratio), "flip": flip, "channels": channels, "dtype": _dtype_name(dtype),
            "layout": "nhwc" if channels_last else "nchw", "normalize": normalize,
            "mean": list(mean if mean is not None else IMAGENET_MEAN), "std": list(std if std is not None else IMAGENET_STD),
            "shuffle": shuffle, "seed": seed, "last_batch": "drop" if drop_last else "pad",
            "rank": default_rank if rank is None else rank, "world_size": default_world if world_size is None else world_size,
            "verify_checksums": verify_checksums, "force_cpu": force_cpu,
        }
        cuda_device = _cuda_device(device, force_cpu)
        if cuda_device is not None: self._settings["cuda_device"] = cuda_device
        if readers is not None: self._settings["readers"] = readers
        if prefetch is not None: self._settings["prefetch"] = prefetch
        self._requested_device = device
        self.copy = copy  # may change between batches
        self.last_samples, self.last_epoch = None, None  # of the last next()
        self._session = _Session(self._settings, None)
        self._start()

    def _start(self):
        info = self._session.info()
        self.on_cuda = bool(info.on_cuda)
        self._context, self._device_id = info.context, info.device_id
        torch = _torch()
        if self._requested_device is not None:
            self.device = torch.device(self._requested_device) if torch else self._requested_device
        elif torch is not None:
            self.device = torch.device("cuda", self._device_id) if self.on_cuda else torch.device("cpu")
        else:
            self.device = "cpu"

    def __len__(self):
        return self._session.info().batches_per_epoch

    @property
    def epoch(self):
        return self._session.info().epoch

    @property
    def num_samples(self):
        """Samples in the dataset (all ranks together)."""
        return self._session.info().samples

    def __iter__(self):
        epoch = self._session.info().epoch
        while self._session.info().epoch == epoch:
            yield self.next()

    def next_batch(self):
        """The next raw `Batch` (across epochs); release() it when done."""
        return self._session.next()

    def next(self):
        """The next (images, labels), across epochs."""
        batch = self._session.next()
        # which samples these are (the real entries), and of which epoch: for checks across ranks
        self.last_samples, self.last_epoch = batch.samples[:batch.valid].copy(), batch.epoch
        torch = _torch()
        zero_copy = torch is not None and self.on_cuda and getattr(self.device, "type", None) == "cuda"
        try:
            images = self._device_tensor(batch, torch) if zero_copy else self._host_tensor(batch, torch)
        except BaseException:
            batch.release()
            raise
        labels = batch.labels.astype(np.int64)
        if torch is not None:
            labels = torch.from_numpy(labels)
            if getattr(self.device, "type", "cpu") != "cpu":
                # from page-locked memory the copy is queued without the host waiting on the stream
                labels = labels.pin_memory().to(self.device, non_blocking=True)
        if batch.valid < batch.shape[0]:
            images, labels = images[:batch.valid], labels[:batch.valid]
        return images, labels

    def _host_tensor(self, batch, torch):
        try:
            array = batch.host_array()
        finally:
            batch.release()
        if torch is None:
            return array.transpose(0, 3, 1, 2) if batch.channels_last else array
        tensor = torch.from_numpy(array)
        if batch.dtype == "bfloat16":
            tensor = tensor.view(torch.bfloat16)
        if batch.channels_last:
            tensor = tensor.permute(0, 3, 1, 2)
        return tensor.to(self.device) if self.device.type != "cpu" else tensor

    def _device_tensor(self, batch, torch):
        device = torch.device("cuda", batch.info.device_id)
        stream = torch.cuda.current_stream(device)
        if batch.info.ready_event:
            _cuda.stream_wait_event(stream.cuda_stream, batch.info.ready_event)
        typestr = _TYPES[batch.info.type][2]
        if self.copy:
            out = torch.empty(batch.shape, dtype=getattr(torch, batch.dtype), device=device)
            _cuda.copy_peer(out.data_ptr(), _cuda.primary_context(device.index), batch.info.device_pointer,
                            self._context, batch.info.bytes, stream.cuda_stream)
            event = torch.cuda.Event()
            event.record(stream)
            batch.release(event)
            tensor = out
        else:
            tensor = torch.as_tensor(_DeviceMemory(batch, typestr, torch), device=device)
            if batch.dtype == "bfloat16":
                tensor = tensor.view(torch.bfloat16)
        if batch.channels_last:
            tensor = tensor.permute(0, 3, 1, 2)
        return tensor if self.device == device else tensor.to(self.device)

    def state_dict(self):
        """Where the loader stands after the last batch handed out (resume with load_state_dict)."""
        return {"l3_loader_state": self._session.state()}

    def load_state_dict(self, state):
        """Continues from a state_dict() of a loader with the same settings (the next batches are
        those an uninterrupted run would give)."""
        text = state["l3_loader_state"] if isinstance(state, dict) else state
        session = _Session(self._settings, text)
        self._session.close()
        self._session = session
        self._start()

    def close(self):
        """Stops the readers; the loader's memory goes once the last tensor of it is freed."""
        if self._session is not None:
            self._session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
