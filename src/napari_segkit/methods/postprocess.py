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

__all__ = [
    "fill_holes",
    "remove_small_objects",
    "remove_small_holes",
    "morphology_op",
    "expand_labels",
    "smooth_labels",
    "remove_border_objects",
    "relabel_sequential",
    "keep_largest",
    "fill_between_slices",
]

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
    """Count the voxels of each id, as ``np.bincount(ids.ravel())``.

    Compiled (numba) for int32 and uint32 ids, for which :func:`numpy.bincount` first copies
    them to int64: twice the image's memory and time. Other dtypes, and empty arrays, go to
    :func:`numpy.bincount`.

    Parameters
    ----------
    ids : ndarray of non-negative integers
        A label image (any shape), NumPy.

    Returns
    -------
    counts : 1D int64 array
        ``counts[i]`` is the number of voxels holding id ``i``; its length is the largest
        id + 1.

    Raises
    ------
    ValueError
        If an id is negative.

    See Also
    --------
    numpy.bincount : The reference.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.methods.postprocess import id_counts
    >>> id_counts(np.array([[0, 1, 1], [2, 2, 2]], np.int32)).tolist()
    [1, 2, 3]
    """
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
    """Fill holes: background enclosed by one object.

    A mask's holes are the background parts that touch no border of the image
    (:func:`filled_mask`, one labelling of the background). A label image is filled per
    object, each in its bounding box, so a hole shared by two touching objects stays.
    ``per_slice`` fills 2D holes in each Z slice of a 3D image (a hole open along Z, e.g. a
    tube's, is then filled too).

    Parameters
    ----------
    image : (M, N) or (P, M, N) array of bool or integers
        A mask (bool or 0/1) or a label image (integer ids, 0 = background; an integer
        image whose largest value is 1 counts as a mask). Any array-like (NumPy, CuPy,
        dask, zarr): CuPy input gives a CuPy result; a dask mask (or, with ``per_slice``, a
        dask label image) is filled blockwise and stays lazy; others give NumPy.
    per_slice : bool, default False
        Fill each Z slice (first axis) of a 3D image on its own.
    device : {"auto", "cpu", "gpu"}, default "auto"
        CPU only: "auto" and "cpu" run on the CPU, "gpu" raises
        :class:`~napari_segkit.backend.GPUUnavailableError`.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    filled : array of ``image``'s shape and dtype
        ``image`` with its holes set to the enclosing object's id (True for a mask).

    Raises
    ------
    ValueError
        If ``image`` is not a mask or label image (a float dtype, or negative labels), or
        is a dask label image without ``per_slice`` (the whole image is needed: compute it,
        or fill the mask before labelling); or ``device`` is not a device name.
    TypeError
        If ``image`` is not an array.
    GPUUnavailableError
        If ``device="gpu"``.

    See Also
    --------
    remove_small_holes : Fill only the holes below a size.
    filled_mask : The mask case on a NumPy array.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.methods.postprocess import fill_holes
    >>> ring = np.zeros((9, 9), bool); ring[2:7, 2:7] = True; ring[4, 4] = False
    >>> int(ring.sum()), int(fill_holes(ring).sum())
    (24, 25)

    Each object of a label image fills its own hole:

    >>> labels = np.zeros((7, 12), np.uint8); labels[1:6, 1:6] = 1; labels[1:6, 6:11] = 2
    >>> labels[3, 3] = 0; labels[3, 8] = 0
    >>> filled = fill_holes(labels)
    >>> int(filled[3, 3]), int(filled[3, 8]), filled.dtype.name
    (1, 2, 'uint8')
    """
    image = _labels(image)
    if per_slice and image.ndim == 3:
        return np.stack([fill_holes(plane) for plane in steps(image)])
    if _is_mask(image):
        return _back(filled_mask(image), image)
    return _on_present_ids(_fill_label_holes, image)


def filled_mask(mask: np.ndarray) -> np.ndarray:
    """Fill the holes of a mask, as :func:`scipy.ndimage.binary_fill_holes`.

    The same result as SciPy's with its default structure, as bool: in 2D and 3D from one
    labelling of the background (faces only, cc3d) instead of SciPy's iterated dilation;
    the background parts that touch no border of the image are filled. Other dimensions
    (and empty arrays) go to SciPy. No checks, no device: the building block of
    :func:`fill_holes`.

    Parameters
    ----------
    mask : array-like
        Any shape; non-zero is foreground. Read as a NumPy array.

    Returns
    -------
    filled : bool ndarray of ``mask``'s shape
        ``mask`` with every hole filled.

    See Also
    --------
    fill_holes : Masks and label images, any array kind.
    scipy.ndimage.binary_fill_holes : The reference.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.methods.postprocess import filled_mask
    >>> ring = np.zeros((9, 9), bool); ring[2:7, 2:7] = True; ring[4, 4] = False
    >>> filled = filled_mask(ring)
    >>> filled.dtype.name, bool(filled[4, 4]), int(filled.sum())
    ('bool', True, 25)
    """
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
    """Remove objects smaller than a size.

    A mask's objects are its connected parts (``connectivity`` as in
    :func:`~napari_segkit.label`); a label image's are its ids, which are kept (not
    renumbered). Objects of ``min_size`` or more stay. A bool mask in 2D or 3D is cleaned by
    cc3d's ``dust`` in one pass in C++; a label image with ids far above its voxel count is
    counted on its ids renumbered, so memory follows the objects, not the largest id.

    Parameters
    ----------
    image : (M, N) or (P, M, N) array of bool or integers
        A mask (bool or 0/1) or a label image (integer ids, 0 = background; an integer
        image whose largest value is 1 counts as a mask). Any array-like (NumPy, CuPy,
        dask, zarr): CuPy input gives a CuPy result, dask input a lazy dask result (sizes
        gathered over all blocks), others NumPy.
    min_size : float
        The smallest size kept, ≥ 0: in voxels, or an area (2D) or volume (3D) in physical
        units with ``spacing``.
    spacing : float or sequence of float, optional
        Physical voxel size per axis; without it sizes are in voxels.
    connectivity : int, default 1
        Neighbours that join a mask's voxels into one object: 1 = faces (4 in 2D, 6 in 3D)
        up to ndim (8 in 2D, 26 in 3D).
    device : {"auto", "cpu", "gpu"}, default "auto"
        CPU only: "auto" and "cpu" run on the CPU, "gpu" raises
        :class:`~napari_segkit.backend.GPUUnavailableError`.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    cleaned : array of ``image``'s shape and dtype
        ``image`` with the small objects set to 0.

    Raises
    ------
    ValueError
        If ``min_size`` is negative or not finite; ``spacing`` or ``connectivity`` does not
        fit the image; ``image`` is not a mask or label image (a float dtype, or negative
        labels); or ``device`` is not a device name.
    TypeError
        If ``image`` is not an array, or ``min_size`` is not a number.
    GPUUnavailableError
        If ``device="gpu"``.

    See Also
    --------
    keep_largest : Keep a number of objects instead.
    remove_small_holes : The same for holes.
    skimage.morphology.remove_small_objects : The textbook version (voxels only).

    Examples
    --------
    A 3×3 square stays, a single pixel goes:

    >>> import numpy as np
    >>> from napari_segkit.methods.postprocess import remove_small_objects
    >>> mask = np.zeros((10, 10), bool); mask[1:4, 1:4] = True; mask[7, 7] = True
    >>> cleaned = remove_small_objects(mask, 2)
    >>> int(cleaned.sum()), bool(cleaned[7, 7])
    (9, False)

    The ids of a label image are kept:

    >>> labels = np.zeros((10, 10), np.int32); labels[1:4, 1:4] = 3; labels[7, 7] = 5
    >>> np.unique(remove_small_objects(labels, 2)).tolist()
    [0, 3]
    """
    _check_size("min_size", min_size, spacing, image)
    check_connectivity(connectivity, np.ndim(image))
    image = _labels(image)
    limit = voxels_for_size(min_size, spacing_for(spacing, image.ndim) if spacing else None)
    if not _is_mask(image):
        return _on_present_ids(_without_small, image, limit)
    if image.dtype == bool and image.ndim in (2, 3):  # cc3d's dust: one pass in C++
        import cc3d

        volume = image.reshape((1,) * (3 - image.ndim) + image.shape)
        kept = cc3d.dust(
            volume, threshold=int(np.ceil(limit)), connectivity=(6, 18, 26)[connectivity - 1]
        )
        return kept.reshape(image.shape)
    ids = label(image, connectivity=connectivity, device="cpu")
    return np.where(_without_small(ids, limit) > 0, image, 0).astype(image.dtype, copy=False)


def _without_small(ids: np.ndarray, limit: float) -> np.ndarray:
    small = id_counts(ids) < limit
    small[0] = False
    return np.where(small[ids], 0, ids)


@cpu_only
def remove_small_holes(image, max_size: float, *, spacing=None):
    """Fill holes smaller than a size; larger holes stay.

    A hole is background enclosed by one object, as in :func:`fill_holes` (per object for
    a label image, so a hole shared by two touching objects stays). Each hole's size is
    counted over its face-connected voxels; holes of ``max_size`` or more stay open.

    Parameters
    ----------
    image : (M, N) or (P, M, N) array of bool or integers
        A mask (bool or 0/1) or a label image (integer ids, 0 = background). Any array-like
        (NumPy, CuPy, dask, zarr); CuPy input gives a CuPy result, the others NumPy.
    max_size : float
        Holes smaller than this are filled, ≥ 0: in voxels, or an area (2D) or volume (3D)
        in physical units with ``spacing``.
    spacing : float or sequence of float, optional
        Physical voxel size per axis; without it sizes are in voxels.
    device : {"auto", "cpu", "gpu"}, default "auto"
        CPU only: "auto" and "cpu" run on the CPU, "gpu" raises
        :class:`~napari_segkit.backend.GPUUnavailableError`.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    filled : array of ``image``'s shape and dtype
        ``image`` with its small holes set to the enclosing object's id (True for a mask).

    Raises
    ------
    ValueError
        If ``max_size`` is negative or not finite; ``spacing`` does not fit the image;
        ``image`` is not a mask or label image (a float dtype, or negative labels); or
        ``device`` is not a device name.
    TypeError
        If ``image`` is not an array, or ``max_size`` is not a number.
    GPUUnavailableError
        If ``device="gpu"``.

    See Also
    --------
    fill_holes : Fill every hole.
    remove_small_objects : The same for objects.

    Examples
    --------
    A one-pixel hole is filled, a 2×2 hole stays:

    >>> import numpy as np
    >>> from napari_segkit.methods.postprocess import remove_small_holes
    >>> mask = np.zeros((10, 10), bool); mask[1:9, 1:9] = True
    >>> mask[3, 3] = False; mask[5:7, 5:7] = False
    >>> filled = remove_small_holes(mask, 2)
    >>> bool(filled[3, 3]), bool(filled[5, 5])
    (True, False)
    """
    _check_size("max_size", max_size, spacing, image)
    image = _labels(image)
    limit = voxels_for_size(max_size, spacing_for(spacing, image.ndim) if spacing else None)
    filled = fill_holes(image)
    holes = filled != image
    hole_ids = label(holes, connectivity=1, device="cpu")
    big = id_counts(hole_ids) >= limit
    big[0] = True
    return np.where(big[hole_ids], image, filled).astype(image.dtype, copy=False)


@cpu_only
def morphology_op(image, operation: str, radius: float = 1.0, *, spacing=None):
    """Erode, dilate, open or close a mask or label image with a ball.

    The footprint is a ball (an ellipsoid in voxels with anisotropic ``spacing``) of
    ``radius``; it always holds its centre. A mask is processed as a binary image (outside
    the image counts as background; compiled for 1-3D, SciPy beyond). A label image is
    processed per object: erosion also separates touching objects along their border,
    dilation grows objects into the background only (never into each other, see
    :func:`expand_labels`), opening removes the parts of each object thinner than the ball,
    closing fills each object's gaps narrower than the ball without joining objects.

    Parameters
    ----------
    image : (M, N) or (P, M, N) array of bool or integers
        A mask (bool or 0/1) or a label image (integer ids, 0 = background; an integer
        image whose largest value is 1 counts as a mask). Any array-like (NumPy, CuPy,
        dask, zarr): CuPy input gives a CuPy result, dask input a lazy dask result
        (blockwise, with a halo of the ball's reach), others NumPy.
    operation : {"erode", "dilate", "open", "close"}
        The operation (:data:`OPERATIONS`).
    radius : float, default 1.0
        The ball's radius, ≥ 0, in voxels (physical units with ``spacing``); 0 leaves the
        image as it is.
    spacing : float or sequence of float, optional
        Physical voxel size per axis (default 1 per axis); ``radius`` is in its units.
    device : {"auto", "cpu", "gpu"}, default "auto"
        CPU only: "auto" and "cpu" run on the CPU, "gpu" raises
        :class:`~napari_segkit.backend.GPUUnavailableError`.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    result : array of ``image``'s shape and dtype
        The processed mask or label image.

    Raises
    ------
    ValueError
        If ``operation`` is unknown; ``radius`` is negative or not finite; ``spacing`` does
        not fit the image; ``image`` is not a mask or label image (a float dtype, or
        negative labels); or ``device`` is not a device name.
    TypeError
        If ``image`` is not an array, or ``radius`` is not a number.
    GPUUnavailableError
        If ``device="gpu"``.

    See Also
    --------
    expand_labels : Dilation of a label image by a distance.
    smooth_labels : Round outlines without a fixed footprint.

    References
    ----------
    .. [1] J. Serra, Image Analysis and Mathematical Morphology, Academic Press, 1982.

    Examples
    --------
    A ball of radius 1 is a cross (5 pixels in 2D): dilating a 3×3 square adds 3 pixels
    on each side, eroding it leaves the centre:

    >>> import numpy as np
    >>> from napari_segkit.methods.postprocess import morphology_op
    >>> square = np.zeros((9, 9), np.uint8); square[3:6, 3:6] = 1
    >>> int(morphology_op(square, "dilate", 1).sum()), int(morphology_op(square, "erode", 1).sum())
    (21, 1)
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
        function = {
            "erode": ndimage.binary_erosion,
            "dilate": ndimage.binary_dilation,
            "open": ndimage.binary_opening,
            "close": ndimage.binary_closing,
        }[operation]
        return function(mask, structure=footprint)
    from ._morphology import dilate, erode

    if operation in ("erode", "dilate"):
        return (erode if operation == "erode" else dilate)(mask, footprint)
    if operation == "open":
        return dilate(erode(mask, footprint), footprint, reuse=True)
    return erode(dilate(mask, footprint), footprint, reuse=True)


def _erode_labels(labels: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """Keep a voxel where every voxel under the footprint has its label."""
    same = ndimage.minimum_filter(
        labels, footprint=footprint, mode="nearest"
    ) == ndimage.maximum_filter(labels, footprint=footprint, mode="nearest")
    return np.where(same, labels, 0).astype(labels.dtype)


@cpu_only
def expand_labels(labels, distance: float = 1.0, *, spacing=None):
    """Grow each object into the background by up to a distance.

    Each background voxel within ``distance`` of an object goes to the nearest object (by
    the Euclidean distance transform, in physical units with ``spacing``); objects never
    overlap or grow into each other. Computed by
    :func:`skimage.segmentation.expand_labels`.

    Parameters
    ----------
    labels : (M, N) or (P, M, N) array of integers or bool
        A label image (integer ids, 0 = background) or a mask. Any array-like (NumPy, CuPy,
        dask, zarr): CuPy input gives a CuPy result, dask input a lazy dask result
        (blockwise, with a halo of ``distance``), others NumPy.
    distance : float, default 1.0
        How far objects grow, ≥ 0, in voxels (physical units with ``spacing``).
    spacing : float or sequence of float, optional
        Physical voxel size per axis (default 1 per axis); ``distance`` is in its units.
    device : {"auto", "cpu", "gpu"}, default "auto"
        CPU only: "auto" and "cpu" run on the CPU, "gpu" raises
        :class:`~napari_segkit.backend.GPUUnavailableError`.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    expanded : array of ``labels``' shape and dtype
        The grown label image.

    Raises
    ------
    ValueError
        If ``distance`` is negative or not finite; ``spacing`` does not fit the image;
        ``labels`` is not a label image (a float dtype, or negative labels); or ``device``
        is not a device name.
    TypeError
        If ``labels`` is not an array, or ``distance`` is not a number.
    GPUUnavailableError
        If ``device="gpu"``.

    See Also
    --------
    morphology_op : Erode, dilate, open or close.
    skimage.segmentation.expand_labels : The reference.

    Examples
    --------
    Two single-pixel objects grow by 2 pixels each and stop short of each other:

    >>> import numpy as np
    >>> from napari_segkit.methods.postprocess import expand_labels
    >>> labels = np.zeros((5, 11), np.int32); labels[2, 2] = 1; labels[2, 8] = 2
    >>> expand_labels(labels, 2)[2].tolist()
    [1, 1, 1, 1, 1, 0, 2, 2, 2, 2, 2]
    """
    _check_size("distance", distance, spacing, labels)
    labels = _labels(labels)
    return segmentation.expand_labels(labels, distance, spacing=spacing_for(spacing, labels.ndim))


@cpu_only
def smooth_labels(labels, radius: float = 1.0, *, spacing=None):
    """Smooth each object's outline.

    Each object (its indicator image) is blurred by a Gaussian of sigma ``radius`` and kept
    where the blur is at least one half, changing only background or the object itself, so
    objects never grow into each other: corners round off, thin spurs and narrow gaps
    vanish. A mask is blurred as a whole.

    Parameters
    ----------
    labels : (M, N) or (P, M, N) array of integers or bool
        A label image (integer ids, 0 = background) or a mask (bool or 0/1). Any
        array-like (NumPy, CuPy, dask, zarr): CuPy input gives a CuPy result, dask input a
        lazy dask result (blockwise, with a halo of 4 sigma), others NumPy.
    radius : float, default 1.0
        The Gaussian's sigma, ≥ 0, in voxels (physical units with ``spacing``).
    spacing : float or sequence of float, optional
        Physical voxel size per axis (default 1 per axis); ``radius`` is in its units.
    device : {"auto", "cpu", "gpu"}, default "auto"
        CPU only: "auto" and "cpu" run on the CPU, "gpu" raises
        :class:`~napari_segkit.backend.GPUUnavailableError`.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    smoothed : array of ``labels``' shape and dtype
        The label image with smoothed outlines.

    Raises
    ------
    ValueError
        If ``radius`` is negative or not finite; ``spacing`` does not fit the image;
        ``labels`` is not a mask or label image (a float dtype, or negative labels); or
        ``device`` is not a device name.
    TypeError
        If ``labels`` is not an array, or ``radius`` is not a number.
    GPUUnavailableError
        If ``device="gpu"``.

    See Also
    --------
    morphology_op : Opening and closing with a ball.

    Examples
    --------
    The corners of an 8×8 square round off; its middle stays:

    >>> import numpy as np
    >>> from napari_segkit.methods.postprocess import smooth_labels
    >>> square = np.zeros((16, 16), np.uint8); square[4:12, 4:12] = 1
    >>> smooth = smooth_labels(square, 2)
    >>> int(smooth[4, 4]), int(smooth[8, 8]), int(smooth.sum())
    (0, 1, 52)
    """
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
    """Remove the objects that touch the image border.

    An object is removed when any of its voxels lies on the border, or within ``buffer``
    voxels of it (:func:`skimage.segmentation.clear_border`). A mask's objects are its
    connected parts (faces, edges and corners: 8 in 2D, 26 in 3D); a label image's are
    its ids.

    Parameters
    ----------
    image : (M, N) or (P, M, N) array of bool or integers
        A mask (bool or 0/1) or a label image (integer ids, 0 = background; an integer
        image whose largest value is 1 counts as a mask). Any array-like (NumPy, CuPy,
        dask, zarr): CuPy input gives a CuPy result, dask input a lazy dask result, others
        NumPy.
    buffer : int, default 0
        Width of the border band, ≥ 0, in voxels.
    device : {"auto", "cpu", "gpu"}, default "auto"
        CPU only: "auto" and "cpu" run on the CPU, "gpu" raises
        :class:`~napari_segkit.backend.GPUUnavailableError`.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    cleaned : array of ``image``'s shape and dtype
        ``image`` with the border objects set to 0.

    Raises
    ------
    ValueError
        If ``buffer`` is not an integer ≥ 0; ``image`` is not a mask or label image (a
        float dtype, or negative labels); or ``device`` is not a device name.
    TypeError
        If ``image`` is not an array, or ``buffer`` is not a number.
    GPUUnavailableError
        If ``device="gpu"``.

    See Also
    --------
    skimage.segmentation.clear_border : The reference.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.methods.postprocess import remove_border_objects
    >>> labels = np.zeros((8, 8), np.int32); labels[0:3, 0:3] = 1; labels[4:6, 4:6] = 2
    >>> np.unique(remove_border_objects(labels)).tolist()
    [0, 2]
    """
    check_number("buffer", buffer, minimum=0, integer=True)
    image = _labels(image)
    ids = label(image, device="cpu") if _is_mask(image) else image
    cleared = segmentation.clear_border(ids, buffer_size=buffer)
    return np.where(cleared > 0, image, 0).astype(image.dtype)


@cpu_only
def relabel_sequential(labels):
    """Renumber the ids of a label image 1…N, keeping their order.

    0 stays background and the dtype is kept
    (:func:`skimage.segmentation.relabel_sequential`, its forward and inverse maps dropped).

    Parameters
    ----------
    labels : array of integers or bool
        A label image (integer ids, 0 = background), any shape. Any array-like (NumPy, CuPy,
        dask, zarr): CuPy input gives a CuPy result, dask input a lazy dask result, others
        NumPy.
    device : {"auto", "cpu", "gpu"}, default "auto"
        CPU only: "auto" and "cpu" run on the CPU, "gpu" raises
        :class:`~napari_segkit.backend.GPUUnavailableError`.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    relabelled : array of ``labels``' shape and dtype
        The ids renumbered 1…N in the order of their values.

    Raises
    ------
    ValueError
        If ``labels`` is not a label image (a float dtype, or negative labels), or
        ``device`` is not a device name.
    TypeError
        If ``labels`` is not an array.
    GPUUnavailableError
        If ``device="gpu"``.

    See Also
    --------
    skimage.segmentation.relabel_sequential : The reference, with the maps.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.methods.postprocess import relabel_sequential
    >>> relabel_sequential(np.array([[0, 4, 4], [9, 9, 0]], np.uint16)).tolist()
    [[0, 1, 1], [2, 2, 0]]
    """
    labels = _labels(labels)
    return segmentation.relabel_sequential(labels)[0].astype(labels.dtype, copy=False)


@cpu_only
def keep_largest(image, count: int = 1):
    """Keep the largest objects, remove the rest.

    Objects are the ids of a label image (kept, not renumbered) or the connected parts of a
    mask (faces, edges and corners: 8 in 2D, 26 in 3D), ranked by voxel count.

    Parameters
    ----------
    image : (M, N) or (P, M, N) array of bool or integers
        A mask (bool or 0/1) or a label image (integer ids, 0 = background; an integer
        image whose largest value is 1 counts as a mask). Any array-like (NumPy, CuPy,
        dask, zarr): CuPy input gives a CuPy result, dask input a lazy dask result (sizes
        gathered over all blocks), others NumPy.
    count : int, default 1
        How many objects to keep, ≥ 1.
    device : {"auto", "cpu", "gpu"}, default "auto"
        CPU only: "auto" and "cpu" run on the CPU, "gpu" raises
        :class:`~napari_segkit.backend.GPUUnavailableError`.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    kept : array of ``image``'s shape and dtype
        ``image`` with all but the ``count`` largest objects set to 0.

    Raises
    ------
    ValueError
        If ``count`` is not an integer ≥ 1; ``image`` is not a mask or label image (a float
        dtype, or negative labels); or ``device`` is not a device name.
    TypeError
        If ``image`` is not an array, or ``count`` is not a number.
    GPUUnavailableError
        If ``device="gpu"``.

    See Also
    --------
    remove_small_objects : Remove objects below a size instead.

    Examples
    --------
    Of a 4×4 and a 2×2 square, the larger stays:

    >>> import numpy as np
    >>> from napari_segkit.methods.postprocess import keep_largest
    >>> mask = np.zeros((6, 10), bool); mask[1:5, 1:5] = True; mask[1:3, 7:9] = True
    >>> kept = keep_largest(mask)
    >>> int(kept.sum()), bool(kept[1, 7])
    (16, False)
    """
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

    Shape-based interpolation [1]_: for each id, between two slices along ``axis`` that hold
    it, the in-plane signed distance maps of the two outlines (physical units with
    ``spacing``) are blended linearly, and the slice between holds the object where the
    blend is positive. So a circle drawn on slice 0 and a larger one on slice 10 become a
    cone. Only background voxels of the slices in between are filled; drawn slices are
    never changed. Costs two signed distance maps per pair of drawn slices per id.

    Parameters
    ----------
    labels : (P, M, N) array of integers or bool
        A 3D label image (integer ids, 0 = background) with objects drawn on some slices.
        Any array-like (NumPy, CuPy, dask, zarr); CuPy input gives a CuPy result, the
        others NumPy.
    axis : int, default 0
        The axis the slices are taken along, from -3 to 2.
    spacing : float or sequence of float, optional
        Physical voxel size per axis (3 values; default 1 per axis); the in-plane distances
        are in its units.
    device : {"auto", "cpu", "gpu"}, default "auto"
        CPU only: "auto" and "cpu" run on the CPU, "gpu" raises
        :class:`~napari_segkit.backend.GPUUnavailableError`.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    filled : (P, M, N) array of ``labels``' dtype
        The label image with the slices between drawn ones filled.

    Raises
    ------
    ValueError
        If ``labels`` is not 3D or not a label image (a float dtype, or negative labels);
        ``axis`` is not an integer from -3 to 2; ``spacing`` does not have 3 positive
        values; or ``device`` is not a device name.
    TypeError
        If ``labels`` is not an array, or ``axis`` is not a number.
    GPUUnavailableError
        If ``device="gpu"``.

    See Also
    --------
    napari_segkit.distance_transform : The distance maps blended here.

    References
    ----------
    .. [1] S. P. Raya and J. K. Udupa, "Shape-based interpolation of multidimensional
           objects", IEEE Transactions on Medical Imaging 9(1):32-42, 1990.
           :doi:`10.1109/42.52980`

    Examples
    --------
    A disc of radius 2 drawn on slice 0 and one of radius 6 on slice 4 become a cone:

    >>> import numpy as np
    >>> from napari_segkit.methods.postprocess import fill_between_slices
    >>> yy, xx = np.mgrid[:16, :16]
    >>> labels = np.zeros((5, 16, 16), np.uint8)
    >>> labels[0][(yy - 8) ** 2 + (xx - 8) ** 2 <= 4] = 1
    >>> labels[4][(yy - 8) ** 2 + (xx - 8) ** 2 <= 36] = 1
    >>> fill_between_slices(labels).sum(axis=(1, 2)).tolist()
    [13, 25, 49, 81, 113]
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
