"""Edges and the regions they enclose: Sobel, Prewitt, Scharr, Laplacian of Gaussian, Canny.

:func:`edge_map` gives the edge strength (2D or 3D); :func:`edge_regions` turns edges into
objects: strong edges are closed (optionally dilated to bridge gaps), the areas they
enclose filled, and the result labelled. For the Laplacian of Gaussian the regions are
where it is negative (bright blobs; positive for dark ones).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage import feature, segmentation

from .._checks import check_choice, check_number
from ..backend import cpu_only
from ..progress import report, steps
from ._geometry import ball, sigma_voxels, spacing_for
from .channels import to_grey
from .components import label
from .global_threshold import threshold_value
from .postprocess import filled_mask, remove_small_objects
from .scale import NoObjects, auto_min_size, estimate_object_size, estimate_or_warn
from .separate import seed_every_part

__all__ = ["edge_map", "edge_regions"]

METHODS = ("sobel", "prewitt", "scharr", "log", "canny")
_GRADIENTS = ("sobel", "prewitt", "scharr")  # compiled: ._gradient
#: edge_regions' automatic sigma as a fraction of the typical object diameter (measured on
#: real nuclei, docs/benchmarks/real-data.md): gradients and Canny, Laplacian of Gaussian
EDGE_SIGMA, LOG_SIGMA = 0.1, 0.2


@cpu_only
def edge_map(
    image,
    method: str = "sobel",
    *,
    sigma: float = 0.0,
    spacing=None,
    rgb: bool = False,
    per_slice: bool = False,
):
    """Compute the edge strength of an image: a gradient, the Laplacian of Gaussian or Canny.

    The gradient magnitudes equal :func:`skimage.filters.sobel` (``prewitt``, ``scharr``) of
    a float32 copy of the image, compiled and without that copy when unsmoothed; the
    Laplacian of Gaussian is :func:`scipy.ndimage.gaussian_laplace`; Canny is
    :func:`skimage.feature.canny` on the image rescaled to 0…1 (so its default hysteresis
    thresholds, fractions of that range, suit any bit depth).

    Parameters
    ----------
    image : (M, N) or (P, M, N) array, or a colour array (..., 3 or 4) with ``rgb=True``
        Intensities (colour: its luminance). Any array-like (NumPy, CuPy, dask, zarr); the
        result is CuPy for CuPy input, else NumPy.
    method : {"sobel", "prewitt", "scharr", "log", "canny"}, default "sobel"
        "sobel", "prewitt", "scharr": gradient magnitude, 2D and 3D; "log": Laplacian of
        Gaussian (``sigma`` > 0; negative inside bright blobs); "canny": 2D (3D stacks slice
        by slice with ``per_slice=True``).
    sigma : float, default 0.0
        Gaussian smoothing first (≥ 0), in voxels or physical units with ``spacing``
        (0 = none). The Laplacian of Gaussian needs it > 0 (a blob's radius / √2); Canny
        uses 1 voxel when 0, and the first axis's sigma in voxels otherwise.
    spacing : sequence of float, optional
        Physical voxel size per axis (default 1 per axis); ``sigma`` is in its units.
    rgb : bool, default False
        The last axis holds colour (RGB or RGBA); its luminance is used.
    per_slice : bool, default False
        Treat a 3D stack as independent 2D slices.
    device : {"auto", "cpu", "gpu"}, default "auto"
        Runs on the CPU ("auto" and "cpu"); "gpu" raises GPUUnavailableError.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    strength : float32 or bool array
        The edge strength (float32) of the image's shape (without the colour axis); Canny:
        a boolean map, True on edges.

    Raises
    ------
    TypeError
        If ``image`` is not an array, or ``sigma`` is not a number.
    ValueError
        If ``method`` is unknown or ``sigma`` < 0; if the image is not 2D or 3D; for Canny
        on a 3D image without ``per_slice``; for "log" with ``sigma`` = 0; if ``spacing``
        is not one positive number per axis.
    GPUUnavailableError
        If ``device="gpu"``.

    See Also
    --------
    edge_regions : The objects the edges enclose.

    References
    ----------
    .. [1] J. Canny, "A computational approach to edge detection", IEEE Transactions on
           Pattern Analysis and Machine Intelligence 8(6):679-698, 1986.
           :doi:`10.1109/TPAMI.1986.4767851`
    .. [2] D. Marr and E. Hildreth, "Theory of edge detection", Proceedings of the Royal
           Society of London B 207:187-217, 1980. :doi:`10.1098/rspb.1980.0020`

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import edge_map
    >>> image = np.zeros((16, 16)); image[4:12, 4:12] = 1.0
    >>> strength = edge_map(image)
    >>> strength.dtype.name, round(float(strength[8, 8]), 3), round(float(strength[8, 4]), 3)
    ('float32', 0.0, 0.707)
    >>> edges = edge_map(image, "canny", sigma=1.0)  # thin edges on the square's outline
    >>> edges.dtype.name, edges[8].astype(int).tolist()
    ('bool', [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0])
    >>> log = edge_map(image, "log", sigma=2.0)  # negative inside the bright square
    >>> round(float(log[8, 8]), 3)
    -0.105
    """
    check_choice("method", method, METHODS)
    check_number("sigma", sigma, minimum=0)
    grey = to_grey(np.asarray(image), rgb=rgb, channel=None)
    if grey.ndim not in (2, 3):
        raise ValueError(f"edge_map needs a 2D or 3D image, got {grey.ndim}D")
    if grey.ndim == 3 and (per_slice or method == "canny"):
        if method == "canny" and not per_slice:
            raise ValueError("Canny is 2D: pass per_slice=True to run it on each slice")
        plane_spacing = None if spacing is None else spacing_for(spacing, 3)[1:]
        return np.stack([edge_map(p, method, sigma=sigma, spacing=plane_spacing) for p in grey])
    sigmas = sigma_voxels(sigma, spacing, grey.ndim)
    if method in _GRADIENTS:  # unsmoothed: read in its own dtype, no float32 copy
        if sigma > 0:
            grey = ndimage.gaussian_filter(grey.astype(np.float32, copy=False), sigmas)
        from ._gradient import gradient_magnitude  # numba: loaded where used

        return gradient_magnitude(grey, method)
    grey = grey.astype(np.float32, copy=False)
    if method == "canny":  # its hysteresis thresholds are fractions of a 0…1 image
        lo, hi = float(grey.min()), float(grey.max())
        unit = (grey - lo) / (hi - lo) if hi > lo else np.zeros_like(grey)
        return feature.canny(unit, sigma=sigmas[0] if sigma > 0 else 1.0)
    if sigma <= 0:
        raise ValueError("the Laplacian of Gaussian needs sigma > 0 (the blob radius/√2)")
    return ndimage.gaussian_laplace(grey, sigmas).astype(np.float32, copy=False)


@cpu_only
def edge_regions(
    image,
    method: str = "sobel",
    *,
    sigma: float | None = None,
    spacing=None,
    edge_threshold: float | None = None,
    close_gaps: float = 0.0,
    min_size: float | None = None,
    dark: bool = False,
    rgb: bool = False,
    per_slice: bool = False,
):
    """Segment the objects that edges enclose, as instance labels.

    Gradient methods and Canny: edges above ``edge_threshold`` are dilated by
    ``close_gaps`` to bridge small gaps; each area they enclose becomes an object, which
    then takes the edge voxels around it (a watershed of the edge strength), so objects
    whose outlines touch stay apart. LoG: blobs about ``sigma × √2`` in radius, where the
    Laplacian of Gaussian is below ``-edge_threshold`` (above it with ``dark``). Objects
    smaller than ``min_size`` are then dropped. Left on None, sizes come from the typical
    object diameter D (:func:`~napari_segkit.methods.scale.estimate_object_size`).

    Parameters
    ----------
    image : (M, N) or (P, M, N) array, or a colour array (..., 3 or 4) with ``rgb=True``
        Intensities (colour: its luminance). Any array-like (NumPy, CuPy, dask, zarr); the
        result is CuPy for CuPy input, else NumPy.
    method : {"sobel", "prewitt", "scharr", "log", "canny"}, default "sobel"
        The edges, as in :func:`edge_map`.
    sigma : float, optional
        Gaussian smoothing first (≥ 0), in voxels or physical units with ``spacing``. None:
        0.1 D (LoG: 0.2 D); an image without objects then gives empty labels and a warning.
    spacing : sequence of float, optional
        Physical voxel size per axis (default 1 per axis); ``sigma``, ``close_gaps`` and
        ``min_size`` are in its units.
    edge_threshold : float, optional
        Edge strength above which a voxel is an edge (LoG: the response's magnitude). None:
        Otsu's threshold of the edge strength (LoG: of its magnitude on the blobs' side).
    close_gaps : float, default 0.0
        Radius (≥ 0) the edges are dilated by, in voxels or physical units with ``spacing``
        (gradients and Canny).
    min_size : float, optional
        Objects smaller than this (≥ 0; voxels, or area/volume in physical units with
        ``spacing``) are dropped. None: 0.2 × the area/volume of a disc/ball of diameter D
        (every object kept when the image has none that stands out of its noise); 0 keeps
        every object.
    dark : bool, default False
        The objects are darker than the background (for LoG and the size estimate).
    rgb : bool, default False
        The last axis holds colour (RGB or RGBA); its luminance is used.
    per_slice : bool, default False
        Treat a 3D stack as independent 2D slices (sized on the middle slice); ids stay
        unique across slices.
    device : {"auto", "cpu", "gpu"}, default "auto"
        Runs on the CPU ("auto" and "cpu"); "gpu" raises GPUUnavailableError.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    labels : int32 array
        Object ids 1…N, 0 the background; of the image's shape (without the colour axis).

    Raises
    ------
    TypeError
        If ``image`` is not an array, or a numeric argument is not a number.
    ValueError
        If ``method`` is unknown, ``sigma``, ``close_gaps`` or ``min_size`` < 0, or
        ``edge_threshold`` is not finite; as :func:`edge_map` (not 2D or 3D, Canny on 3D
        without ``per_slice``, a bad ``spacing``).
    GPUUnavailableError
        If ``device="gpu"``.

    See Also
    --------
    edge_map : The edge strength itself.
    watershed : Flood from seeds over an edge map.

    References
    ----------
    .. [1] J. Canny, "A computational approach to edge detection", IEEE Transactions on
           Pattern Analysis and Machine Intelligence 8(6):679-698, 1986.
           :doi:`10.1109/TPAMI.1986.4767851`
    .. [2] D. Marr and E. Hildreth, "Theory of edge detection", Proceedings of the Royal
           Society of London B 207:187-217, 1980. :doi:`10.1098/rspb.1980.0020`

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import edge_regions
    >>> yy, xx = np.mgrid[:64, :64]
    >>> image = np.zeros((64, 64))
    >>> for cy, cx in [(16, 16), (16, 48), (48, 16), (48, 48)]:  # four discs of 109 pixels
    ...     image[(yy - cy) ** 2 + (xx - cx) ** 2 < 6 ** 2] = 1.0
    >>> image += np.random.default_rng(0).normal(0, 0.1, image.shape)
    >>> labels = edge_regions(image)  # sigma, threshold and min_size found
    >>> labels.dtype.name, int(labels.max())
    ('int32', 4)
    >>> np.bincount(labels.ravel())[1:].tolist()  # each disc with its outline
    [178, 179, 182, 181]
    >>> int(edge_regions(image, "log").max())
    4
    """
    check_choice("method", method, METHODS)
    check_number("sigma", sigma, minimum=0, optional=True)
    check_number("edge_threshold", edge_threshold, optional=True)
    check_number("close_gaps", close_gaps, minimum=0)
    check_number("min_size", min_size, minimum=0, optional=True)
    sample, sample_spacing, ndim = np.asarray(image), spacing, np.ndim(image) - rgb
    if per_slice and ndim == 3:  # sized on the middle slice: the objects are 2D
        sample, ndim = sample[len(sample) // 2], 2
        sample_spacing = None if spacing is None else spacing_for(spacing, 3)[1:]
    size = None
    if sigma is None:
        size = estimate_or_warn(sample, spacing=sample_spacing, rgb=rgb, dark=dark)
        if size is None:
            return np.zeros(np.shape(image)[: np.ndim(image) - rgb], np.int32)
        sigma = (LOG_SIGMA if method == "log" else EDGE_SIGMA) * size
    elif min_size is None:
        try:
            size = estimate_object_size(sample, spacing=sample_spacing, rgb=rgb, dark=dark)
        except NoObjects:  # no typical size: every object is kept
            pass
    min_size = auto_min_size(min_size, size, np.shape(sample)[:ndim], sample_spacing)
    labels = _edge_regions(
        image, method, sigma, spacing, edge_threshold, close_gaps, dark, rgb, per_slice
    )
    if min_size > 0:
        labels = remove_small_objects(labels, min_size, spacing=spacing)
    return segmentation.relabel_sequential(labels)[0]


def _edge_regions(image, method, sigma, spacing, edge_threshold, close_gaps, dark, rgb, per_slice):
    strength = edge_map(image, method, sigma=sigma, spacing=spacing, rgb=rgb, per_slice=per_slice)
    report(0.3)
    if method == "log":
        response = strength if dark else -strength
        if edge_threshold is None:
            edge_threshold = threshold_value(np.maximum(response, 0), "otsu", device="cpu")
        return label(response > edge_threshold, device="cpu")
    edges = strength
    if edges.dtype != bool:
        edges = edges > (
            threshold_value(edges, "otsu", device="cpu")
            if edge_threshold is None
            else edge_threshold
        )
    if per_slice and edges.ndim == 3:
        plane_spacing = None if spacing is None else spacing_for(spacing, 3)[1:]
        objects = [
            _enclosed(e, s, close_gaps, plane_spacing)
            for e, s in steps(zip(edges, strength), len(edges), 0.3)
        ]
        offsets = np.cumsum([0] + [int(o.max()) for o in objects[:-1]])
        return np.stack([np.where(o > 0, o + k, 0) for o, k in zip(objects, offsets)])
    return _enclosed(edges, strength, close_gaps, spacing)


def _enclosed(edges, strength, close_gaps: float, spacing) -> np.ndarray:
    """int32 objects: the areas edges enclose, grown over their own outline."""
    if close_gaps > 0:
        edges = ndimage.binary_dilation(edges, ball(close_gaps, spacing, edges.ndim))
    filled = filled_mask(edges)
    inside = label(filled & ~edges, connectivity=1, device="cpu")
    inside = seed_every_part(inside, label(filled, connectivity=1, device="cpu"))
    landscape = (
        strength.astype(np.float32, copy=False)
        if strength.dtype != bool
        else edges.astype(np.uint8)
    )
    return _watershed(landscape, inside, filled)


def _watershed(landscape, markers, mask) -> np.ndarray:
    """int32 ``skimage.segmentation.watershed(landscape, markers, mask=mask)``: the same
    flood compiled (:mod:`._flood`), or scikit-image's where that does not apply (NaN)."""
    from ._flood import flood

    labels = flood(landscape, markers, mask)
    if labels is None:
        labels = segmentation.watershed(landscape, markers, mask=mask).astype(np.int32)
    return labels
