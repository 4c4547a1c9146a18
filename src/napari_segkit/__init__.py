"""napari-segkit: segment scientific and medical images in napari, Python and the shell."""

__version__ = "0.1.0"

from .io import Volume, read, write
from .methods import adaptive_threshold, label, metrics, threshold

__all__ = ["Volume", "__version__", "adaptive_threshold", "label", "metrics", "read", "threshold", "write"]
