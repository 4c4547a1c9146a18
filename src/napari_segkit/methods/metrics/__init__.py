"""Compare a segmentation with a reference: per class, per boundary and per object."""

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

__all__ = ["AP_THRESHOLDS", "MODES", "Matching", "average_surface_distance", "boundary_f1",
           "class_counts", "confusion", "dice", "evaluate", "f1", "hausdorff", "hd95", "iou", "match",
           "matches_at", "mean_average_precision", "panoptic_quality", "pixel_accuracy",
           "precision", "recall", "surface_distances"]
