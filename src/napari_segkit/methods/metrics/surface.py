"""Boundary metrics in physical units: Hausdorff, HD95, average surface distance, boundary F1.

The surface of a mask is its voxels with a neighbour outside it (face connectivity, as in
MONAI); distances are Euclidean in physical units (``spacing`` per axis, default 1), from
each surface voxel of one mask to the nearest surface voxel of the other. ``label`` picks
one class id; by default every non-zero voxel is foreground. Two empty masks are at
distance 0 (boundary F1 1); one empty mask is infinitely far (boundary F1 0).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ._inputs import check_surface_options, label_pair, spacing_for


def _surface(mask: np.ndarray) -> np.ndarray:
    structure = ndimage.generate_binary_structure(mask.ndim, 1)
    return mask & ~ndimage.binary_erosion(mask, structure)


def surface_distances(prediction, reference, *, label=None, spacing=None):
    """(prediction → reference, reference → prediction) distances of surface voxels."""
    check_surface_options(label)
    pred, ref = label_pair(prediction, reference)
    pred, ref = (pred > 0, ref > 0) if label is None else (pred == label, ref == label)
    sampling = spacing_for(spacing, pred.ndim)
    edges_pred, edges_ref = _surface(pred), _surface(ref)
    if not edges_pred.any() or not edges_ref.any():
        empty = np.zeros(0)
        if not edges_pred.any() and not edges_ref.any():
            return empty, empty
        inf = np.array([np.inf])
        return (inf if edges_pred.any() else empty), (inf if edges_ref.any() else empty)
    to_ref = ndimage.distance_transform_edt(~edges_ref, sampling=sampling)[edges_pred]
    to_pred = ndimage.distance_transform_edt(~edges_pred, sampling=sampling)[edges_ref]
    return to_ref, to_pred


def hausdorff(prediction, reference, *, label=None, spacing=None, percentile=100.0) -> float:
    """The larger of the two directed ``percentile`` surface distances (100: Hausdorff)."""
    check_surface_options(label, percentile=percentile)
    distances = surface_distances(prediction, reference, label=label, spacing=spacing)
    return hausdorff_of(distances, percentile)


def hd95(prediction, reference, *, label=None, spacing=None) -> float:
    """The 95th-percentile Hausdorff distance (robust to a few outlying voxels)."""
    return hausdorff(prediction, reference, label=label, spacing=spacing, percentile=95.0)


def average_surface_distance(prediction, reference, *, label=None, spacing=None) -> float:
    """Mean distance over the surface voxels of both masks (symmetric)."""
    return average_of(surface_distances(prediction, reference, label=label, spacing=spacing))


def boundary_f1(prediction, reference, *, tolerance=1.0, label=None, spacing=None) -> float:
    """F1 of boundary voxels matched within ``tolerance`` (physical units, e.g. µm or mm)."""
    check_surface_options(label, tolerance)
    distances = surface_distances(prediction, reference, label=label, spacing=spacing)
    return boundary_f1_of(distances, tolerance)


# the same scores from distances computed once by :func:`surface_distances`

def hausdorff_of(distances, percentile: float) -> float:
    to_ref, to_pred = distances
    if np.isinf(to_ref).any() or np.isinf(to_pred).any():
        return float("inf")
    parts = [np.percentile(d, percentile) for d in (to_ref, to_pred) if d.size]
    return float(max(parts)) if parts else 0.0


def average_of(distances) -> float:
    both = np.concatenate(distances)
    return float(both.mean()) if both.size else 0.0


def boundary_f1_of(distances, tolerance: float) -> float:
    to_ref, to_pred = distances
    if not to_ref.size and not to_pred.size:
        return 1.0
    precision = float(np.mean(to_ref <= tolerance)) if to_ref.size else 0.0
    recall = float(np.mean(to_pred <= tolerance)) if to_pred.size else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0
