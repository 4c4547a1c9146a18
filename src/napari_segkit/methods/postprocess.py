"""Clean up masks and label images: holes, small objects, morphology, borders, renumbering.

Every function takes a mask (bool or 0/1) or a label image (integer ids, 0 = background),
2D or 3D, and returns the same kind. Sizes and radii are in voxels, or in physical units
when ``spacing`` (voxel size per axis) is given: an area in 2D, a volume in 3D, a radius
as a length.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage import segmentation

from ..backend import cpu_only
from ..progress import steps
from ._geometry import ball, spacing_for, voxels_for_size
from .components import label
from .distance import distance_transform

OPERATIONS = ("erode", "dilate", "open", "close")


def _labels(image) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype.kind not in "biu":
        raise ValueError(f"expected a mask or label image (integers), not {image.dtype}")
    if image.dtype.kind == "i" and image.size and image.min() < 0:
        raise ValueError("labels must not be negative")
    return image


def _is_mask(image: np.ndarray) -> bool:
    return image.dtype == bool or (image.size > 0 and image.max() <= 1)


def _back(result: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``result`` as ``like``'s dtype (bool stays bool)."""
    return result.astype(like.dtype, copy=False)


@cpu_only
def fill_holes(image, *, per_slice: bool = False):
    """Fill background enclosed by one object (per object for labels; a hole shared by two
    touching objects stays). ``per_slice`` fills 2D holes in each Z slice of a 3D image."""
    image = _labels(image)
    if per_slice and image.ndim == 3:
        return np.stack([fill_holes(plane) for plane in steps(image)])
    if _is_mask(image):
        return _back(ndimage.binary_fill_holes(image), image)
    out = image.copy()
    boxes = ndimage.find_objects(image)
    for index, box in steps(enumerate(boxes, start=1), len(boxes)):
        if box is None:
            continue
        box = tuple(slice(max(s.start - 1, 0), s.stop + 1) for s in box)
        filled = ndimage.binary_fill_holes(image[box] == index)
        out[box][filled & (image[box] == 0)] = index
    return out


@cpu_only
def remove_small_objects(image, min_size: float, *, spacing=None, connectivity: int = 1):
    """Remove objects smaller than ``min_size`` voxels (or physical area/volume with
    ``spacing``). A mask's objects are its connected parts (``connectivity`` as in
    :func:`label`); a label image's are its ids, which are kept."""
    image = _labels(image)
    limit = voxels_for_size(min_size, spacing_for(spacing, image.ndim) if spacing else None)
    ids = label(image, connectivity=connectivity, device="cpu") if _is_mask(image) else image
    counts = np.bincount(ids.ravel())
    small = counts < limit
    small[0] = False
    return np.where(small[ids], 0, image).astype(image.dtype, copy=False)


@cpu_only
def remove_small_holes(image, max_size: float, *, spacing=None):
    """Fill holes (background enclosed by one object) smaller than ``max_size`` voxels or
    physical units; larger holes stay."""
    image = _labels(image)
    limit = voxels_for_size(max_size, spacing_for(spacing, image.ndim) if spacing else None)
    filled = fill_holes(image)
    holes = (filled != image)
    hole_ids = label(holes, connectivity=1, device="cpu")
    big = np.bincount(hole_ids.ravel()) >= limit
    big[0] = True
    return np.where(big[hole_ids], image, filled).astype(image.dtype, copy=False)


@cpu_only
def morphology_op(image, operation: str, radius: float = 1.0, *, spacing=None):
    """Erode, dilate, open or close with a ball of ``radius`` (voxels or physical units).

    A mask is processed as a binary image. A label image is processed per object: erosion
    also separates touching objects along their border, dilation grows objects into the
    background only (never into each other), opening removes the parts of each object
    thinner than the ball, closing fills each object's gaps narrower than the ball without
    joining objects.
    """
    if operation not in OPERATIONS:
        raise ValueError(f"operation must be one of {OPERATIONS}, not {operation!r}")
    image = _labels(image)
    footprint = ball(radius, spacing, image.ndim)
    if _is_mask(image):
        function = {"erode": ndimage.binary_erosion, "dilate": ndimage.binary_dilation,
                    "open": ndimage.binary_opening, "close": ndimage.binary_closing}[operation]
        return _back(function(image, structure=footprint), image)
    if operation == "erode":
        return _erode_labels(image, footprint)
    if operation == "dilate":
        return expand_labels(image, radius, spacing=spacing)
    if operation == "open":
        grown = expand_labels(_erode_labels(image, footprint), radius, spacing=spacing)
        return np.where(grown == image, image, 0).astype(image.dtype)
    closed = _erode_labels(expand_labels(image, radius, spacing=spacing), footprint)
    return np.where(image > 0, image, closed).astype(image.dtype)


def _erode_labels(labels: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """Keep a voxel where every voxel under the footprint has its label."""
    same = ndimage.minimum_filter(labels, footprint=footprint, mode="nearest") == \
        ndimage.maximum_filter(labels, footprint=footprint, mode="nearest")
    return np.where(same, labels, 0).astype(labels.dtype)


@cpu_only
def expand_labels(labels, distance: float = 1.0, *, spacing=None):
    """Grow each object into the background by up to ``distance`` (voxels or physical
    units), each background voxel going to the nearest object; objects never overlap
    (:func:`skimage.segmentation.expand_labels`)."""
    labels = _labels(labels)
    return segmentation.expand_labels(labels, distance,
                                      spacing=spacing_for(spacing, labels.ndim))


@cpu_only
def smooth_labels(labels, radius: float = 1.0, *, spacing=None):
    """Smooth each object's outline: Gaussian blur of the object (sigma ``radius``) kept
    where it is above one half, only over background or the object itself."""
    labels = _labels(labels)
    if _is_mask(labels):
        return _back(_smooth_mask(labels.astype(bool), radius, spacing), labels)
    out = labels.copy()
    sigma = np.asarray([radius / s for s in spacing_for(spacing, labels.ndim)])
    margin = np.ceil(3 * sigma).astype(int) + 1
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        box = tuple(slice(max(s.start - m, 0), s.stop + m) for s, m in zip(box, margin))
        inside = labels[box] == index
        smooth = ndimage.gaussian_filter(inside.astype(np.float32), sigma) >= 0.5
        region = out[box]
        region[inside & ~smooth] = 0
        region[smooth & (labels[box] == 0)] = index
    return out


def _smooth_mask(mask, radius, spacing):
    sigma = [radius / s for s in spacing_for(spacing, mask.ndim)]
    return ndimage.gaussian_filter(mask.astype(np.float32), sigma) >= 0.5


@cpu_only
def remove_border_objects(image, *, buffer: int = 0):
    """Remove objects touching the image border (or within ``buffer`` voxels of it)."""
    image = _labels(image)
    ids = label(image, device="cpu") if _is_mask(image) else image
    cleared = segmentation.clear_border(ids, buffer_size=buffer)
    return np.where(cleared > 0, image, 0).astype(image.dtype)


@cpu_only
def relabel_sequential(labels):
    """Renumber ids to 1…N keeping their order (0 stays background); dtype kept."""
    labels = _labels(labels)
    return segmentation.relabel_sequential(labels)[0].astype(labels.dtype, copy=False)


@cpu_only
def keep_largest(image, count: int = 1):
    """Keep the ``count`` largest objects (ids of a label image, connected parts of a mask)."""
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    image = _labels(image)
    ids = label(image, device="cpu") if _is_mask(image) else image
    sizes = np.bincount(ids.ravel())
    sizes[0] = 0
    keep = np.argsort(sizes, kind="stable")[::-1][:count]
    keep = keep[sizes[keep] > 0]
    return np.where(np.isin(ids, keep), image, 0).astype(image.dtype)


@cpu_only
def fill_between_slices(labels, *, axis: int = 0, spacing=None):
    """Interpolate objects drawn on a few slices of a 3D label image into the slices between.

    For each id, between two slices along ``axis`` that hold it, the in-plane signed distance
    maps of the two outlines are blended linearly (shape-based interpolation), so a circle
    drawn on slice 0 and a larger one on slice 10 become a cone. Only background voxels of
    the slices in between are filled; drawn slices are never changed.
    """
    labels = _labels(labels)
    if labels.ndim != 3:
        raise ValueError(f"fill_between_slices needs a 3D label image, got {labels.ndim}D")
    moved = np.moveaxis(labels, axis, 0)
    plane_spacing = spacing_for(spacing, 3)
    plane_spacing = tuple(s for i, s in enumerate(plane_spacing) if i != axis % 3)
    out = moved.copy()
    for index in steps(np.unique(moved[moved > 0])):
        drawn = np.flatnonzero((moved == index).any(axis=(1, 2)))
        for lo, hi in zip(drawn[:-1], drawn[1:]):
            if hi - lo < 2:
                continue
            a = _signed_distance(moved[lo] == index, plane_spacing)
            b = _signed_distance(moved[hi] == index, plane_spacing)
            for z in range(lo + 1, hi):
                t = (z - lo) / (hi - lo)
                inside = (1 - t) * a + t * b > 0
                out[z][inside & (out[z] == 0)] = index
    return np.moveaxis(out, 0, axis)


def _signed_distance(mask: np.ndarray, spacing) -> np.ndarray:
    """Positive inside, negative outside, in physical units (half a voxel at the edge)."""
    inside = distance_transform(mask, spacing=spacing, black_border=True, device="cpu")
    outside = distance_transform(~mask, spacing=spacing, device="cpu")
    return inside - outside
