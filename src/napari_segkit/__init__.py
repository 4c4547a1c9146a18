"""napari-segkit: segment scientific and medical images in napari, Python and the shell."""

__version__ = "0.1.0"

from .io import Volume, read, write
from . import methods, unet
from .methods import *  # noqa: F403  (the public functions, listed in methods.__all__)
from .methods import __all__ as _methods

__all__ = ["Volume", "__version__", "read", "unet", "write", *_methods]
