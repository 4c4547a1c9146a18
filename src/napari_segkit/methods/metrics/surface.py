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
    """Measure how far each surface voxel of one mask is from the surface of the other.

    The surface of a mask is its voxels with a face neighbour outside it (as in MONAI;
    voxels on the image border count). Two Euclidean distance transforms, one per surface,
    give the distance from each surface voxel of the prediction to the nearest surface
    voxel of the reference and back, in physical units. :func:`hausdorff`, :func:`hd95`,
    :func:`average_surface_distance` and :func:`boundary_f1` are summaries of these
    distances; compute them once here when you need several.

    Parameters
    ----------
    prediction : array-like of int or bool
        Predicted labels (0 = background), any number of axes. NumPy, dask or zarr; read
        into memory. Booleans count as 0/1.
    reference : array-like of int or bool
        Reference (ground-truth) labels of the same shape.
    label : int, optional
        The class id whose mask is compared (>= 0). By default every non-zero voxel is
        foreground.
    spacing : float or sequence of float, optional
        Physical voxel size per axis (default 1 per axis, i.e. voxels; one number applies
        to every axis); distances are in its units (e.g. µm or mm).

    Returns
    -------
    to_reference : (S,) float64 array
        The distance of each of the prediction's S surface voxels to the reference surface.
    to_prediction : (R,) float64 array
        The distance of each of the reference's R surface voxels to the prediction surface.
        When one mask is empty the other's array is ``[inf]`` (infinitely far) and the empty
        mask's is empty; two empty masks give two empty arrays (distance 0).

    Raises
    ------
    TypeError
        If ``prediction`` or ``reference`` is not an array, or ``label`` is not a number.
    ValueError
        If the shapes differ, either image is empty or holds non-integer (e.g. float) or
        negative labels, ``label`` is negative or not whole, or ``spacing`` does not give
        one positive finite size per axis.

    See Also
    --------
    hausdorff, hd95, average_surface_distance, boundary_f1

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.methods import metrics
    >>> reference = np.zeros((12, 12), np.uint8); reference[2:8, 2:8] = 1
    >>> prediction = np.zeros((12, 12), np.uint8); prediction[2:8, 4:10] = 1  # 2 to the right
    >>> to_reference, to_prediction = metrics.surface_distances(prediction, reference)
    >>> to_reference.size, sorted(set(to_reference.tolist()))
    (20, [0.0, 1.0, 2.0])
    """
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
    """Compute the Hausdorff distance between the surfaces of two masks.

    The distances of :func:`surface_distances` are summarised per direction by their
    ``percentile`` (100: the largest, the classic Hausdorff distance; 95: :func:`hd95`), and
    the larger of the two directed values is returned, in the physical units of
    ``spacing``. Two empty masks are at distance 0; one empty mask is infinitely far.
    Costs two Euclidean distance transforms of the image.

    Parameters
    ----------
    prediction : array-like of int or bool
        Predicted labels (0 = background), any number of axes. NumPy, dask or zarr; read
        into memory. Booleans count as 0/1.
    reference : array-like of int or bool
        Reference (ground-truth) labels of the same shape.
    label : int, optional
        The class id whose mask is compared (>= 0). By default every non-zero voxel is
        foreground.
    spacing : float or sequence of float, optional
        Physical voxel size per axis (default 1 per axis, i.e. voxels; one number applies
        to every axis); the distance is in its units (e.g. µm or mm).
    percentile : float, default 100.0
        Percentile (0 to 100) of each direction's distances; below 100 a few outlying
        voxels no longer decide the result.

    Returns
    -------
    distance : float
        0 for identical surfaces; ``inf`` when exactly one mask is empty.

    Raises
    ------
    TypeError
        If ``prediction`` or ``reference`` is not an array, or ``label`` or ``percentile``
        is not a number.
    ValueError
        If the shapes differ, either image is empty or holds non-integer (e.g. float) or
        negative labels, ``label`` is negative or not whole, ``percentile`` is outside
        0 to 100, or ``spacing`` does not give one positive finite size per axis.

    See Also
    --------
    hd95 : The 95th-percentile version.
    average_surface_distance : The mean instead of the largest distance.

    References
    ----------
    .. [1] D. P. Huttenlocher, G. A. Klanderman and W. J. Rucklidge, "Comparing images using
           the Hausdorff distance", IEEE Transactions on Pattern Analysis and Machine
           Intelligence 15(9):850-863, 1993. :doi:`10.1109/34.232073`
    .. [2] A. A. Taha and A. Hanbury, "Metrics for evaluating 3D medical image segmentation:
           analysis, selection, and tool", BMC Medical Imaging 15:29, 2015.
           :doi:`10.1186/s12880-015-0068-x`

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.methods import metrics
    >>> reference = np.zeros((12, 12), np.uint8); reference[2:8, 2:8] = 1
    >>> prediction = np.zeros((12, 12), np.uint8); prediction[2:8, 4:10] = 1  # 2 to the right
    >>> metrics.hausdorff(prediction, reference)
    2.0
    >>> metrics.hausdorff(prediction, reference, spacing=(1.0, 0.5))  # x voxels 0.5 wide
    1.0
    """
    check_surface_options(label, percentile=percentile)
    distances = surface_distances(prediction, reference, label=label, spacing=spacing)
    return hausdorff_of(distances, percentile)


def hd95(prediction, reference, *, label=None, spacing=None) -> float:
    """Compute the 95th-percentile Hausdorff distance (robust to a few outlying voxels).

    :func:`hausdorff` with ``percentile=95``: the larger of the two directed 95th
    percentiles of the surface distances, in the physical units of ``spacing``. Two empty
    masks are at distance 0; one empty mask is infinitely far.

    Parameters
    ----------
    prediction : array-like of int or bool
        Predicted labels (0 = background), any number of axes. NumPy, dask or zarr; read
        into memory. Booleans count as 0/1.
    reference : array-like of int or bool
        Reference (ground-truth) labels of the same shape.
    label : int, optional
        The class id whose mask is compared (>= 0). By default every non-zero voxel is
        foreground.
    spacing : float or sequence of float, optional
        Physical voxel size per axis (default 1 per axis, i.e. voxels; one number applies
        to every axis); the distance is in its units (e.g. µm or mm).

    Returns
    -------
    distance : float
        0 for identical surfaces; ``inf`` when exactly one mask is empty.

    Raises
    ------
    TypeError
        If ``prediction`` or ``reference`` is not an array, or ``label`` is not a number.
    ValueError
        If the shapes differ, either image is empty or holds non-integer (e.g. float) or
        negative labels, ``label`` is negative or not whole, or ``spacing`` does not give
        one positive finite size per axis.

    See Also
    --------
    hausdorff : Any percentile, by default the largest distance.

    References
    ----------
    .. [1] A. A. Taha and A. Hanbury, "Metrics for evaluating 3D medical image segmentation:
           analysis, selection, and tool", BMC Medical Imaging 15:29, 2015.
           :doi:`10.1186/s12880-015-0068-x`

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.methods import metrics
    >>> reference = np.zeros((12, 12), np.uint8); reference[2:8, 2:8] = 1
    >>> prediction = np.zeros((12, 12), np.uint8); prediction[2:8, 4:10] = 1  # 2 to the right
    >>> prediction[11, 11] = 1  # one stray voxel far away
    >>> round(metrics.hausdorff(prediction, reference), 3), metrics.hd95(prediction, reference)
    (5.657, 2.0)
    """
    return hausdorff(prediction, reference, label=label, spacing=spacing, percentile=95.0)


def average_surface_distance(prediction, reference, *, label=None, spacing=None) -> float:
    """Compute the average symmetric surface distance of two masks.

    The mean of :func:`surface_distances` over the surface voxels of both masks together
    (symmetric: prediction to reference and reference to prediction), in the physical units
    of ``spacing``. Two empty masks are at distance 0; one empty mask is infinitely far.

    Parameters
    ----------
    prediction : array-like of int or bool
        Predicted labels (0 = background), any number of axes. NumPy, dask or zarr; read
        into memory. Booleans count as 0/1.
    reference : array-like of int or bool
        Reference (ground-truth) labels of the same shape.
    label : int, optional
        The class id whose mask is compared (>= 0). By default every non-zero voxel is
        foreground.
    spacing : float or sequence of float, optional
        Physical voxel size per axis (default 1 per axis, i.e. voxels; one number applies
        to every axis); the distance is in its units (e.g. µm or mm).

    Returns
    -------
    distance : float
        0 for identical surfaces; ``inf`` when exactly one mask is empty.

    Raises
    ------
    TypeError
        If ``prediction`` or ``reference`` is not an array, or ``label`` is not a number.
    ValueError
        If the shapes differ, either image is empty or holds non-integer (e.g. float) or
        negative labels, ``label`` is negative or not whole, or ``spacing`` does not give
        one positive finite size per axis.

    See Also
    --------
    hausdorff : The largest instead of the mean distance.

    References
    ----------
    .. [1] T. Heimann et al., "Comparison and evaluation of methods for liver segmentation
           from CT datasets", IEEE Transactions on Medical Imaging 28(8):1251-1265, 2009.
           :doi:`10.1109/TMI.2009.2013851`

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.methods import metrics
    >>> reference = np.zeros((12, 12), np.uint8); reference[2:8, 2:8] = 1
    >>> prediction = np.zeros((12, 12), np.uint8); prediction[2:8, 4:10] = 1  # 2 to the right
    >>> metrics.average_surface_distance(prediction, reference)
    1.0
    """
    return average_of(surface_distances(prediction, reference, label=label, spacing=spacing))


def boundary_f1(prediction, reference, *, tolerance=1.0, label=None, spacing=None) -> float:
    """Compute the boundary F1 score: surface voxels that lie within a tolerance of the other.

    Boundary precision is the share of the prediction's surface voxels within ``tolerance``
    of the reference surface, boundary recall the share of the reference's surface voxels
    within ``tolerance`` of the prediction surface (from :func:`surface_distances`); the
    score is their harmonic mean. Unlike :func:`dice` it weighs every part of the outline
    the same, however large the object. Two empty masks score 1; one empty mask scores 0.

    Parameters
    ----------
    prediction : array-like of int or bool
        Predicted labels (0 = background), any number of axes. NumPy, dask or zarr; read
        into memory. Booleans count as 0/1.
    reference : array-like of int or bool
        Reference (ground-truth) labels of the same shape.
    tolerance : float, default 1.0
        Largest distance (>= 0) at which a surface voxel counts as matched, in the physical
        units of ``spacing`` (e.g. µm or mm).
    label : int, optional
        The class id whose mask is compared (>= 0). By default every non-zero voxel is
        foreground.
    spacing : float or sequence of float, optional
        Physical voxel size per axis (default 1 per axis, i.e. voxels; one number applies
        to every axis).

    Returns
    -------
    score : float
        From 0 to 1 (1 = every surface voxel within ``tolerance`` of the other surface).

    Raises
    ------
    TypeError
        If ``prediction`` or ``reference`` is not an array, or ``label`` or ``tolerance`` is
        not a number.
    ValueError
        If the shapes differ, either image is empty or holds non-integer (e.g. float) or
        negative labels, ``label`` is negative or not whole, ``tolerance`` is negative, or
        ``spacing`` does not give one positive finite size per axis.

    See Also
    --------
    hausdorff : The largest distance between the surfaces.
    dice : Overlap of the areas.

    References
    ----------
    .. [1] G. Csurka, D. Larlus and F. Perronnin, "What is a good evaluation measure for
           semantic segmentation?", British Machine Vision Conference (BMVC), 2013.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.methods import metrics
    >>> reference = np.zeros((12, 12), np.uint8); reference[2:8, 2:8] = 1
    >>> prediction = np.zeros((12, 12), np.uint8); prediction[2:8, 4:10] = 1  # 2 to the right
    >>> metrics.boundary_f1(prediction, reference)  # within 1 voxel
    0.6
    >>> metrics.boundary_f1(prediction, reference, tolerance=2.0)
    1.0
    """
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
