"""The exceptions the library raises; each carries the .NET library's message."""


class L3Error(Exception):
    """A failure inside the L3.Gen library (I/O, a stalled reader, a GPU error)."""


class L3FormatError(L3Error, ValueError):
    """A bad L3 file or dataset sample (the library's L3FormatException)."""


class ImageFileError(L3Error, ValueError):
    """An image file (PNG, JPEG, …) that cannot be read (the library's ImageFileException)."""


# interop/L3.Interop/NativeResult.cs NativeStatus -> exception class
_BY_STATUS = {1: L3FormatError, 2: ValueError, 3: L3Error, 4: FileNotFoundError, 5: ImageFileError}


def raise_for_status(status, message):
    raise _BY_STATUS.get(status, L3Error)(message)
