"""Segmentation algorithms. Nothing here imports napari or Qt."""

from .components import label
from .threshold import threshold

__all__ = ["label", "threshold"]
