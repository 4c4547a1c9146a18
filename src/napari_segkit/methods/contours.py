"""Active contours without edges (morphological Chan-Vese) and geodesic active contours,
2D and 3D (:mod:`skimage.segmentation`'s morphological snakes)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage import segmentation

from .._checks import check_choice, check_number
from ..backend import cpu_only
from ..progress import report
from ._geometry import ball
from .channels import to_grey
from .separate import seeds_to_markers

__all__ = ["chan_vese", "geodesic_active_contour"]


def _grey(image, rgb: bool) -> np.ndarray:
    grey = to_grey(np.asarray(image), rgb=rgb, channel=None).astype(np.float32)
    if grey.ndim not in (2, 3):
        raise ValueError(f"active contours need a 2D or 3D image, got shape {grey.shape}")
    lo, hi = float(grey.min()), float(grey.max())
    return (grey - lo) / (hi - lo) if hi > lo else np.zeros_like(grey)


def _start(shape, init, seeds):
    """The initial level set: a mask or label image given as ``seeds``, else scikit-image's
    "checkerboard" or "disk"."""
    if seeds is not None:
        points = np.asarray(seeds).shape != tuple(shape)
        start = seeds_to_markers(seeds, shape) > 0
        if not start.any():
            raise ValueError("the seeds are empty: paint or place the starting region")
        if points:  # a point is too small to evolve: start from a small disk/ball
            start = ndimage.binary_dilation(start, ball(3.0, None, len(shape)))
        return start.astype(np.int8)
    return check_choice("init", init, ("checkerboard", "disk"))


@cpu_only
def chan_vese(
    image,
    *,
    iterations: int = 100,
    smoothing: int = 1,
    lambda1: float = 1.0,
    lambda2: float = 1.0,
    init: str = "checkerboard",
    seeds=None,
    dark: bool = False,
    rgb: bool = False,
):
    """Segment by active contours without edges (morphological Chan-Vese).

    Finds the contour that best splits the image into two regions of near-constant
    intensity; no edges needed. Runs :func:`skimage.segmentation.morphological_chan_vese`
    (the level set evolved by morphological operators, not a PDE) on the grey image scaled
    to 0…1 (colour: its luminance), 2D or 3D. Without seeds the brighter region is returned
    (the darker with ``dark``), whichever side the contour started on.

    Parameters
    ----------
    image : (M, N) or (P, M, N) array, or a colour array (..., 3 or 4) with ``rgb=True``
        Intensities. Any array-like (NumPy, CuPy, dask, zarr); the result is CuPy for CuPy
        input, else NumPy.
    iterations : int, default 100
        Steps of the contour's evolution (≥ 1).
    smoothing : int, default 1
        Smoothing passes per step (≥ 0; more gives rounder contours).
    lambda1, lambda2 : float, default 1.0
        Weights (≥ 0) of a voxel's distance to the inside's and the outside's mean:
        ``lambda1`` > ``lambda2`` lets the outside vary more than the inside (the region
        grown from the seeds), ``lambda2`` > ``lambda1`` the inside more than the outside.
    init : {"checkerboard", "disk"}, default "checkerboard"
        Starting contour without ``seeds``: scikit-image's checkerboard of 5-pixel squares,
        or a disk/ball in the middle (radius 3/8 of the smallest side).
    seeds : array, optional
        The starting region: a mask or label image of the image's shape, or points (N ×
        ndim voxel coordinates), each grown into a disc/ball of radius 3 voxels.
    dark : bool, default False
        Without ``seeds``: return the darker region.
    rgb : bool, default False
        The last axis holds colour (RGB or RGBA); its luminance is segmented.
    device : {"auto", "cpu", "gpu"}, default "auto"
        Runs on the CPU ("auto" and "cpu"); "gpu" raises GPUUnavailableError.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    mask : uint8 array
        1 in the region grown from the seeds (without seeds: the brighter region, or the
        darker with ``dark``), 0 elsewhere; of the image's shape (without the colour axis).

    Raises
    ------
    TypeError
        If ``image`` is not an array, or a numeric argument is not a number.
    ValueError
        If ``iterations`` < 1, ``smoothing`` < 0, ``lambda1`` or ``lambda2`` < 0, ``init``
        is unknown; if the image is not 2D or 3D; if ``seeds`` are empty, lie outside the
        image or are neither a label image of its shape nor N × ndim points.
    GPUUnavailableError
        If ``device="gpu"``.

    See Also
    --------
    geodesic_active_contour : A contour that stops on edges.

    References
    ----------
    .. [1] T. F. Chan and L. A. Vese, "Active contours without edges", IEEE Transactions on
           Image Processing 10(2):266-277, 2001. :doi:`10.1109/83.902291`
    .. [2] P. Márquez-Neila, L. Baumela and L. Álvarez, "A morphological approach to
           curvature-based evolution of curves and surfaces", IEEE Transactions on Pattern
           Analysis and Machine Intelligence 36(1):2-17, 2014. :doi:`10.1109/TPAMI.2013.106`

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import chan_vese
    >>> yy, xx = np.mgrid[:48, :48]
    >>> disc = (yy - 24) ** 2 + (xx - 24) ** 2 < 12 ** 2  # 437 pixels
    >>> image = disc + np.random.default_rng(0).normal(0, 0.3, disc.shape)
    >>> mask = chan_vese(image, iterations=50)
    >>> mask.dtype.name, int(mask[24, 24]), int(mask[0, 0])
    ('uint8', 1, 0)
    >>> int((mask != disc).sum())  # pixels off the true disc
    9
    """
    check_number("iterations", iterations, minimum=1, integer=True)
    check_number("smoothing", smoothing, minimum=0, integer=True)
    check_number("lambda1", lambda1, minimum=0)
    check_number("lambda2", lambda2, minimum=0)
    grey = _grey(image, rgb)
    start = _start(grey.shape, init, seeds)
    mask = segmentation.morphological_chan_vese(
        grey,
        iterations,
        init_level_set=start,
        smoothing=smoothing,
        lambda1=lambda1,
        lambda2=lambda2,
        iter_callback=_counter(iterations),
    ).astype(bool)
    if seeds is None and mask.any() and not mask.all():
        brighter = grey[mask].mean() > grey[~mask].mean()
        mask = mask if brighter != dark else ~mask
    return mask.astype(np.uint8)


@cpu_only
def geodesic_active_contour(
    image,
    *,
    iterations: int = 200,
    seeds=None,
    init: str = "disk",
    balloon: float = 1.0,
    threshold: float | str = "auto",
    smoothing: int = 1,
    sigma: float = 2.0,
    alpha: float = 100.0,
    rgb: bool = False,
):
    """Segment by a geodesic active contour that grows or shrinks until it stops on edges.

    Runs :func:`skimage.segmentation.morphological_geodesic_active_contour` (the level set
    evolved by morphological operators) on the inverse Gaussian gradient
    (:func:`skimage.segmentation.inverse_gaussian_gradient`) of the grey image scaled to
    0…1 (colour: its luminance), 2D or 3D: near 0 on edges, near 1 on flat areas. The
    contour grows (``balloon`` > 0) or shrinks (< 0) where no edge holds it.

    Parameters
    ----------
    image : (M, N) or (P, M, N) array, or a colour array (..., 3 or 4) with ``rgb=True``
        Intensities. Any array-like (NumPy, CuPy, dask, zarr); the result is CuPy for CuPy
        input, else NumPy.
    iterations : int, default 200
        Steps of the contour's evolution (≥ 1).
    seeds : array, optional
        The starting region: a mask or label image of the image's shape, or points (N ×
        ndim voxel coordinates), each grown into a disc/ball of radius 3 voxels.
    init : {"disk", "checkerboard"}, default "disk"
        Starting contour without ``seeds``: a disk/ball in the middle (radius 3/8 of the
        smallest side) or scikit-image's checkerboard of 5-pixel squares.
    balloon : float, default 1.0
        Pressure: > 0 grows the contour, < 0 shrinks it (start outside the object), 0 lets
        only the edges and the smoothing move it.
    threshold : float or "auto", default "auto"
        The balloon acts only where the edge map exceeds ``threshold`` / |``balloon``|
        (≥ 0; the map is near 0 on edges). "auto": the edge map's 40th percentile, as
        scikit-image.
    smoothing : int, default 1
        Smoothing passes per step (≥ 0).
    sigma : float, default 2.0
        Gaussian smoothing of the gradient, in voxels (≥ 0).
    alpha : float, default 100.0
        Steepness (> 0) of the inverse gradient: larger makes weak edges stop the contour.
    rgb : bool, default False
        The last axis holds colour (RGB or RGBA); its luminance is segmented.
    device : {"auto", "cpu", "gpu"}, default "auto"
        Runs on the CPU ("auto" and "cpu"); "gpu" raises GPUUnavailableError.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    mask : uint8 array
        1 inside the final contour, 0 outside; of the image's shape (without the colour
        axis).

    Raises
    ------
    TypeError
        If ``image`` is not an array, or a numeric argument is not a number.
    ValueError
        If ``iterations`` < 1, ``smoothing`` < 0, ``threshold`` < 0, ``sigma`` < 0,
        ``alpha`` ≤ 0, ``balloon`` is not finite or ``init`` is unknown; if the image is
        not 2D or 3D; if ``seeds`` are empty, lie outside the image or are neither a label
        image of its shape nor N × ndim points.
    GPUUnavailableError
        If ``device="gpu"``.

    See Also
    --------
    chan_vese : Two regions of near-constant intensity, no edges needed.

    References
    ----------
    .. [1] V. Caselles, R. Kimmel and G. Sapiro, "Geodesic active contours", International
           Journal of Computer Vision 22(1):61-79, 1997. :doi:`10.1023/A:1007979827043`
    .. [2] P. Márquez-Neila, L. Baumela and L. Álvarez, "A morphological approach to
           curvature-based evolution of curves and surfaces", IEEE Transactions on Pattern
           Analysis and Machine Intelligence 36(1):2-17, 2014. :doi:`10.1109/TPAMI.2013.106`

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import geodesic_active_contour
    >>> yy, xx = np.mgrid[:48, :48]
    >>> disc = (yy - 24) ** 2 + (xx - 24) ** 2 < 12 ** 2  # 437 pixels
    >>> image = disc + np.random.default_rng(0).normal(0, 0.3, disc.shape)

    Grown from a point in the middle, the contour stops on the disc's edge:

    >>> mask = geodesic_active_contour(image, seeds=[[24, 24]])
    >>> mask.dtype.name, int(mask.sum()), int((mask != disc).sum())
    ('uint8', 422, 17)

    Shrunk from the default disk (radius 18), it stops there too:

    >>> int((geodesic_active_contour(image, balloon=-1) != disc).sum())
    17
    """
    check_number("iterations", iterations, minimum=1, integer=True)
    check_number("smoothing", smoothing, minimum=0, integer=True)
    check_number("balloon", balloon)
    if not (isinstance(threshold, str) and threshold == "auto"):
        check_number("threshold", threshold, minimum=0)
    check_number("sigma", sigma, minimum=0)
    check_number("alpha", alpha, above=0)
    grey = _grey(image, rgb)
    edges = segmentation.inverse_gaussian_gradient(grey, alpha=alpha, sigma=sigma)
    start = _start(grey.shape, init, seeds)
    return segmentation.morphological_geodesic_active_contour(
        edges,
        iterations,
        init_level_set=start,
        smoothing=smoothing,
        threshold=threshold,
        balloon=balloon,
        iter_callback=_counter(iterations),
    ).astype(np.uint8)


def _counter(iterations: int):
    """An ``iter_callback`` for scikit-image's active contours that reports progress."""
    done = [0]

    def callback(_level_set) -> None:
        done[0] += 1
        report(done[0] / max(iterations, 1))

    return callback
