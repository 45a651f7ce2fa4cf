"""Hosts the L3.Gen .NET library in this process and binds its C ABI (interop/L3.Interop).

The .NET hosting API, as pythonnet's clr-loader uses it: load libhostfxr, initialize the runtime
from the interop's runtimeconfig.json (hostfxr_initialize_for_runtime_config), get
load_assembly_and_get_function_pointer, and ask it for each [UnmanagedCallersOnly] entry point.
ctypes only: nothing to compile.

Where things are found:
- the interop: $L3_INTEROP_DIR, else l3/_lib (python/build.sh publishes it there);
- the .NET runtime (a folder with host/fxr and shared/Microsoft.NETCore.App): $L3_DOTNET_ROOT,
  else l3/_dotnet (build.sh --bundle-runtime copies one there), else $DOTNET_ROOT, else the folder
  of the `dotnet` on PATH, else /usr/share/dotnet, /usr/lib/dotnet, ~/.dotnet.
"""
import ctypes
import os
import shutil
import threading

from ._errors import raise_for_status

_HERE = os.path.dirname(os.path.abspath(__file__))
_TYPE = b"L3.Interop.Exports, L3.Interop"
# UNMANAGEDCALLERSONLY_METHOD: ((const char_t*)-1), the delegate type of an [UnmanagedCallersOnly] method
_UNMANAGEDCALLERSONLY = ctypes.c_void_p(2 ** (8 * ctypes.sizeof(ctypes.c_void_p)) - 1)
_LOAD_ASSEMBLY_AND_GET_FUNCTION_POINTER = 5  # hostfxr_delegate_type.hdt_load_assembly_and_get_function_pointer

c_int, c_long, c_void_p, c_char_p = ctypes.c_int, ctypes.c_int64, ctypes.c_void_p, ctypes.c_char_p
P = ctypes.POINTER


class BatchInfo(ctypes.Structure):
    """interop/L3.Interop/Exports.cs BatchInfo, field for field."""
    _fields_ = [("device_pointer", c_long), ("bytes", c_long), ("ready_event", c_long), ("epoch", c_long),
                ("shape", c_int * 4), ("type", c_int), ("layout", c_int), ("valid", c_int), ("index", c_int),
                ("on_cuda", c_int), ("device_id", c_int)]


class LoaderInfo(ctypes.Structure):
    """interop/L3.Interop/Exports.cs LoaderInfo, field for field."""
    _fields_ = [("batches_per_epoch", c_long), ("samples", c_long), ("epoch", c_long), ("samples_consumed", c_long),
                ("context", c_long), ("on_cuda", c_int), ("device_id", c_int)]


# C# method name -> (argument types); every entry point returns an int status unless noted
_SIGNATURES = {
    "LastError": (c_int, [c_void_p, c_int]),
    "Free": (None, [c_void_p]),
    "Encode": (c_int, [c_void_p, c_long, c_int, c_int, c_int, c_int, c_int, P(c_void_p), P(c_long)]),
    "Header": (c_int, [c_void_p, c_long, P(c_int)]),
    "Decode": (c_int, [c_void_p, c_long, c_void_p, c_long, c_int]),
    "ReadImage": (c_int, [c_char_p, P(c_void_p), P(c_long), P(c_int)]),
    "Convert": (c_int, [c_char_p, P(c_void_p)]),
    "LoaderCreate": (c_int, [c_char_p, c_char_p, P(c_void_p)]),
    "LoaderInfoOf": (c_int, [c_void_p, P(LoaderInfo)]),
    "LoaderStateOf": (c_int, [c_void_p, P(c_void_p)]),
    "LoaderNext": (c_int, [c_void_p, P(c_void_p)]),
    "LoaderDispose": (c_int, [c_void_p]),
    "BatchInfoOf": (c_int, [c_void_p, P(BatchInfo)]),
    "BatchLabels": (c_int, [c_void_p, c_void_p, c_void_p, c_int]),
    "BatchCopyToHost": (c_int, [c_void_p, c_void_p, c_long]),
    "BatchReference": (c_int, [c_void_p, c_void_p, c_long]),
    "BatchWait": (c_int, [c_void_p]),
    "BatchDispose": (c_int, [c_void_p]),
}


def _version_key(name):
    return tuple(int(p) if p.isdigit() else -1 for p in name.replace("-", ".").split("."))


def dotnet_roots():
    """Candidate .NET roots, in the order they are tried."""
    candidates = [os.environ.get("L3_DOTNET_ROOT"), os.path.join(_HERE, "_dotnet"), os.environ.get("DOTNET_ROOT")]
    dotnet = shutil.which("dotnet")
    if dotnet:
        candidates.append(os.path.dirname(os.path.realpath(dotnet)))
    candidates += ["/usr/share/dotnet", "/usr/lib/dotnet", os.path.expanduser("~/.dotnet")]
    return [c for c in candidates if c and os.path.isdir(os.path.join(c, "host", "fxr"))]


def _hostfxr_path(root):
    fxr = os.path.join(root, "host", "fxr")
    for version in sorted(os.listdir(fxr), key=_version_key, reverse=True):
        path = os.path.join(fxr, version, "libhostfxr.so")
        if os.path.isfile(path):
            return path
    return None


class _Library:
    """The loaded runtime and the bound entry points (one per process)."""

    def __init__(self):
        interop = os.environ.get("L3_INTEROP_DIR") or os.path.join(_HERE, "_lib")
        assembly = os.path.join(interop, "L3.Interop.dll")
        config = os.path.join(interop, "L3.Interop.runtimeconfig.json")
        if not os.path.isfile(assembly):
            raise ImportError(f"l3: {assembly} is missing; run python/build.sh to publish the .NET interop into the package")
        roots = dotnet_roots()
        if not roots:
            raise ImportError("l3: no .NET runtime found (set L3_DOTNET_ROOT or DOTNET_ROOT, or run python/build.sh --bundle-runtime)")
        self.dotnet_root = roots[0]
        hostfxr_path = _hostfxr_path(self.dotnet_root)
        if hostfxr_path is None:
            raise ImportError(f"l3: no libhostfxr.so below {self.dotnet_root}/host/fxr")
        fxr = ctypes.CDLL(hostfxr_path)
        errors = []
        # hostfxr reports why it failed through this writer; the messages go into the ImportError
        self._error_writer = ctypes.CFUNCTYPE(None, c_char_p)(lambda message: errors.append(message.decode("utf-8", "replace")))
        fxr.hostfxr_set_error_writer.argtypes = [c_void_p]
        fxr.hostfxr_set_error_writer(ctypes.cast(self._error_writer, c_void_p))

        class InitializeParameters(ctypes.Structure):
            _fields_ = [("size", ctypes.c_size_t), ("host_path", c_char_p), ("dotnet_root", c_char_p)]

        parameters = InitializeParameters(ctypes.sizeof(InitializeParameters), None, self.dotnet_root.encode())
        handle = c_void_p()
        fxr.hostfxr_initialize_for_runtime_config.argtypes = [c_char_p, P(InitializeParameters), P(c_void_p)]
        fxr.hostfxr_initialize_for_runtime_config.restype = ctypes.c_int32
        rc = fxr.hostfxr_initialize_for_runtime_config(config.encode(), ctypes.byref(parameters), ctypes.byref(handle))
        if rc < 0 or not handle:
            raise ImportError(f"l3: hostfxr could not start .NET from {self.dotnet_root} (0x{rc & 0xffffffff:08x}): {' '.join(errors)}")
        load = c_void_p()
        fxr.hostfxr_get_runtime_delegate.argtypes = [c_void_p, c_int, P(c_void_p)]
        fxr.hostfxr_get_runtime_delegate.restype = ctypes.c_int32
        rc = fxr.hostfxr_get_runtime_delegate(handle, _LOAD_ASSEMBLY_AND_GET_FUNCTION_POINTER, ctypes.byref(load))
        fxr.hostfxr_close.argtypes = [c_void_p]
        fxr.hostfxr_close(handle)
        if rc < 0 or not load:
            raise ImportError(f"l3: hostfxr gave no load_assembly_and_get_function_pointer (0x{rc & 0xffffffff:08x}): {' '.join(errors)}")
        load_fn = ctypes.CFUNCTYPE(ctypes.c_int32, c_char_p, c_char_p, c_char_p, c_void_p, c_void_p, P(c_void_p))(load.value)
        self._fxr = fxr
        for name, (restype, argtypes) in _SIGNATURES.items():
            pointer = c_void_p()
            rc = load_fn(assembly.encode(), _TYPE, name.encode(), _UNMANAGEDCALLERSONLY, None, ctypes.byref(pointer))
            if rc < 0 or not pointer:
                raise ImportError(f"l3: {assembly} has no entry point {name} (0x{rc & 0xffffffff:08x}): {' '.join(errors)}")
            setattr(self, name, ctypes.CFUNCTYPE(restype, *argtypes)(pointer.value))

    def last_error(self):
        size = self.LastError(None, 0)
        buffer = ctypes.create_string_buffer(size + 1)
        self.LastError(buffer, size + 1)
        return buffer.value.decode("utf-8", "replace")

    def call(self, name, *args):
        """Calls entry point `name`; a failure raises the exception its status maps to, with .NET's message."""
        status = getattr(self, name)(*args)
        if status != 0:
            raise_for_status(status, self.last_error())

    def take_string(self, pointer):
        """A UTF-8 string the library allocated, freed after the copy."""
        try:
            return ctypes.string_at(pointer.value).decode("utf-8")
        finally:
            self.Free(pointer)

    def take_bytes(self, pointer, length):
        try:
            return ctypes.string_at(pointer.value, length)
        finally:
            self.Free(pointer)


_library = None
_lock = threading.Lock()


def library():
    """The bound library, started on first use."""
    global _library
    if _library is None:
        with _lock:
            if _library is None:
                _library = _Library()
    return _library
