"""napari-segkit: segment scientific and medical images in napari, Python and the shell."""

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_FROM_IO = ("Volume", "read", "write")
_SUBPACKAGES = ("io", "methods", "unet")

if TYPE_CHECKING:  # for editors and type checkers; at run time the names load on first use
    from . import io, methods, unet  # noqa: F401
    from .io import Volume, read, write  # noqa: F401
    from .methods import *  # noqa: F403


def __getattr__(name: str):
    """Import the public API on first use, so that ``import napari_segkit`` (and napari
    opening a file, or ``segkit --version``) does not load SciPy, scikit-image or dask."""
    if name in _FROM_IO:
        return getattr(importlib.import_module(".io", __name__), name)
    if name in _SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    if name == "__all__" or not name.startswith("_"):
        methods = importlib.import_module(".methods", __name__)
        if name == "__all__":
            return [*_FROM_IO, "__version__", "unet", *methods.__all__]
        if name in methods.__all__:
            found = globals()[name] = getattr(methods, name)  # the next look-up is direct
            return found
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__getattr__("__all__")})
