"""napari-segkit: segment scientific and medical images in napari, Python and the shell."""

__version__ = "0.1.0"

from .io import Volume, read, write
from .methods import (adaptive_threshold, distance_transform, find_seeds, label, metrics,
                      postprocess, split_touching_objects, threshold, voronoi_otsu_labeling,
                      watershed)

__all__ = ["Volume", "__version__", "adaptive_threshold", "distance_transform", "find_seeds",
           "label", "metrics", "postprocess", "read", "split_touching_objects", "threshold",
           "voronoi_otsu_labeling", "watershed", "write"]
