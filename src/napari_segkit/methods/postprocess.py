"""Clean up masks and label images: holes, small objects, morphology, borders, renumbering.

Every function takes a mask (bool or 0/1) or a label image (integer ids, 0 = background),
2D or 3D, and returns the same kind. Sizes and radii are in voxels, or in physical units
when ``spacing`` (voxel size per axis) is given: an area in 2D, a volume in 3D, a radius
as a length.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import ndimage
from skimage import segmentation

from .._checks import check_choice, check_connectivity, check_number
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


def _check_size(name: str, value, spacing, image) -> None:
    """A size or radius (≥ 0) and the spacing it is measured with, refused before any work."""
    check_number(name, value, minimum=0)
    spacing_for(spacing, np.ndim(image))


def id_counts(ids: np.ndarray) -> np.ndarray:
    """``np.bincount(ids.ravel())`` for non-negative integer ids, compiled for int32/uint32
    (np.bincount first copies them to int64: twice the image's memory and time)."""
    if ids.dtype not in (np.int32, np.uint32) or ids.size == 0:
        return np.bincount(ids.ravel())
    flat = ids.reshape(-1)
    if ids.dtype == np.int32 and flat.min() < 0:
        raise ValueError("ids must be non-negative")
    return _compiled_counter()(flat, int(flat.max()) + 1)


@functools.cache
def _compiled_counter():
    """The counting loop of :func:`id_counts`, compiled on first use."""
    import numba

    @numba.njit(cache=True, nogil=True)
    def count(flat, bins):
        counts = np.zeros(bins, np.int64)
        for value in flat:
            counts[value] += 1
        return counts

    return count


def _is_mask(image: np.ndarray) -> bool:
    return image.dtype == bool or (image.size > 0 and image.max() <= 1)


def _on_present_ids(function, labels: np.ndarray, *args) -> np.ndarray:
    """``function(labels, *args)`` run on the ids renumbered 1…N when the largest id exceeds
    the voxel count, then mapped back, so memory follows the objects, not the largest id.
    ``function`` must return ids of its input (or 0)."""
    if labels.size == 0 or int(labels.max()) <= labels.size:
        return function(labels, *args)
    ids, inverse = np.unique(labels, return_inverse=True)
    compact = inverse.reshape(labels.shape).astype(np.int32)
    if ids[0] != 0:  # 0 stays background
        ids, compact = np.concatenate([[0], ids]).astype(ids.dtype), compact + 1
    return ids[function(compact, *args)].astype(labels.dtype, copy=False)


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
        return _back(filled_mask(image), image)
    return _on_present_ids(_fill_label_holes, image)


def filled_mask(mask: np.ndarray) -> np.ndarray:
    """:func:`scipy.ndimage.binary_fill_holes` (default structure), bool: in 2D and 3D from
    one labelling of the background (faces only, cc3d) instead of SciPy's iterated dilation;
    the background parts that touch no border of the image are filled."""
    mask = np.asarray(mask).astype(bool, copy=False)
    if mask.ndim not in (2, 3) or mask.size == 0:
        return ndimage.binary_fill_holes(mask)
    background = label(~mask, connectivity=1, device="cpu")
    outside = np.zeros(int(background.max()) + 1, bool)
    for axis in range(mask.ndim):
        for end in (0, -1):
            outside[np.take(background, end, axis=axis)] = True
    outside[0] = False
    return ~outside[background]


def _fill_label_holes(image: np.ndarray) -> np.ndarray:
    out = image.copy()
    boxes = ndimage.find_objects(image)
    for index, box in steps(enumerate(boxes, start=1), len(boxes)):
        if box is None:
            continue
        box = tuple(slice(max(s.start - 1, 0), s.stop + 1) for s in box)
        filled = filled_mask(image[box] == index)
        out[box][filled & (image[box] == 0)] = index
    return out


@cpu_only
def remove_small_objects(image, min_size: float, *, spacing=None, connectivity: int = 1):
    """Remove objects smaller than ``min_size`` voxels (or physical area/volume with
    ``spacing``). A mask's objects are its connected parts (``connectivity`` as in
    :func:`label`); a label image's are its ids, which are kept."""
    _check_size("min_size", min_size, spacing, image)
    check_connectivity(connectivity, np.ndim(image))
    image = _labels(image)
    limit = voxels_for_size(min_size, spacing_for(spacing, image.ndim) if spacing else None)
    if not _is_mask(image):
        return _on_present_ids(_without_small, image, limit)
    if image.dtype == bool and image.ndim in (2, 3):  # cc3d's dust: one pass in C++
        import cc3d

        volume = image.reshape((1,) * (3 - image.ndim) + image.shape)
        kept = cc3d.dust(volume, threshold=int(np.ceil(limit)),
                         connectivity=(6, 18, 26)[connectivity - 1])
        return kept.reshape(image.shape)
    ids = label(image, connectivity=connectivity, device="cpu")
    return np.where(_without_small(ids, limit) > 0, image, 0).astype(image.dtype, copy=False)


def _without_small(ids: np.ndarray, limit: float) -> np.ndarray:
    small = id_counts(ids) < limit
    small[0] = False
    return np.where(small[ids], 0, ids)


@cpu_only
def remove_small_holes(image, max_size: float, *, spacing=None):
    """Fill holes (background enclosed by one object) smaller than ``max_size`` voxels or
    physical units; larger holes stay."""
    _check_size("max_size", max_size, spacing, image)
    image = _labels(image)
    limit = voxels_for_size(max_size, spacing_for(spacing, image.ndim) if spacing else None)
    filled = fill_holes(image)
    holes = (filled != image)
    hole_ids = label(holes, connectivity=1, device="cpu")
    big = id_counts(hole_ids) >= limit
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
    check_choice("operation", operation, OPERATIONS)
    _check_size("radius", radius, spacing, image)
    image = _labels(image)
    footprint = ball(radius, spacing, image.ndim)
    if _is_mask(image):
        return _back(_binary_morphology(image, operation, footprint), image)
    if operation == "erode":
        return _erode_labels(image, footprint)
    if operation == "dilate":
        return expand_labels(image, radius, spacing=spacing)
    if operation == "open":
        grown = expand_labels(_erode_labels(image, footprint), radius, spacing=spacing)
        return np.where(grown == image, image, 0).astype(image.dtype)
    closed = _erode_labels(expand_labels(image, radius, spacing=spacing), footprint)
    return np.where(image > 0, image, closed).astype(image.dtype)


def _binary_morphology(mask: np.ndarray, operation: str, footprint: np.ndarray) -> np.ndarray:
    """SciPy's binary erosion, dilation, opening or closing (outside 0), compiled for 1-3D
    (:mod:`._morphology`), by SciPy above."""
    if mask.ndim > 3:
        function = {"erode": ndimage.binary_erosion, "dilate": ndimage.binary_dilation,
                    "open": ndimage.binary_opening, "close": ndimage.binary_closing}[operation]
        return function(mask, structure=footprint)
    from ._morphology import dilate, erode

    if operation in ("erode", "dilate"):
        return (erode if operation == "erode" else dilate)(mask, footprint)
    if operation == "open":
        return dilate(erode(mask, footprint), footprint)
    return erode(dilate(mask, footprint), footprint)


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
    _check_size("distance", distance, spacing, labels)
    labels = _labels(labels)
    return segmentation.expand_labels(labels, distance,
                                      spacing=spacing_for(spacing, labels.ndim))


@cpu_only
def smooth_labels(labels, radius: float = 1.0, *, spacing=None):
    """Smooth each object's outline: Gaussian blur of the object (sigma ``radius``) kept
    where it is above one half, only over background or the object itself."""
    _check_size("radius", radius, spacing, labels)
    labels = _labels(labels)
    if _is_mask(labels):
        return _back(_smooth_mask(labels.astype(bool), radius, spacing), labels)
    return _on_present_ids(_smooth_each, labels, radius, spacing)


def _smooth_each(labels: np.ndarray, radius: float, spacing) -> np.ndarray:
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
    check_number("buffer", buffer, minimum=0, integer=True)
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
    check_number("count", count, minimum=1, integer=True)
    image = _labels(image)
    if not _is_mask(image):
        return _on_present_ids(_largest, image, count)
    ids = label(image, device="cpu")
    if image.dtype == bool:  # the chosen parts are the mask there (id 0 is never chosen)
        return _chosen(ids, count)[ids]
    return np.where(_chosen(ids, count)[ids], image, image.dtype.type(0))


def _largest(ids: np.ndarray, count: int) -> np.ndarray:
    return np.where(_chosen(ids, count)[ids], ids, ids.dtype.type(0))


def _chosen(ids: np.ndarray, count: int) -> np.ndarray:
    """Per id (a lookup table: np.isin would sort the image), whether it is one of the
    ``count`` largest."""
    sizes = id_counts(ids)
    sizes[0] = 0
    keep = np.argsort(sizes, kind="stable")[::-1][:count]
    chosen = np.zeros(len(sizes), bool)
    chosen[keep[sizes[keep] > 0]] = True
    return chosen


@cpu_only
def fill_between_slices(labels, *, axis: int = 0, spacing=None):
    """Interpolate objects drawn on a few slices of a 3D label image into the slices between.

    For each id, between two slices along ``axis`` that hold it, the in-plane signed distance
    maps of the two outlines are blended linearly (shape-based interpolation), so a circle
    drawn on slice 0 and a larger one on slice 10 become a cone. Only background voxels of
    the slices in between are filled; drawn slices are never changed.
    """
    check_number("axis", axis, minimum=-3, maximum=2, integer=True)
    spacing_for(spacing, 3)
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
