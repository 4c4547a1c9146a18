"""Segmentation algorithms. Nothing here imports napari or Qt."""

from . import metrics, postprocess
from .adaptive import adaptive_threshold
from .components import label
from .distance import distance_transform
from .threshold import threshold
from .watershed import find_seeds, split_touching_objects, voronoi_otsu_labeling, watershed

__all__ = ["adaptive_threshold", "distance_transform", "find_seeds", "label", "metrics",
           "postprocess", "split_touching_objects", "threshold", "voronoi_otsu_labeling",
           "watershed"]
