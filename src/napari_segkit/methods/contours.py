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
from .watershed import seeds_to_markers


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
def chan_vese(image, *, iterations: int = 100, smoothing: int = 1, lambda1: float = 1.0,
              lambda2: float = 1.0, init: str = "checkerboard", seeds=None, dark: bool = False,
              rgb: bool = False):
    """Morphological Chan-Vese: the contour that best splits the image into two regions of
    near-constant intensity, no edges needed. ``lambda1`` > ``lambda2`` lets the inside vary
    more than the outside; ``seeds`` (mask, labels or points) give the starting region.
    Returns a uint8 mask: 1 = the region grown from the seeds, or without seeds the brighter
    region (the darker with ``dark``)."""
    check_number("iterations", iterations, minimum=1, integer=True)
    check_number("smoothing", smoothing, minimum=0, integer=True)
    check_number("lambda1", lambda1, minimum=0)
    check_number("lambda2", lambda2, minimum=0)
    grey = _grey(image, rgb)
    start = _start(grey.shape, init, seeds)
    mask = segmentation.morphological_chan_vese(
        grey, iterations, init_level_set=start, smoothing=smoothing, lambda1=lambda1,
        lambda2=lambda2, iter_callback=_counter(iterations)).astype(bool)
    if seeds is None and mask.any() and not mask.all():
        brighter = grey[mask].mean() > grey[~mask].mean()
        mask = mask if brighter != dark else ~mask
    return mask.astype(np.uint8)


@cpu_only
def geodesic_active_contour(image, *, iterations: int = 200, seeds=None, init: str = "disk",
                            balloon: float = 1.0, threshold: float | str = "auto",
                            smoothing: int = 1, sigma: float = 2.0, alpha: float = 100.0,
                            rgb: bool = False):
    """Morphological geodesic active contour: a contour that grows (``balloon`` > 0) or
    shrinks (< 0) until it stops on edges. Edges come from the inverse Gaussian gradient
    (``sigma`` in voxels, ``alpha`` their steepness); ``seeds`` give the starting region
    (default: a disk/ball in the middle). Returns a uint8 mask."""
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
        edges, iterations, init_level_set=start, smoothing=smoothing, threshold=threshold,
        balloon=balloon, iter_callback=_counter(iterations)).astype(np.uint8)


def _counter(iterations: int):
    """An ``iter_callback`` for scikit-image's active contours that reports progress."""
    done = [0]

    def callback(_level_set) -> None:
        done[0] += 1
        report(done[0] / max(iterations, 1))

    return callback
