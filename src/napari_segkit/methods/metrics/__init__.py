"""Compare a segmentation with a reference: per class, per boundary and per object."""

from .errors import ERROR_COLOURS, ERRORS, error_map
from .evaluate import MODES, evaluate
from .instances import (
    AP_THRESHOLDS,
    Matching,
    f1,
    match,
    matches_at,
    mean_average_precision,
    panoptic_quality,
)
from .overlap import class_counts, confusion, dice, iou, pixel_accuracy, precision, recall
from .surface import average_surface_distance, boundary_f1, hausdorff, hd95, surface_distances

__all__ = [
    "AP_THRESHOLDS",
    "ERRORS",
    "ERROR_COLOURS",
    "MODES",
    "Matching",
    "average_surface_distance",
    "boundary_f1",
    "class_counts",
    "confusion",
    "dice",
    "error_map",
    "evaluate",
    "f1",
    "hausdorff",
    "hd95",
    "iou",
    "match",
    "matches_at",
    "mean_average_precision",
    "panoptic_quality",
    "pixel_accuracy",
    "precision",
    "recall",
    "surface_distances",
]
