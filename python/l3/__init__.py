"""L3.Gen for Python: the lossless L3 image format and its GPU training loader.

The .NET library runs in this process (hosted through hostfxr, see _native.py); nothing is compiled.

    import l3
    data = l3.encode(pixels)                 # H×W×C uint8 numpy array -> bytes of an L3 file
    pixels = l3.decode(data)                 # -> numpy (device="cuda": a torch tensor)
    l3.convert("images/", "dataset-l3")      # a folder with class sub-folders -> an L3 dataset
    loader = l3.Loader("dataset-l3", batch_size=64, size=224, dtype="float16")
    for images, labels in loader: ...        # torch tensors on the GPU, zero copy
"""
from ._errors import ImageFileError, L3Error, L3FormatError
from .codec import Header, convert, decode, encode, header, read, read_image
from .loader import IMAGENET_MEAN, IMAGENET_STD, Batch, Loader

__all__ = ["encode", "decode", "header", "read", "read_image", "convert", "Loader", "Batch", "Header",
           "L3Error", "L3FormatError", "ImageFileError", "IMAGENET_MEAN", "IMAGENET_STD"]
