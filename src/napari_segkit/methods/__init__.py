"""Segmentation algorithms. Nothing here imports napari or Qt."""

from . import metrics
from .adaptive import adaptive_threshold
from .components import label
from .threshold import threshold

__all__ = ["adaptive_threshold", "label", "metrics", "threshold"]
